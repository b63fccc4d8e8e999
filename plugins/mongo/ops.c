/* One round of a source: its operation on a client popped from the pool,
 * one record per document. Between documents (and so between batches)
 * the host's cancel flag is checked; every network wait is bounded by the
 * URI's socketTimeoutMS, and the server's work by maxTimeMS. */
#include <errno.h>
#include <string.h>

#include "mongo.h"

static const char *op_name(mg_op op) {
  switch (op) {
    case MG_OP_FIND:
      return "find";
    case MG_OP_AGGREGATE:
      return "aggregate";
    case MG_OP_COUNT:
      return "count";
    case MG_OP_COMMAND:
      return "command";
  }
  return "?";
}

/* The server's or driver's message, with the operation it came from. */
static int fail(const mg_run *run, const bson_error_t *berr, siphon_error *err) {
  const mg_query *q = run->q;
  if (q->op == MG_OP_COMMAND) {
    snprintf(err->text, sizeof(err->text), "command on %.40s failed: %.190s", q->database,
             berr->message);
  } else {
    snprintf(err->text, sizeof(err->text), "%s on %.30s.%.40s failed: %.150s", op_name(q->op),
             q->database, q->collection, berr->message);
  }
  if (berr->domain == MONGOC_ERROR_SERVER_SELECTION) {
    return -EHOSTUNREACH;
  }
  if (berr->domain == MONGOC_ERROR_STREAM && berr->code == MONGOC_ERROR_STREAM_SOCKET) {
    return -ETIMEDOUT;
  }
  return -EIO;
}

/* A document waiting to be emitted: the last one of a round is held back
 * until we know whether max_documents cut the round short, so that it can
 * carry the truncation in its meta. */
typedef struct held {
  json_t *data;
  bson_value_t since;
  int has_since;
} held;

static int emit_held(mg_run *run, held *h, json_t *meta) {
  int rc = run->api->round_emit(run->round, h->data, meta);
  h->data = NULL;
  if (rc == 0) {
    run->emitted++;
    if (h->has_since) {
      if (run->has_last) {
        bson_value_destroy(&run->last);
      }
      run->last = h->since;
      run->has_last = 1;
      run->advanced = 1;
      h->has_since = 0;
    }
  }
  if (h->has_since) {
    bson_value_destroy(&h->since);
    h->has_since = 0;
  }
  return rc;
}

static int hold(mg_run *run, held *h, const bson_t *doc) {
  json_t *data = mg_bson_to_json(doc, run->q->ejson);
  if (data == NULL) {
    /* Skipped, not fatal: with `since`, one unreadable document (invalid
     * UTF-8 written by some other client) must not stall the source. */
    run->api->log(run->src, SIPHON_LOG_WARN,
                  "a document cannot be rendered as Extended JSON (invalid UTF-8?): skipped");
  }
  h->data = data;
  bson_iter_t it, child;
  if (run->q->since != NULL && bson_iter_init(&it, doc) &&
      bson_iter_find_descendant(&it, run->q->since, &child)) {
    bson_value_copy(bson_iter_value(&child), &h->since);
    h->has_since = 1;
  }
  if (data == NULL && h->has_since) {
    /* Move past it all the same. */
    if (run->has_last) {
      bson_value_destroy(&run->last);
    }
    run->last = h->since;
    run->has_last = 1;
    run->advanced = 1;
    h->has_since = 0;
  }
  return 0;
}

static json_t *truncation_meta(const mg_run *run) {
  return json_pack("{sbsI}", "truncated", 1, "max_documents", (json_int_t)run->q->max_documents);
}

static int drain(mg_run *run, mongoc_cursor_t *cur, siphon_error *err) {
  const siphon_host_api *api = run->api;
  held h = {0};
  int rc = 0;
  int64_t taken = 0;
  const bson_t *doc;
  for (;;) {
    if (api->round_cancelled(run->round)) {
      snprintf(err->text, sizeof(err->text), "cancelled after %lld documents",
               (long long)run->emitted);
      rc = -ECANCELED;
      break;
    }
    if (!mongoc_cursor_next(cur, &doc)) {
      break;
    }
    if (taken >= run->q->max_documents) {
      run->truncated = 1;
      break;
    }
    if (h.data != NULL && emit_held(run, &h, NULL) != 0) {
      rc = -ECANCELED;
      snprintf(err->text, sizeof(err->text), "cancelled after %lld documents",
               (long long)run->emitted);
      break;
    }
    hold(run, &h, doc);
    taken++;
  }
  if (h.data != NULL) {
    emit_held(run, &h, run->truncated ? truncation_meta(run) : NULL);
  } else if (h.has_since) {
    bson_value_destroy(&h.since);
  }
  bson_error_t berr;
  if (rc == 0 && !run->truncated && mongoc_cursor_error(cur, &berr)) {
    rc = fail(run, &berr, err);
  }
  return rc;
}

static int append_max_time(const mg_query *q, bson_t *opts) {
  return q->max_time_ms <= 0 || BSON_APPEND_INT64(opts, "maxTimeMS", q->max_time_ms);
}

