/* Incremental reads: `since` returns only documents past the last value
 * seen, across rounds of one process and across restarts, with the value
 * kept in a state file under siphon.state_dir. No repeat, no gap. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mongot.h"
#include "tmpfile.h"

typedef struct inc {
  char *db;
  char *state_dir;
  char *cfg;
} inc;

static void inc_setup(inc *t, const char *interval, const char *extra_options) {
  t->db = mt_db();
  t->state_dir = tmp_dir();
  char *opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\", \"since\": \"i\"%s", t->db,
                      extra_options);
  char *ivl = mt_fmt("\"interval\": \"%s\"", interval);
  char *src = mt_source("inc", ivl, opts);
  char *sx = mt_fmt("\"state_dir\": \"%s\"", t->state_dir);
  t->cfg = mt_config(sx, src);
  free(sx);
  free(src);
  free(ivl);
  free(opts);
}

static void inc_teardown(inc *t) {
  tmp_rmtree(t->state_dir);
  free(t->state_dir);
  free(t->cfg);
  free(t->db);
}

/* The "i" of each record, as a JSON array text. */
static char *is_of(const char *out) {
  json_t *recs = mt_records(out);
  json_t *data = mt_data(recs, "inc");
  json_t *is = json_array();
  size_t k;
  json_t *d;
  json_array_foreach(data, k, d) {
    json_array_append(is, json_object_get(d, "i"));
  }
  char *s = mt_dump(is);
  json_decref(is);
  json_decref(data);
  json_decref(recs);
  return s;
}

static void once_expect(inc *t, const char *want_is) {
  tproc p;
  int st = mt_once(&p, t->cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  char *got = is_of(p.out);
  cr_assert_str_eq(got, want_is, "got %s, want %s", got, want_is);
  free(got);
  tproc_free(&p);
}

static char *state_text(inc *t) {
  char *path = mt_fmt("%s/inc.mongo-since.json", t->state_dir);
  char *text = tmp_read(path, NULL);
  free(path);
  return text;
}

Test(since, three_rounds_then_a_restart) {
  inc t;
  /* The interval is also the round's timeout: 1 s leaves a loaded
   * machine room to connect in the --once runs at the end. */
  inc_setup(&t, "1s", "");
  mt_insert_range(t.db, "c", 0, 5);
  const char *argv[] = {SIPHON_BIN, "-c", t.cfg, NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  cr_assert_eq(mt_wait_lines(&p, 5, 15000), 5, "%s%s", p.out, p.err);
  mt_insert_range(t.db, "c", 5, 3);
  cr_assert_eq(mt_wait_lines(&p, 8, 15000), 8, "%s%s", p.out, p.err);
  mt_insert_range(t.db, "c", 8, 2);
  cr_assert_eq(mt_wait_lines(&p, 10, 15000), 10, "%s%s", p.out, p.err);
  /* Several more rounds with nothing new: nothing repeated. */
  cr_expect_eq(mt_wait_lines(&p, 11, 2500), 10, "%s", p.out);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 15000), 0, "%s", p.err);
  char *got = is_of(p.out);
  cr_expect_str_eq(got, "[0,1,2,3,4,5,6,7,8,9]");
  free(got);
  tproc_free(&p);

  /* The value survived the restart, with its BSON type. */
  char *state = state_text(&t);
  cr_assert_not_null(state, "no state file in %s", t.state_dir);
  json_t *sj = json_loads(state, 0, NULL);
  char *sd = mt_dump(sj);
  cr_expect_str_eq(sd, "{\"field\":\"i\",\"value\":{\"$numberInt\":\"9\"}}");
  free(sd);
  json_decref(sj);
  free(state);
  mt_insert_range(t.db, "c", 10, 2);
  once_expect(&t, "[10,11]");
  once_expect(&t, "[]");
  inc_teardown(&t);
}

