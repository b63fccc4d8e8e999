/* The since logic of a find round (plugins/mongo/ops.c) against the test
 * server, under a host of the test's own that cancels the round after N
 * records, as a timeout or a stop past shutdown_grace does: a cancel
 * inside a group of equal values must not lose the rest of the group.
 * What was written of it may come again; nothing may be missing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "mongo.h"
#include "mongot.h"

#define DOCS 6
static const int at[DOCS] = {1, 2, 2, 2, 3, 4};

static int emits, cancel_after = -1, seen[DOCS];

static int fake_emit(siphon_round *r, json_t *data, json_t *meta) {
  (void)r;
  if (cancel_after >= 0 && emits >= cancel_after) {
    json_decref(data);
    json_decref(meta);
    return -ECANCELED;
  }
  emits++;
  json_int_t n = json_integer_value(json_object_get(data, "n"));
  cr_assert(n >= 0 && n < DOCS);
  seen[n]++;
  json_decref(data);
  json_decref(meta);
  return 0;
}

static int fake_cancelled(const siphon_round *r) {
  (void)r;
  return cancel_after >= 0 && emits >= cancel_after;
}

static void fake_log(siphon_source *src, siphon_log_level level, const char *fmt, ...) {
  (void)src;
  (void)level;
  (void)fmt;
}

/* Rounds with a cancel after `after` records, then rounds without, until
 * one reads nothing: every document at least once. */
static void cancel_inside_a_group(int after) {
  char *db = mt_db();
  mongoc_client_t *c = mt_client(); /* shared: mongot.c destroys it */
  mongoc_collection_t *coll = mongoc_client_get_collection(c, db, "ev");
  for (int i = 0; i < DOCS; i++) {
    bson_t *d = BCON_NEW("n", BCON_INT32(i), "at", BCON_INT32(at[i]));
    cr_assert(mongoc_collection_insert_one(coll, d, NULL, NULL, NULL));
    bson_destroy(d);
  }
  siphon_host_api api;
  memset(&api, 0, sizeof(api));
  api.round_emit = fake_emit;
  api.round_cancelled = fake_cancelled;
  api.log = fake_log;
  mg_query q;
  memset(&q, 0, sizeof(q));
  q.op = MG_OP_FIND;
  q.database = db;
  q.collection = "ev";
  q.filter = bson_new();
  q.projection = BCON_NEW("_id", BCON_INT32(0));
  q.max_documents = 100;
  q.since = "at";
  q.ejson = MG_EJSON_RELAXED;
  mg_run run;
  memset(&run, 0, sizeof(run));
  run.api = &api;
  run.q = &q;
  memset(seen, 0, sizeof(seen));
  cancel_after = after;
  for (int round = 0; round < 5; round++) {
    emits = 0;
    siphon_error err;
    memset(&err, 0, sizeof(err));
    (void)mg_ops_run(&run, c, &err);
    cancel_after = -1;
    run.advanced = 0;
  }
  for (int i = 0; i < DOCS; i++) {
    cr_expect_geq(seen[i], 1, "n=%d (at %d) lost after a cancel at record %d", i, at[i], after);
  }
  if (run.has_last) {
    bson_value_destroy(&run.last);
  }
  bson_destroy(q.filter);
  bson_destroy(q.projection);
  mongoc_collection_destroy(coll);
  free(db);
}

Test(since_cancel, inside_a_group_after_its_first_record) {
  cancel_inside_a_group(2);
}

Test(since_cancel, inside_a_group_after_its_second_record) {
  cancel_inside_a_group(3);
}

Test(since_cancel, at_the_groups_last_record) {
  cancel_inside_a_group(4);
}