/* find's filter: the source's own, and past the last value seen. */
static bson_t *since_filter(const mg_run *run) {
  const mg_query *q = run->q;
  if (q->since == NULL || !run->has_last) {
    return bson_copy(q->filter);
  }
  bson_t *f = bson_new();
  bson_t and, one, cond;
  BSON_APPEND_ARRAY_BEGIN(f, "$and", &and);
  BSON_APPEND_DOCUMENT(&and, "0", q->filter);
  BSON_APPEND_DOCUMENT_BEGIN(&and, "1", &one);
  BSON_APPEND_DOCUMENT_BEGIN(&one, q->since, &cond);
  BSON_APPEND_VALUE(&cond, "$gt", &run->last);
  bson_append_document_end(&one, &cond);
  bson_append_document_end(&and, &one);
  bson_append_array_end(f, &and);
  return f;
}

static int run_find(mg_run *run, mongoc_collection_t *coll, siphon_error *err) {
  const mg_query *q = run->q;
  bson_t opts = BSON_INITIALIZER;
  int ok = append_max_time(q, &opts);
  if (q->projection != NULL) {
    ok = ok && BSON_APPEND_DOCUMENT(&opts, "projection", q->projection);
  }
  if (q->since != NULL) {
    bson_t s;
    ok = ok && BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &s);
    ok = ok && BSON_APPEND_INT32(&s, q->since, 1);
    ok = ok && bson_append_document_end(&opts, &s);
  } else if (q->sort != NULL) {
    ok = ok && BSON_APPEND_DOCUMENT(&opts, "sort", q->sort);
  }
  /* One past max_documents is enough to know the round was cut short. */
  int64_t limit = q->limit;
  if (limit == 0 || limit > q->max_documents) {
    limit = q->max_documents + 1;
  }
  ok = ok && BSON_APPEND_INT64(&opts, "limit", limit);
  if (q->batch_size > 0) {
    ok = ok && BSON_APPEND_INT32(&opts, "batchSize", q->batch_size);
  }
  bson_t *filter = since_filter(run);
  if (!ok || filter == NULL) {
    bson_destroy(&opts);
    bson_destroy(filter);
    snprintf(err->text, sizeof(err->text), "find: cannot build the query");
    return -ENOMEM;
  }
  mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, &opts, NULL);
  int rc = drain(run, cur, err);
  mongoc_cursor_destroy(cur);
  bson_destroy(filter);
  bson_destroy(&opts);
  return rc;
}

static int run_aggregate(mg_run *run, mongoc_collection_t *coll, siphon_error *err) {
  const mg_query *q = run->q;
  bson_t opts = BSON_INITIALIZER;
  int ok = append_max_time(q, &opts);
  if (q->batch_size > 0) {
    ok = ok && BSON_APPEND_INT32(&opts, "batchSize", q->batch_size);
  }
  if (!ok) {
    bson_destroy(&opts);
    return -ENOMEM;
  }
  mongoc_cursor_t *cur =
      mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, q->pipeline, &opts, NULL);
  int rc = drain(run, cur, err);
  mongoc_cursor_destroy(cur);
  bson_destroy(&opts);
  return rc;
}

static int run_count(mg_run *run, mongoc_collection_t *coll, siphon_error *err) {
  const mg_query *q = run->q;
  bson_t opts = BSON_INITIALIZER;
  int ok = append_max_time(q, &opts);
  if (q->limit > 0) {
    ok = ok && BSON_APPEND_INT64(&opts, "limit", q->limit);
  }
  if (!ok) {
    bson_destroy(&opts);
    return -ENOMEM;
  }
  bson_error_t berr;
  int64_t n = mongoc_collection_count_documents(coll, q->filter, &opts, NULL, NULL, &berr);
  bson_destroy(&opts);
  if (n < 0) {
    return fail(run, &berr, err);
  }
  if (run->api->round_emit(run->round, json_pack("{sI}", "count", (json_int_t)n), NULL) != 0) {
    snprintf(err->text, sizeof(err->text), "cancelled");
    return -ECANCELED;
  }
  run->emitted++;
  return 0;
}

static int run_command(mg_run *run, mongoc_client_t *client, siphon_error *err) {
  const mg_query *q = run->q;
  bson_t reply;
  bson_error_t berr;
  bool ok =
      mongoc_client_command_with_opts(client, q->database, q->command, NULL, NULL, &reply, &berr);
  if (!ok) {
    bson_destroy(&reply);
    return fail(run, &berr, err);
  }
  json_t *data = mg_bson_to_json(&reply, q->ejson);
  bson_destroy(&reply);
  if (data == NULL) {
    snprintf(err->text, sizeof(err->text),
             "command on %s: the reply cannot be rendered as Extended JSON", q->database);
    return -EINVAL;
  }
  if (run->api->round_emit(run->round, data, NULL) != 0) {
    snprintf(err->text, sizeof(err->text), "cancelled");
    return -ECANCELED;
  }
  run->emitted++;
  return 0;
}

int mg_ops_run(mg_run *run, mongoc_client_t *client, siphon_error *err) {
  const mg_query *q = run->q;
  if (q->op == MG_OP_COMMAND) {
    return run_command(run, client, err);
  }
  mongoc_collection_t *coll = mongoc_client_get_collection(client, q->database, q->collection);
  int rc;
  switch (q->op) {
    case MG_OP_FIND:
      rc = run_find(run, coll, err);
      break;
    case MG_OP_AGGREGATE:
      rc = run_aggregate(run, coll, err);
      break;
    default:
      rc = run_count(run, coll, err);
      break;
  }
  mongoc_collection_destroy(coll);
  return rc;
}