/* The default ObjectId _id is a good since field: it grows with time. */
Test(since, object_id_across_restarts) {
  char *db = mt_db();
  char *dir = tmp_dir();
  char *opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\", \"since\": \"_id\"", db);
  char *src = mt_source("inc", "\"interval\": \"1s\"", opts);
  char *sx = mt_fmt("\"state_dir\": \"%s\"", dir);
  char *cfg = mt_config(sx, src);
  int batches[] = {4, 3, 0, 2};
  json_t *seen = json_object();
  for (int b = 0, next = 0; b < 4; b++) {
    mt_insert_range(db, "c", next, batches[b]);
    next += batches[b];
    tproc p;
    int st = mt_once(&p, cfg, 30000);
    cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
    json_t *recs = mt_records(p.out);
    json_t *data = mt_data(recs, "inc");
    cr_assert_eq(json_array_size(data), (size_t)batches[b], "round %d: %s", b, p.out);
    size_t k;
    json_t *d;
    json_array_foreach(data, k, d) {
      /* Exactly the documents inserted since the last run, in order. */
      cr_expect_eq(json_integer_value(json_object_get(d, "i")),
                   (json_int_t)(next - batches[b]) + (json_int_t)k);
      const char *oid = json_string_value(json_object_get(json_object_get(d, "_id"), "$oid"));
      cr_assert_not_null(oid);
      cr_expect_null(json_object_get(seen, oid), "%s read twice", oid);
      json_object_set_new(seen, oid, json_true());
    }
    json_decref(data);
    json_decref(recs);
    tproc_free(&p);
  }
  cr_expect_eq(json_object_size(seen), 9);
  json_decref(seen);
  tmp_rmtree(dir);
  free(cfg);
  free(sx);
  free(src);
  free(opts);
  free(dir);
  free(db);
}

/* A backlog larger than max_documents is read over several rounds. */
Test(since, catches_up_under_max_documents) {
  inc t;
  inc_setup(&t, "1s", ", \"max_documents\": 10");
  mt_insert_range(t.db, "c", 0, 25);
  once_expect(&t, "[0,1,2,3,4,5,6,7,8,9]");
  once_expect(&t, "[10,11,12,13,14,15,16,17,18,19]");
  once_expect(&t, "[20,21,22,23,24]");
  once_expect(&t, "[]");
  inc_teardown(&t);
}

/* --- a bound inside a group of equal values --- */

typedef struct ties {
  char *db;
  char *dir;
  char *cfg;
} ties;

/* A since source on "at" over ev, with extra options (the bound). */
static void ties_setup(ties *t, const char *bound) {
  t->db = mt_db();
  t->dir = tmp_dir();
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"ev\", \"since\": \"at\","
      " \"projection\": {\"_id\": 0}, %s",
      t->db, bound);
  char *src = mt_source("inc", "\"interval\": \"1s\"", opts);
  char *sx = mt_fmt("\"state_dir\": \"%s\"", t->dir);
  t->cfg = mt_config(sx, src);
  free(sx);
  free(src);
  free(opts);
}

static void ties_teardown(ties *t) {
  tmp_rmtree(t->dir);
  free(t->dir);
  free(t->cfg);
  free(t->db);
}

/* One --once round: the "n" of its records in ascending order (the
 * server orders documents of equal "at" as it likes), and the meta of
 * the last record, as JSON texts. */
static void ties_round(ties *t, char **ns, char **last_meta) {
  tproc p;
  int st = mt_once(&p, t->cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  json_t *data = mt_data(recs, "inc");
  int got[64];
  size_t n = json_array_size(data);
  cr_assert_leq(n, 64u);
  for (size_t k = 0; k < n; k++) {
    got[k] = (int)json_integer_value(json_object_get(json_array_get(data, k), "n"));
  }
  for (size_t k = 1; k < n; k++) {
    for (size_t j = k; j > 0 && got[j - 1] > got[j]; j--) {
      int x = got[j];
      got[j] = got[j - 1];
      got[j - 1] = x;
    }
  }
  json_t *arr = json_array();
  for (size_t k = 0; k < n; k++) {
    json_array_append_new(arr, json_integer(got[k]));
  }
  *ns = mt_dump(arr);
  json_t *meta =
      n > 0 ? json_object_get(json_array_get(recs, json_array_size(recs) - 1), "meta") : NULL;
  *last_meta = meta != NULL ? mt_dump(meta) : mt_fmt("null");
  json_decref(arr);
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);
}

