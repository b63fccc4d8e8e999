/* Each operation and option of the mongo plugin, through the real siphon
 * binary against a real wire-protocol server; and what a user sees when
 * a query or the config is wrong. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mongot.h"
#include "tmpfile.h"

static void expect_json(const json_t *got, const char *want) {
  char *g = mt_dump(got);
  cr_expect_str_eq(g, want, "got %s, want %s", g, want);
  free(g);
}

Test(ops, find_filter_projection_sort_limit) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 20);
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"c\", \"filter\": {\"i\": {\"$gte\": "
      "5}, \"tag\": {\"$in\": [7, 8, 9]}}, \"projection\": {\"_id\": 0, \"i\": 1},"
      " \"sort\": {\"i\": -1}, \"limit\": 4",
      db);
  tproc p;
  int st;
  json_t *data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  /* i >= 5 with tag 7..9 is 7, 8, 9, 17, 18, 19: descending, first four. */
  expect_json(data, "[{\"i\":19},{\"i\":18},{\"i\":17},{\"i\":9}]");
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

/* A sort on several keys keeps the order the config gives them. */
Test(ops, find_compound_sort_keeps_key_order) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 30);
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"c\", \"filter\": {\"tag\": "
      "{\"$in\": [1, 2]}}, \"sort\": {\"tag\": -1, \"i\": 1},"
      " \"projection\": {\"_id\": 0}",
      db);
  tproc p;
  int st;
  json_t *data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  expect_json(data,
              "[{\"i\":2,\"tag\":2},{\"i\":12,\"tag\":2},{\"i\":22,\"tag\":2},"
              "{\"i\":1,\"tag\":1},{\"i\":11,\"tag\":1},{\"i\":21,\"tag\":1}]");
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

/* batch_size makes the driver fetch the result in many getMores; every
 * document still arrives once, in order. */
Test(ops, find_batch_size_reads_every_batch) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 57);
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"c\", \"sort\": {\"i\": 1},"
      " \"batch_size\": 5, \"projection\": {\"_id\": 0, \"i\": 1}",
      db);
  tproc p;
  int st;
  json_t *data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(json_array_size(data), 57);
  for (size_t k = 0; k < 57; k++) {
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(data, k), "i")), (json_int_t)k);
  }
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

/* Filters are Extended JSON: a date compares as a date. */
Test(ops, find_filter_in_extended_json) {
  char *db = mt_db();
  mt_insert(db, "ev",
            "[{\"n\": 1, \"at\": {\"$date\": \"2024-01-01T00:00:00Z\"}},"
            " {\"n\": 2, \"at\": {\"$date\": \"2024-06-01T00:00:00Z\"}},"
            " {\"n\": 3, \"at\": {\"$date\": \"2025-01-01T00:00:00Z\"}}]");
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"ev\", \"filter\": {\"at\": {\"$gt\":"
      " {\"$date\": \"2024-03-01T00:00:00Z\"}}}, \"sort\": {\"n\": 1},"
      " \"projection\": {\"_id\": 0}",
      db);
  tproc p;
  int st;
  json_t *data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  expect_json(data,
              "[{\"n\":2,\"at\":{\"$date\":\"2024-06-01T00:00:00Z\"}},"
              "{\"n\":3,\"at\":{\"$date\":\"2025-01-01T00:00:00Z\"}}]");
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

Test(ops, find_record_envelope) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 2);
  char *opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\"", db);
  char *src = mt_source("orders", "\"interval\": \"1s\", \"tags\": {\"env\": \"t\"}", opts);
  char *cfg = mt_config("", src);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  cr_assert_eq(json_array_size(recs), 2);
  json_t *r = json_array_get(recs, 0);
  cr_expect_str_eq(json_string_value(json_object_get(r, "source")), "orders");
  cr_expect_str_eq(json_string_value(json_object_get(r, "plugin")), "mongo");
  expect_json(json_object_get(r, "tags"), "{\"env\":\"t\"}");
  /* A whole document, _id included, and no meta on an ordinary round. */
  cr_expect(
      json_is_string(json_object_get(json_object_get(json_object_get(r, "data"), "_id"), "$oid")));
  cr_expect_null(json_object_get(r, "meta"));
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
  free(src);
  free(opts);
  free(db);
}

