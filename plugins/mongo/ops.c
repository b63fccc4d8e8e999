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

/* A document read and not emitted yet. */
typedef struct held {
  json_t *data; /* NULL: it cannot be rendered, and is skipped */
  bson_value_t since;
  int has_since;
} held;

static void held_free(held *h) {
  json_decref(h->data);
  h->data = NULL;
  if (h->has_since) {
    bson_value_destroy(&h->since);
    h->has_since = 0;
  }
}

static void advance(mg_run *run, held *h) {
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

/* Emits h (stealing meta) and, when `moves`, moves the since value to
 * it: only the last document of a group of equal values moves it, so that
 * a round stopped among the group (a cancel, a timeout) leaves the value
 * before the group, and the next round reads the group again, repeating
 * what was written of it rather than losing the rest. A document that
 * cannot be rendered is moved past all the same: with `since`, one
 * unreadable document (invalid UTF-8 written by some other client) must
 * not stall the source. Returns 0 or -ECANCELED. */
static int emit_held(mg_run *run, held *h, json_t *meta, int moves) {
  int rc = 0;
  if (h->data == NULL) {
    json_decref(meta);
  } else {
    rc = run->api->round_emit(run->round, h->data, meta);
    h->data = NULL;
    if (rc == 0) {
      run->emitted++;
    }
  }
  if (rc == 0 && moves) {
    advance(run, h);
  }
  held_free(h);
  return rc == 0 ? 0 : -ECANCELED;
}

/* A document as a record, and its since value; `render` 0 for the since
 * value only (the document past the bound, which is not emitted). */
static void hold(mg_run *run, held *h, const bson_t *doc, int render) {
  memset(h, 0, sizeof(*h));
  if (render) {
    h->data = mg_bson_to_json(doc, run->q->ejson);
    if (h->data == NULL) {
      run->api->log(run->src, SIPHON_LOG_WARN,
                    "a document cannot be rendered as Extended JSON (invalid UTF-8?): skipped");
    }
  }
  bson_iter_t it, child;
  if (run->q->since != NULL && bson_iter_init(&it, doc) &&
      bson_iter_find_descendant(&it, run->q->since, &child)) {
    bson_value_copy(bson_iter_value(&child), &h->since);
    h->has_since = 1;
  }
}

static int is_number(bson_type_t t) {
  return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE;
}

static double as_double(const bson_value_t *v) {
  switch (v->value_type) {
    case BSON_TYPE_INT32:
      return v->value.v_int32;
    case BSON_TYPE_INT64:
      return (double)v->value.v_int64;
    default:
      return v->value.v_double;
  }
}

/* Whether two since values are equal as the server compares them: then
 * `$gt` the one skips the other. Numbers of different types compare by
 * value (5 and 5.0 tie); other values tie when identical (strings by
 * their bytes: the default, binary, collation). */
static int since_equal(const held *a, const held *b) {
  if (!a->has_since || !b->has_since) {
    return 0;
  }
  const bson_value_t *x = &a->since, *y = &b->since;
  if (is_number(x->value_type) && is_number(y->value_type)) {
    if (x->value_type != BSON_TYPE_DOUBLE && y->value_type != BSON_TYPE_DOUBLE) {
      int64_t i = x->value_type == BSON_TYPE_INT32 ? x->value.v_int32 : x->value.v_int64;
      int64_t j = y->value_type == BSON_TYPE_INT32 ? y->value.v_int32 : y->value.v_int64;
      return i == j;
    }
    double d = as_double(x), e = as_double(y);
    return d == e || (d != d && e != e);
  }
  if (x->value_type != y->value_type) {
    return 0;
  }
  bson_t bx = BSON_INITIALIZER, by = BSON_INITIALIZER;
  int same = bson_append_value(&bx, "v", 1, x) && bson_append_value(&by, "v", 1, y) &&
             bson_equal(&bx, &by);
  bson_destroy(&bx);
  bson_destroy(&by);
  return same;
}

/* The documents of a round not emitted yet. With `since`, a document is
 * emitted only once a greater value follows it: the round may stop
 * (limit, max_documents, an error) inside a group of documents that
 * share one value, and the next round asks for values `$gt` the last
 * emitted, so emitting part of a group would lose the rest of it for
 * good. The group is left for the next round instead, which reads it
 * whole. The last document emitted is held back too, to carry the
 * truncation in its meta. */
typedef struct pending {
  held tail; /* the last document of a complete group */
  int has_tail;
  held *group; /* the documents of the latest value, in order */
  size_t n, cap;
} pending;

static void pending_drop_group(pending *p) {
  for (size_t i = 0; i < p->n; i++) {
    held_free(&p->group[i]);
  }
  p->n = 0;
}

/* The group is complete: all of it but its last document goes out, and
 * that one becomes the tail. Returns 0 or -ECANCELED. */
static int pending_complete(mg_run *run, pending *p) {
  int rc = 0;
  if (p->n == 0) {
    return 0;
  }
  if (p->has_tail) {
    rc = emit_held(run, &p->tail, NULL, 1);
    p->has_tail = 0;
  }
  for (size_t i = 0; i + 1 < p->n; i++) {
    if (rc == 0) {
      rc = emit_held(run, &p->group[i], NULL, 0);
    } else {
      held_free(&p->group[i]);
    }
  }
  if (rc == 0) {
    p->tail = p->group[p->n - 1];
    p->has_tail = 1;
  } else {
    held_free(&p->group[p->n - 1]);
  }
  p->n = 0;
  return rc;
}

static int pending_add(pending *p, held *h) {
  if (p->n == p->cap) {
    size_t cap = p->cap == 0 ? 16 : 2 * p->cap;
    held *g = realloc(p->group, cap * sizeof(*g));
    if (g == NULL) {
      return -ENOMEM;
    }
    p->group = g;
    p->cap = cap;
  }
  p->group[p->n++] = *h;
  return 0;
}

static void pending_free(pending *p) {
  pending_drop_group(p);
  if (p->has_tail) {
    held_free(&p->tail);
  }
  free(p->group);
}

static json_t *truncation_meta(const mg_run *run) {
  return json_pack("{sbsI}", "truncated", 1, "max_documents", (json_int_t)run->q->max_documents);
}

/* The most documents a round emits: the limit, when it is below
 * max_documents. */
static int64_t round_bound(const mg_query *q) {
  return q->limit > 0 && q->limit < q->max_documents ? q->limit : q->max_documents;
}

static int cancelled(mg_run *run, siphon_error *err) {
  snprintf(err->text, sizeof(err->text), "cancelled after %lld documents", (long long)run->emitted);
  return -ECANCELED;
}

static int drain(mg_run *run, mongoc_cursor_t *cur, siphon_error *err) {
  const siphon_host_api *api = run->api;
  const mg_query *q = run->q;
  int64_t bound = round_bound(q);
  pending p = {0};
  held next = {0}; /* the first document past the bound */
  int cut = 0;
  int rc = 0;
  int64_t taken = 0;
  const bson_t *doc;
  for (;;) {
    if (api->round_cancelled(run->round)) {
      rc = cancelled(run, err);
      break;
    }
    if (!mongoc_cursor_next(cur, &doc)) {
      break;
    }
    if (taken >= bound) {
      cut = 1;
      hold(run, &next, doc, 0);
      break;
    }
    held h;
    hold(run, &h, doc, 1);
    if (p.n > 0 && !since_equal(&p.group[p.n - 1], &h) && pending_complete(run, &p) != 0) {
      held_free(&h);
      rc = cancelled(run, err);
      break;
    }
    if (pending_add(&p, &h) != 0) {
      held_free(&h);
      snprintf(err->text, sizeof(err->text), "out of memory after %lld documents",
               (long long)run->emitted);
      rc = -ENOMEM;
      break;
    }
    taken++;
  }
  bson_error_t berr;
  if (rc == 0 && !cut && mongoc_cursor_error(cur, &berr)) {
    rc = fail(run, &berr, err);
  }
  /* max_documents, not the limit, cut the round short: said in the
   * meta of its last record and in the log. */
  run->truncated = cut && !(q->limit > 0 && q->limit <= q->max_documents);
  if (q->since != NULL && p.n > 0 && ((cut && since_equal(&p.group[p.n - 1], &next)) || rc != 0)) {
    /* The round stopped inside a group, or may have (an error, a
     * cancel): the next one starts at that group. */
    if (rc == 0 && !(p.has_tail && p.tail.has_since)) {
      /* Nothing before the group moves the since value: no round could
       * get past it. A failure that says so, rather than a loss. */
      const char *which = q->limit <= 0 || q->limit > q->max_documents ? "max_documents"
                          : q->limit < q->max_documents                ? "limit"
                                                                       : "limit and max_documents";
      snprintf(err->text, sizeof(err->text),
               "find on %.25s.%.25s: more than %lld documents share one value of the since field "
               "\"%.25s\": raise %s above that, or pick a field whose values are unique",
               q->database, q->collection, (long long)bound, q->since, which);
      rc = -EOVERFLOW;
      run->truncated = 0;
    }
    pending_drop_group(&p);
  } else if (pending_complete(run, &p) != 0 && rc == 0) {
    rc = cancelled(run, err);
  }
  if (p.has_tail) {
    p.has_tail = 0;
    if (emit_held(run, &p.tail, run->truncated ? truncation_meta(run) : NULL, 1) != 0 && rc == 0) {
      rc = cancelled(run, err);
    }
  }
  held_free(&next);
  pending_free(&p);
  return rc;
}

static int append_max_time(const mg_query *q, bson_t *opts) {
  return q->max_time_ms <= 0 || BSON_APPEND_INT64(opts, "maxTimeMS", q->max_time_ms);
}

/* find's filter: the source's own, and past the last value seen. A
 * document without the field (or with null there) cannot be placed after
 * any value: it would sort first and be read again by every round until
 * one has a value (then never again), so with `since` it is not read at
 * all. */
static bson_t *since_filter(const mg_run *run) {
  const mg_query *q = run->q;
  if (q->since == NULL) {
    return bson_copy(q->filter);
  }
  bson_t *f = bson_new();
  bson_t and, one, cond;
  BSON_APPEND_ARRAY_BEGIN(f, "$and", &and);
  BSON_APPEND_DOCUMENT(&and, "0", q->filter);
  BSON_APPEND_DOCUMENT_BEGIN(&and, "1", &one);
  BSON_APPEND_DOCUMENT_BEGIN(&one, q->since, &cond);
  if (run->has_last) {
    BSON_APPEND_VALUE(&cond, "$gt", &run->last);
  } else {
    /* Nor null: "$gt null" matches nothing, so a null kept as the
     * last value would end every later round empty. */
    BSON_APPEND_BOOL(&cond, "$exists", true);
    BSON_APPEND_NULL(&cond, "$ne");
  }
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
  /* One past max_documents is enough to know the round was cut short;
   * with since, one past the limit too, to know whether the limit falls
   * inside a group of equal values (see drain()). */
  int64_t limit = q->limit;
  if (q->since != NULL || limit == 0 || limit > q->max_documents) {
    int64_t bound = q->since != NULL ? round_bound(q) : q->max_documents;
    limit = bound < INT64_MAX ? bound + 1 : bound; /* max_documents may be INT64_MAX */
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