static void ties_expect(ties *t, const char *want_ns, const char *want_meta) {
  char *ns, *meta;
  ties_round(t, &ns, &meta);
  cr_expect_str_eq(ns, want_ns, "got %s, want %s", ns, want_ns);
  cr_expect_str_eq(meta, want_meta, "meta %s, want %s", meta, want_meta);
  free(ns);
  free(meta);
}

/* Three documents share the date at which a round's bound falls: the
 * round stops before them, and the next reads them all (it asks $gt the
 * last value emitted, so a round that ended between them lost the rest
 * for good). Both bounds: limit, and max_documents. */
static void seed_ties(const char *db) {
  mt_insert(db, "ev",
            "[{\"n\": 0, \"at\": {\"$date\": \"2024-01-01T00:00:00Z\"}},"
            " {\"n\": 1, \"at\": {\"$date\": \"2024-01-02T00:00:00Z\"}},"
            " {\"n\": 2, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 3, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 4, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 5, \"at\": {\"$date\": \"2024-01-04T00:00:00Z\"}}]");
}

Test(since, a_limit_inside_equal_values_loses_nothing) {
  ties t;
  ties_setup(&t, "\"limit\": 3");
  seed_ties(t.db);
  ties_expect(&t, "[0,1]", "null");
  ties_expect(&t, "[2,3,4]", "null");
  ties_expect(&t, "[5]", "null");
  ties_expect(&t, "[]", "null");
  ties_teardown(&t);
}

Test(since, max_documents_inside_equal_values_loses_nothing) {
  ties t;
  ties_setup(&t, "\"max_documents\": 3");
  seed_ties(t.db);
  /* Cut short by max_documents: its last record says so. */
  ties_expect(&t, "[0,1]", "{\"truncated\":true,\"max_documents\":3}");
  ties_expect(&t, "[2,3,4]", "{\"truncated\":true,\"max_documents\":3}");
  ties_expect(&t, "[5]", "null");
  ties_expect(&t, "[]", "null");
  ties_teardown(&t);
}

/* The largest max_documents: one past it to ask for must not overflow
 * (UBSan's signed-overflow check, in the sanitizer build). */
Test(since, the_largest_max_documents_reads_everything) {
  ties t;
  ties_setup(&t, "\"max_documents\": 9223372036854775807");
  seed_ties(t.db);
  ties_expect(&t, "[0,1,2,3,4,5]", "null");
  ties_expect(&t, "[]", "null");
  ties_teardown(&t);
}

/* Documents without the since field, or with null there, cannot be
 * placed after a value: they are not read. Before, they sorted first,
 * came again every round, and made a limit of 3 fail as if 3 documents
 * shared one value; a null kept as the last value ended every later
 * round empty ("$gt null" matches nothing). */
Test(since, documents_without_the_field_are_not_read) {
  ties t;
  ties_setup(&t, "\"limit\": 3");
  mt_insert(t.db, "ev",
            "[{\"n\": 0}, {\"n\": 1}, {\"n\": 9, \"at\": null},"
            " {\"n\": 2, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 3, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 4, \"at\": {\"$date\": \"2024-01-04T00:00:00Z\"}}]");
  ties_expect(&t, "[2,3,4]", "null");
  ties_expect(&t, "[]", "null");
  ties_teardown(&t);
}

/* More documents of one value than the bound: no round could read past
 * them without losing some. The round fails saying so, reads nothing and
 * keeps the state; with a larger limit, the next reads them all. */
Test(since, more_equal_values_than_the_limit_fail_the_round) {
  ties t;
  ties_setup(&t, "\"limit\": 3");
  mt_insert(t.db, "ev",
            "[{\"n\": 0, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 1, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 2, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}},"
            " {\"n\": 3, \"at\": {\"$date\": \"2024-01-03T00:00:00Z\"}}]");
  tproc p;
  int st = mt_once(&p, t.cfg, 30000);
  cr_expect_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err,
                   "more than 3 documents share one value of the since field \"at\": "
                   "raise limit above that") != NULL,
            "%s", p.err);
  cr_expect_str_eq(p.out, "", "%s", p.out);
  tproc_free(&p);
  char *path = mt_fmt("%s/inc.mongo-since.json", t.dir);
  cr_expect_neq(access(path, F_OK), 0, "a state file was written");
  free(path);
  free(t.cfg);
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"ev\", \"since\": \"at\","
      " \"projection\": {\"_id\": 0}, \"limit\": 4",
      t.db);
  char *src = mt_source("inc", "\"interval\": \"1s\"", opts);
  char *sx = mt_fmt("\"state_dir\": \"%s\"", t.dir);
  t.cfg = mt_config(sx, src);
  ties_expect(&t, "[0,1,2,3]", "null");
  ties_expect(&t, "[]", "null");
  free(sx);
  free(src);
  free(opts);
  ties_teardown(&t);
}