Test(ops, aggregate_pipeline) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 30);
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"c\", \"operation\": \"aggregate\","
      " \"batch_size\": 2, \"pipeline\": [{\"$match\": {\"tag\": {\"$lt\": 3}}},"
      " {\"$group\": {\"_id\": \"$tag\", \"n\": {\"$sum\": 1}, \"total\": "
      "{\"$sum\": \"$i\"}}}, {\"$sort\": {\"_id\": 1}}]",
      db);
  tproc p;
  int st;
  json_t *data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  /* tag 0: 0+10+20, tag 1: 1+11+21, tag 2: 2+12+22. */
  expect_json(data,
              "[{\"_id\":0,\"n\":3,\"total\":30},{\"_id\":1,\"n\":3,\"total\":33},"
              "{\"_id\":2,\"n\":3,\"total\":36}]");
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

Test(ops, count_with_filter_and_limit) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 40);
  const char *cases[][2] = {
      {"", "[{\"count\":40}]"},
      {", \"filter\": {\"tag\": 3}", "[{\"count\":4}]"},
      {", \"filter\": {\"i\": {\"$gte\": 10}}, \"limit\": 7", "[{\"count\":7}]"},
      {", \"filter\": {\"i\": {\"$gt\": 1000}}", "[{\"count\":0}]"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    char *opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\", \"operation\": \"count\"%s",
                        db, cases[k][0]);
    tproc p;
    int st;
    json_t *data = mt_once_source(&p, "", opts, &st);
    cr_assert_eq(st, 0, "case %zu: exit %d: %s", k, st, p.err);
    expect_json(data, cases[k][1]);
    json_decref(data);
    tproc_free(&p);
    free(opts);
  }
  free(db);
}

/* A database command gives one record: its reply. */
Test(ops, command_server_status_and_db_stats) {
  tproc p;
  int st;
  /* No database: commands run on admin. */
  json_t *data = mt_once_source(&p, "",
                                "\"operation\": \"command\", \"command\": "
                                "{\"serverStatus\": 1}",
                                &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(json_array_size(data), 1);
  json_t *reply = json_array_get(data, 0);
  cr_expect_eq(json_number_value(json_object_get(reply, "ok")), 1.0);
  cr_expect_not_null(json_object_get(reply, "uptime"), "serverStatus without uptime: %s",
                     mt_dump(reply));
  cr_expect_not_null(json_object_get(reply, "connections"));
  json_decref(data);
  tproc_free(&p);

  char *db = mt_db();
  mt_insert_range(db, "c", 0, 3);
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"operation\": \"command\", \"command\": "
      "{\"count\": \"c\"}",
      db);
  data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(json_array_size(data), 1);
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(data, 0), "n")), 3);
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

/* The database can come from the URI's path. */
Test(ops, database_from_uri_path) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 3);
  char *src = mt_fmt(
      "{\"name\": \"m\", \"plugin\": \"mongo\", \"interval\": \"1s\", \"options\": "
      "{\"uri\": \"%s/%s\", \"collection\": \"c\", \"operation\": \"count\"}}",
      mt_uri(), db);
  char *cfg = mt_config("", src);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  json_t *data = mt_data(recs, "m");
  expect_json(data, "[{\"count\":3}]");
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
  free(src);
  free(db);
}

/* A bad query fails that source only, with the server's message; the
 * other source of the same run is unaffected. */
static void expect_source_error(const char *bad_options, const char *server_says) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 3);
  char *good_opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\"", db);
  char *bad_opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\", %s", db, bad_options);
  char *good = mt_source("good", "\"interval\": \"1s\"", good_opts);
  char *bad = mt_source("bad", "\"interval\": \"1s\"", bad_opts);
  char *both = mt_fmt("%s, %s", good, bad);
  char *cfg = mt_config("", both);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, server_says) != NULL, "no \"%s\" in: %s", server_says, p.err);
  json_t *recs = mt_records(p.out);
  json_t *g = mt_data(recs, "good");
  json_t *b = mt_data(recs, "bad");
  cr_expect_eq(json_array_size(g), 3);
  cr_expect_eq(json_array_size(b), 0);
  json_decref(g);
  json_decref(b);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
  free(both);
  free(good);
  free(bad);
  free(good_opts);
  free(bad_opts);
  free(db);
}