/* With an inclusion projection the since field is added to it; records
 * carry it, and reads still resume where they stopped. */
Test(since, date_field_with_projection) {
  char *db = mt_db();
  char *dir = tmp_dir();
  mt_insert(db, "ev",
            "[{\"name\": \"a\", \"at\": {\"$date\": \"2024-01-01T00:00:00Z\"}},"
            " {\"name\": \"c\", \"at\": {\"$date\": \"2024-03-01T00:00:00Z\"}},"
            " {\"name\": \"b\", \"at\": {\"$date\": \"2024-02-01T00:00:00Z\"}}]");
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"ev\", \"since\": \"at\","
      " \"projection\": {\"_id\": 0, \"name\": 1}",
      db);
  char *src = mt_source("inc", "\"interval\": \"1s\"", opts);
  char *sx = mt_fmt("\"state_dir\": \"%s\"", dir);
  char *cfg = mt_config(sx, src);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  json_t *data = mt_data(recs, "inc");
  char *got = mt_dump(data);
  /* Sorted by the since field, not by insertion. */
  cr_expect_str_eq(got,
                   "[{\"name\":\"a\",\"at\":{\"$date\":\"2024-01-01T00:00:00Z\"}},"
                   "{\"name\":\"b\",\"at\":{\"$date\":\"2024-02-01T00:00:00Z\"}},"
                   "{\"name\":\"c\",\"at\":{\"$date\":\"2024-03-01T00:00:00Z\"}}]");
  free(got);
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);
  mt_insert(db, "ev",
            "[{\"name\": \"old\", \"at\": {\"$date\": \"2023-01-01T00:00:00Z\"}},"
            " {\"name\": \"d\", \"at\": {\"$date\": \"2024-04-01T00:00:00Z\"}}]");
  st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  recs = mt_records(p.out);
  data = mt_data(recs, "inc");
  got = mt_dump(data);
  /* Only what lies past the last value: a late, older document is not. */
  cr_expect_str_eq(got, "[{\"name\":\"d\",\"at\":{\"$date\":\"2024-04-01T00:00:00Z\"}}]");
  free(got);
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(cfg);
  free(sx);
  free(src);
  free(opts);
  free(dir);
  free(db);
}

static void check_fails(const char *cfg, const char *path, const char *text) {
  const char *argv[] = {SIPHON_BIN, "--check", "-c", cfg, NULL};
  tproc p;
  int st = tproc_run(&p, argv, NULL, 20000);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, path) != NULL, "no %s in: %s", path, p.err);
  cr_expect(strstr(p.err, text) != NULL, "no \"%s\" in: %s", text, p.err);
  tproc_free(&p);
}

Test(since, bad_state_file_is_reported) {
  inc t;
  inc_setup(&t, "1s", "");
  char *path = mt_fmt("%s/inc.mongo-since.json", t.state_dir);
  cr_assert_eq(tmp_write_at(path, "{not json"), 0);
  check_fails(t.cfg, "sources[0].options.since", "corrupt");
  cr_assert_eq(tmp_write_at(path, "{\"field\": \"other\", \"value\": 3}"), 0);
  check_fails(t.cfg, "sources[0].options.since", "tracks field \"other\"");
  free(path);
  inc_teardown(&t);
}

Test(since, options_that_conflict) {
  const char *base =
      "\"uri\": \"mongodb://127.0.0.1:1\", \"database\": \"d\", "
      "\"collection\": \"c\", \"since\": \"i\"";
  const char *cases[][3] = {
      {", \"sort\": {\"i\": -1}", "sources[0].options.sort", "since"},
      {", \"operation\": \"aggregate\", \"pipeline\": []", "sources[0].options.since",
       "only used by operation find"},
      {", \"projection\": {\"i\": 0}", "sources[0].options.projection", "excludes \"i\""},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    char *src = mt_fmt(
        "{\"name\": \"m\", \"plugin\": \"mongo\", \"interval\": \"1s\", "
        "\"options\": {%s%s}}",
        base, cases[k][0]);
    char *cfg = mt_config("", src);
    check_fails(cfg, cases[k][1], cases[k][2]);
    free(cfg);
    free(src);
  }
}

/* Excluding the document that holds a dotted since field drops the field
 * too: every document would come back without it, the value would never
 * move, and every round would read the same documents again. */
Test(since, a_projection_that_drops_the_fields_document_is_refused) {
  const char *cases[][3] = {
      {"m.t", "{\"m\": 0}", "excludes \"m\", which holds \"m.t\", the since field"},
      {"m.t.u", "{\"name\": 1, \"m.t\": false}", "excludes \"m.t\", which holds \"m.t.u\""},
      {"m.t", "{\"m.t\": 0}", "excludes \"m.t\", the since field"},
      /* MongoDB's nested spelling of the same (4.4 on): {"m": {"t": 0}}
       * is {"m.t": 0}, and {"m": {"t": {"u": 0}}} is {"m.t.u": 0}. */
      {"m.t", "{\"m\": {\"t\": 0}}", "excludes \"m.t\", the since field"},
      {"m.t.u", "{\"m\": {\"t\": false}}", "excludes \"m.t\", which holds \"m.t.u\""},
      {"m.t.u", "{\"m\": {\"t\": {\"u\": 0}}}", "excludes \"m.t.u\", the since field"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    char *src = mt_fmt(
        "{\"name\": \"m\", \"plugin\": \"mongo\", \"interval\": \"1s\", "
        "\"options\": {\"uri\": \"mongodb://127.0.0.1:1\", \"database\": \"d\", "
        "\"collection\": \"c\", \"since\": \"%s\", \"projection\": %s}}",
        cases[k][0], cases[k][1]);
    char *cfg = mt_config("", src);
    check_fails(cfg, "sources[0].options.projection", cases[k][2]);
    free(cfg);
    free(src);
  }
}

/* An exclusion of a sibling ("m.x": 0) or of a name that only starts
 * like the field's document ("me": 0) is no exclusion of it; an
 * inclusion of its document ("m": 1) includes it already. Every round
 * moves on. */
Test(since, a_dotted_since_field_beside_projections) {
  const char *projections[] = {"{\"_id\": 0, \"m.x\": 0, \"me\": 0}", "{\"_id\": 0, \"m\": 1}"};
  for (size_t k = 0; k < sizeof(projections) / sizeof(projections[0]); k++) {
    char *db = mt_db();
    char *dir = tmp_dir();
    mt_insert(
        db, "c",
        "[{\"me\": 1, \"m\": {\"t\": 2, \"x\": 1}}, {\"me\": 1, \"m\": {\"t\": 1, \"x\": 1}}]");
    char *opts = mt_fmt(
        "\"database\": \"%s\", \"collection\": \"c\", \"since\": \"m.t\", \"projection\": %s", db,
        projections[k]);
    char *src = mt_source("inc", "\"interval\": \"1s\"", opts);
    char *sx = mt_fmt("\"state_dir\": \"%s\"", dir);
    char *cfg = mt_config(sx, src);
    const char *want[] = {k == 0 ? "[{\"m\":{\"t\":1}},{\"m\":{\"t\":2}}]"
                                 : "[{\"m\":{\"t\":1,\"x\":1}},{\"m\":{\"t\":2,\"x\":1}}]",
                          "[]"};
    for (int round = 0; round < 2; round++) {
      tproc p;
      int st = mt_once(&p, cfg, 30000);
      cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
      json_t *recs = mt_records(p.out);
      json_t *data = mt_data(recs, "inc");
      char *got = mt_dump(data);
      cr_expect_str_eq(got, want[round], "projection %s, run %d", projections[k], round + 1);
      free(got);
      json_decref(data);
      json_decref(recs);
      tproc_free(&p);
    }
    tmp_rmtree(dir);
    free(cfg);
    free(sx);
    free(src);
    free(opts);
    free(dir);
    free(db);
  }
}

/* A state file that cannot be written fails the round, so the problem
 * is seen rather than documents read again after every restart. */
Test(since, unwritable_state_fails_the_round) {
  inc t;
  inc_setup(&t, "1s", "");
  mt_insert_range(t.db, "c", 0, 3);
  /* A directory where the temporary file goes: open() fails. */
  char *path = mt_fmt("%s/inc.mongo-since.json", t.state_dir);
  char *tmp = mt_fmt("%s.tmp", path);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  tproc p;
  int st = mt_once(&p, t.cfg, 30000);
  cr_expect_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, "cannot write state file") != NULL, "%s", p.err);
  cr_expect_neq(access(path, F_OK), 0, "a state file appeared");
  free(tmp);
  tproc_free(&p);
  free(path);
  inc_teardown(&t);
}