Test(ops, bad_filter_is_the_sources_error) {
  expect_source_error("\"filter\": {\"i\": {\"$nosuchop\": 1}}", "$nosuchop");
}

Test(ops, bad_pipeline_is_the_sources_error) {
  expect_source_error("\"operation\": \"aggregate\", \"pipeline\": [{\"$nosuchstage\": {}}]",
                      "$nosuchstage");
}

Test(ops, unknown_command_is_the_sources_error) {
  char *db = mt_db();
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"operation\": \"command\", \"command\": "
      "{\"noSuchCommand\": 1}",
      db);
  tproc p;
  int st;
  json_t *data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, "noSuchCommand") != NULL, "%s", p.err);
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

/* max_documents bounds a round; the last record says the round was cut
 * short, and the log says so too. A result of exactly the bound is not
 * cut short. */
Test(ops, max_documents_bounds_and_reports) {
  char *db = mt_db();
  mt_insert_range(db, "c", 0, 30);
  char *opts = mt_fmt(
      "\"database\": \"%s\", \"collection\": \"c\", \"sort\": {\"i\": 1},"
      " \"max_documents\": 10",
      db);
  char *src = mt_source("m", "\"interval\": \"1s\"", opts);
  char *cfg = mt_config("", src);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  cr_assert_eq(json_array_size(recs), 10);
  for (size_t k = 0; k < 9; k++) {
    cr_expect_null(json_object_get(json_array_get(recs, k), "meta"));
  }
  expect_json(json_object_get(json_array_get(recs, 9), "meta"),
              "{\"truncated\":true,\"max_documents\":10}");
  cr_expect_eq(
      json_integer_value(json_object_get(json_object_get(json_array_get(recs, 9), "data"), "i")),
      9);
  cr_expect(strstr(p.err, "max_documents (10) reached") != NULL, "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
  free(src);
  free(opts);

  opts = mt_fmt("\"database\": \"%s\", \"collection\": \"c\", \"max_documents\": 30", db);
  json_t *data = mt_once_source(&p, "", opts, &st);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_expect_eq(json_array_size(data), 30);
  cr_expect(strstr(p.out, "truncated") == NULL, "%s", p.out);
  cr_expect(strstr(p.err, "max_documents") == NULL, "%s", p.err);
  json_decref(data);
  tproc_free(&p);
  free(opts);
  free(db);
}

/* --- configuration errors: --check, exit 2, the JSON path named --- */

/* `siphon --check` over one mongo source with `options` (the inside of
 * its object); p holds its output, for the caller to free. */
static int check_run(tproc *p, const char *options) {
  char *src = mt_fmt(
      "{\"name\": \"m\", \"plugin\": \"mongo\", \"interval\": \"1s\", \"options\": "
      "{%s}}",
      options);
  char *cfg = mt_config("", src);
  const char *argv[] = {SIPHON_BIN, "--check", "-c", cfg, NULL};
  int st = tproc_run(p, argv, NULL, 20000);
  free(cfg);
  free(src);
  return st;
}

static void expect_check_error(const char *options, const char *path, const char *text) {
  tproc p;
  int st = check_run(&p, options);
  cr_assert_eq(st, 2, "exit %d for {%s}: %s", st, options, p.err);
  cr_expect(strstr(p.err, path) != NULL, "no path %s in: %s", path, p.err);
  cr_expect(strstr(p.err, text) != NULL, "no \"%s\" in: %s", text, p.err);
  tproc_free(&p);
}

Test(config, wrong_types_name_the_path) {
  const char *u = "\"uri\": \"mongodb://127.0.0.1:1\", \"database\": \"d\", \"collection\": \"c\"";
  char *o;
  o = mt_fmt("%s, \"filter\": \"i > 3\"", u);
  expect_check_error(o, "sources[0].options.filter", "object");
  free(o);
  o = mt_fmt("%s, \"limit\": \"ten\"", u);
  expect_check_error(o, "sources[0].options.limit", "integer");
  free(o);
  o = mt_fmt("%s, \"operation\": \"aggregate\", \"pipeline\": {\"$match\": {}}", u);
  expect_check_error(o, "sources[0].options.pipeline", "array");
  free(o);
  o = mt_fmt("%s, \"operation\": \"delete\"", u);
  expect_check_error(o, "sources[0].options.operation", "find");
  free(o);
  o = mt_fmt("%s, \"extended_json\": \"strict\"", u);
  expect_check_error(o, "sources[0].options.extended_json", "relaxed");
  free(o);
  expect_check_error("\"database\": \"d\"", "sources[0].options",
                     "missing required option \"uri\"");
}

Test(config, options_the_operation_does_not_use) {
  const char *u = "\"uri\": \"mongodb://127.0.0.1:1\", \"database\": \"d\", \"collection\": \"c\"";
  char *o;
  o = mt_fmt("%s, \"pipeline\": [{\"$match\": {}}]", u);
  expect_check_error(o, "sources[0].options.pipeline", "only used by operation aggregate");
  free(o);
  o = mt_fmt("%s, \"operation\": \"aggregate\"", u);
  expect_check_error(o, "sources[0].options.pipeline", "required");
  free(o);
  o = mt_fmt("%s, \"operation\": \"count\", \"sort\": {\"i\": 1}", u);
  expect_check_error(o, "sources[0].options.sort", "only used by operation find");
  free(o);
  expect_check_error("\"uri\": \"mongodb://127.0.0.1:1\", \"database\": \"d\"",
                     "sources[0].options.collection", "required");
  expect_check_error("\"uri\": \"mongodb://127.0.0.1:1\", \"collection\": \"c\"",
                     "sources[0].options.database", "required");
  expect_check_error("\"uri\": \"mongodb://127.0.0.1:1\", \"operation\": \"command\"",
                     "sources[0].options.command", "required");
  o = mt_fmt("%s, \"max_documents\": 0", u);
  expect_check_error(o, "sources[0].options.max_documents", ">= 1");
  free(o);
  o = mt_fmt("%s, \"filter\": {\"a\": {\"$date\": \"not a date\"}}", u);
  expect_check_error(o, "sources[0].options.filter", "Extended JSON");
  free(o);
  expect_check_error("\"uri\": \"http://example.com\", \"database\": \"d\", \"collection\": \"c\"",
                     "sources[0].options.uri", "not a valid MongoDB connection string");
}

/* libmongoc's message for a password it cannot take quotes it: --check
 * says what is wrong without it. */
Test(config, a_bad_password_in_the_uri_is_not_shown) {
  const char *o =
      "\"uri\": \"mongodb://alice:pa:s3cr3t@127.0.0.1:1/\", \"database\": \"d\", \"collection\": "
      "\"c\"";
  expect_check_error(o, "sources[0].options.uri", "must be percent-encoded");
  tproc p;
  check_run(&p, o);
  cr_expect(strstr(p.err, "s3cr3t") == NULL, "the password is shown: %s", p.err);
  tproc_free(&p);
}

/* An option libmongoc does not know is an error, as an unknown key is
 * anywhere else in siphon: the driver would only warn and go on without
 * it (a misspelt replicaSet connects to a lone member). The message
 * names the option as written, never the rest of the URI. */
Test(config, unknown_uri_options_are_refused) {
  const char *rest = "\"database\": \"d\", \"collection\": \"c\"";
  const char *cases[][2] = {
      {"mongodb://reader:Pw-4t7q@127.0.0.1:1/?replicaSett=rs0",
       "unknown URI option \"replicaSett\": libmongoc " MONGOC_VERSION_S
       " does not support it; did you mean \"replicaSet\"?"},
      {"mongodb://127.0.0.1:1/?x=1",
       "unknown URI option \"x\": libmongoc " MONGOC_VERSION_S " does not support it"},
      {"mongodb://127.0.0.1:1/?appName=a&TSL=true&y=2",
       "unknown URI option \"TSL\" (and 1 more): libmongoc " MONGOC_VERSION_S
       " does not support it; did you mean \"tls\"?"},
      {"mongodb://127.0.0.1:1/?tlsCertificateKeyFilePasswrd=K3y-9q",
       "did you mean \"tlsCertificateKeyFilePassword\"?"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    char *o = mt_fmt("\"uri\": \"%s\", %s", cases[k][0], rest);
    tproc p;
    int st = check_run(&p, o);
    cr_expect_eq(st, 2, "case %zu: exit %d: %s", k, st, p.err);
    cr_expect(strstr(p.err, "sources[0].options.uri: ") != NULL, "case %zu: %s", k, p.err);
    cr_expect(strstr(p.err, cases[k][1]) != NULL, "case %zu: no '%s' in: %s", k, cases[k][1],
              p.err);
    /* The driver's own warning is the error now, not a line besides. */
    cr_expect(strstr(p.err, "Unsupported URI option") == NULL, "case %zu: %s", k, p.err);
    cr_expect(strstr(p.err, "Pw-4t7q") == NULL && strstr(p.err, "K3y-9q") == NULL &&
                  strstr(p.out, "Pw-4t7q") == NULL && strstr(p.out, "K3y-9q") == NULL,
              "case %zu shows a password: %s%s", k, p.out, p.err);
    tproc_free(&p);
    free(o);
  }
  /* Every option spelt as libmongoc's manual does, in any case, passes. */
  char *o = mt_fmt(
      "\"uri\": \"mongodb://127.0.0.1:1/?replicaSet=rs0&READPREFERENCE=secondaryPreferred"
      "&appname=x&maxPoolSize=3&w=majority&authSource=admin\", %s",
      rest);
  tproc p;
  int st = check_run(&p, o);
  cr_expect_eq(st, 0, "exit %d: %s", st, p.err);
  cr_expect_str_eq(p.err, "", "%s", p.err);
  tproc_free(&p);
  free(o);
}

/* Some of libmongoc's messages end with a newline of their own; the log
 * line must not be followed by a blank one. The driver's other warnings
 * about the URI are the source's. */
Test(config, driver_warnings_have_no_blank_line) {
  const char *cases[][3] = {
      {"connectTimeoutMS=abc", "2",
       "[m] options.uri: Invalid connecttimeoutms: cannot parse integer\n"},
      {"tls=yes", "0", "[m] options.uri: Deprecated boolean value for \"tls\": \"yes\""},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    char *o =
        mt_fmt("\"uri\": \"mongodb://127.0.0.1:1/?%s\", \"database\": \"d\", \"collection\": \"c\"",
               cases[k][0]);
    tproc p;
    int st = check_run(&p, o);
    cr_expect_eq(st, atoi(cases[k][1]), "%s: exit %d: %s", cases[k][0], st, p.err);
    cr_expect(strstr(p.err, cases[k][2]) != NULL, "%s: no '%s' in: %s", cases[k][0], cases[k][2],
              p.err);
    cr_expect(strstr(p.err, "\n\n") == NULL && p.err[0] != '\n', "%s: a blank line in: %s",
              cases[k][0], p.err);
    tproc_free(&p);
    free(o);
  }
}

/* Credentials in the URI never reach the output: not in --check, not in
 * the errors of a failing round, not in debug logs. */
Test(config, credentials_never_shown) {
  const char *uri =
      "mongodb://alice:Pa55-w0rd-7x@127.0.0.1:1/"
      "?tlsCertificateKeyFilePassword=K3y-pa55-9q";
  char *o = mt_fmt("\"uri\": \"%s\", \"database\": \"d\", \"collection\": \"c\"", uri);
  char *src = mt_fmt(
      "{\"name\": \"m\", \"plugin\": \"mongo\", \"interval\": \"1s\", "
      "\"timeout\": \"500ms\", \"options\": {%s}}",
      o);
  char *cfg = mt_config("\"log_level\": \"debug\"", src);
  const char *modes[] = {"--check", "--once"};
  for (size_t k = 0; k < 2; k++) {
    const char *argv[] = {SIPHON_BIN, modes[k], "-c", cfg, NULL};
    tproc p;
    int st = tproc_run(&p, argv, NULL, 20000);
    cr_expect_eq(st, k == 0 ? 0 : 1, "%s: exit %d: %s", modes[k], st, p.err);
    cr_expect(strstr(p.err, "Pa55-w0rd-7x") == NULL && strstr(p.out, "Pa55-w0rd-7x") == NULL,
              "%s shows the password: %s%s", modes[k], p.out, p.err);
    cr_expect(strstr(p.err, "K3y-pa55-9q") == NULL && strstr(p.out, "K3y-pa55-9q") == NULL,
              "%s shows the key password: %s%s", modes[k], p.out, p.err);
    tproc_free(&p);
  }
  free(cfg);
  free(src);
  free(o);
}

/* The shipped examples are valid configs (copied away from the source
 * tree, so that their relative state_dir lands in a temporary one). */
Test(config, examples_pass_check) {
  const char *names[] = {"mongo.json", "mongo-atlas.json"};
  for (size_t k = 0; k < 2; k++) {
    char *src_path = mt_fmt("%s/config/examples/%s", SIPHON_SOURCE_DIR, names[k]);
    char *text = tmp_read(src_path, NULL);
    cr_assert_not_null(text, "cannot read %s", src_path);
    char *dir = tmp_dir();
    char *state = mt_fmt("%s/state", dir);
    /* Absolute paths stay out of /var/lib; relative ones go into dir. */
    char *fixed = mt_fmt("%s", text);
    char *abs = strstr(fixed, "\"/var/lib/siphon\"");
    char *cfg_text = fixed;
    if (abs != NULL) {
      *abs = '\0';
      cfg_text = mt_fmt("%s\"%s\"%s", fixed, state, abs + strlen("\"/var/lib/siphon\""));
    }
    char *cfg = mt_fmt("%s/%s", dir, names[k]);
    cr_assert_eq(tmp_write_at(cfg, cfg_text), 0);
    const char *argv[] = {SIPHON_BIN, "--check", "-c", cfg, NULL};
    const char *env[] = {"MONGO_URI=mongodb://reader:Zx9-secret@127.0.0.1:1/?authSource=admin",
                         "SIPHON_PLUGIN_PATH=" SIPHON_PLUGIN_DIR, NULL};
    tproc p;
    int st = tproc_run(&p, argv, env, 20000);
    cr_expect_eq(st, 0, "%s: exit %d: %s", names[k], st, p.err);
    cr_expect(strstr(p.out, "Zx9-secret") == NULL && strstr(p.err, "Zx9-secret") == NULL);
    tproc_free(&p);
    tmp_rmtree(dir);
    if (cfg_text != fixed) {
      free(cfg_text);
    }
    free(cfg);
    free(fixed);
    free(state);
    free(dir);
    free(text);
    free(src_path);
  }
}

/* A config duration ("800ms", "10s", "5m", "1h") in ms. */
static long long duration_ms(const char *text) {
  char *end;
  double v = strtod(text, &end);
  const char *units[] = {"ms", "s", "m", "h"};
  const double scale[] = {1, 1000, 60000, 3600000};
  for (size_t k = 0; k < 4; k++) {
    if (strcmp(end, units[k]) == 0) {
      return (long long)(v * scale[k]);
    }
  }
  cr_assert_fail("not a duration: %s", text);
  return 0;
}

/* The examples follow the advice above: each source's timeout (the
 * interval when not given, 10 s by default) is under shutdown_grace (5 s
 * by default), so that a stop while a server hangs waits for the round
 * to end by itself rather than exits 1. */
Test(config, examples_keep_timeouts_under_shutdown_grace) {
  const char *names[] = {"mongo.json", "mongo-atlas.json"};
  for (size_t k = 0; k < 2; k++) {
    char *path = mt_fmt("%s/config/examples/%s", SIPHON_SOURCE_DIR, names[k]);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", path, jerr.text);
    const char *grace_text =
        json_string_value(json_object_get(json_object_get(root, "siphon"), "shutdown_grace"));
    long long grace = duration_ms(grace_text != NULL ? grace_text : "5s");
    size_t i;
    json_t *src;
    json_array_foreach(json_object_get(root, "sources"), i, src) {
      const char *t = json_string_value(json_object_get(src, "timeout"));
      if (t == NULL) {
        t = json_string_value(json_object_get(src, "interval"));
      }
      long long timeout = duration_ms(t != NULL ? t : "10s");
      cr_expect_lt(timeout, grace,
                   "%s: sources[%zu] (%s): timeout %s is not under shutdown_grace %s", names[k], i,
                   json_string_value(json_object_get(src, "name")), t,
                   grace_text != NULL ? grace_text : "5s (the default)");
    }
    json_decref(root);
    free(path);
  }
}