/* Names "x:y" and "x_y" are both allowed; their state files must differ,
 * or each source would read the other's last value and skip documents. */
Test(since, names_that_differ_by_a_colon_keep_files_apart) {
  char *db = mt_db();
  char *dir = tmp_dir();
  mt_insert_range(db, "a", 0, 50);
  mt_insert_range(db, "b", 0, 5);
  char *oa = mt_fmt("\"database\": \"%s\", \"collection\": \"a\", \"since\": \"i\"", db);
  char *ob = mt_fmt("\"database\": \"%s\", \"collection\": \"b\", \"since\": \"i\"", db);
  char *sa = mt_source("x:y", "\"interval\": \"1s\"", oa);
  char *sb = mt_source("x_y", "\"interval\": \"1s\"", ob);
  char *both = mt_fmt("%s, %s", sa, sb);
  char *sx = mt_fmt("\"state_dir\": \"%s\"", dir);
  char *cfg = mt_config(sx, both);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  tproc_free(&p);

  char *pa = mt_fmt("%s/x%%3Ay.mongo-since.json", dir);
  char *pb = mt_fmt("%s/x_y.mongo-since.json", dir);
  char *ta = tmp_read(pa, NULL);
  char *tb = tmp_read(pb, NULL);
  cr_assert_not_null(ta, "no %s", pa);
  cr_assert_not_null(tb, "no %s", pb);
  cr_expect_not_null(strstr(ta, "\"49\""), "%s", ta);
  cr_expect_not_null(strstr(tb, "\"4\""), "%s", tb);

  /* New documents in b are read by x_y, from its own last value. */
  mt_insert_range(db, "b", 5, 3);
  st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  json_t *data = mt_data(recs, "x_y");
  cr_expect_eq(json_array_size(data), 3, "%s", p.out);
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);

  free(ta);
  free(tb);
  free(pa);
  free(pb);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
  free(sx);
  free(both);
  free(sa);
  free(sb);
  free(oa);
  free(ob);
  free(db);
}

/* --check reads a since source's state but writes nothing: a state_dir
 * that does not exist yet is not created by it (run as root against
 * /etc/siphon, it would leave /etc/siphon/siphon-state). A run does. */
Test(since, check_creates_no_state_dir) {
  char *db = mt_db();
  char *top = tmp_dir();
  char *dir = mt_fmt("%s/state", top);
  mt_insert_range(db, "c", 0, 2);
  char *opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\", \"since\": \"i\"", db);
  char *src = mt_source("inc", "\"interval\": \"1s\"", opts);
  char *sx = mt_fmt("\"state_dir\": \"%s\"", dir);
  char *cfg = mt_config(sx, src);
  const char *argv[] = {SIPHON_BIN, "--check", "-c", cfg, NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  int st = tproc_finish(&p, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  tproc_free(&p);
  struct stat sb;
  cr_expect_neq(stat(dir, &sb), 0, "--check created %s", dir);
  st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  tproc_free(&p);
  cr_expect_eq(stat(dir, &sb), 0, "the run did not create %s", dir);
  tmp_rmtree(top);
  free(top);
  free(dir);
  free(cfg);
  free(sx);
  free(src);
  free(opts);
  free(db);
}
