/* The test server: started in a Criterion PRE_ALL hook (in the runner
 * process, which every test process inherits its environment from), so
 * that one server serves a whole test executable. */
#include "mongot.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpfile.h"

#define URI_ENV "SIPHON_TEST_MONGO_URI"
/* Set by the hook for the test processes: the URI of the server it
 * started, or why it could not. */
#define STARTED_ENV "SIPHON_MT_STARTED_URI"
#define FAILED_ENV "SIPHON_MT_FAILED"
#define SERVER_DIR SIPHON_SOURCE_DIR "/tests/mongo/server"

static tproc server;
static int server_started;

char *mt_server_start(tproc *p, char **why) {
  if (access(SERVER_DIR "/node_modules/@push.rocks/smartmongo/dist_ts/congodb/index.js", R_OK) !=
      0) {
    *why = mt_fmt(
        "the test server is not installed: run tests/mongo/server/install.sh "
        "(or make test-deps), or set " URI_ENV);
    return NULL;
  }
  const char *argv[] = {"/usr/bin/env", "node", SERVER_DIR "/start.js", NULL};
  if (tproc_start(p, argv, NULL) != 0) {
    *why = mt_fmt("cannot run node (install Debian's nodejs: make dev-deps)");
    return NULL;
  }
  if (!tproc_wait_stdout(p, "\n", 20000)) {
    tproc_kill(p, SIGKILL);
    tproc_finish(p, 5000);
    *why = mt_fmt("the test server printed no port (it exited, or 20 s passed): %s", p->err);
    tproc_free(p);
    return NULL;
  }
  return mt_fmt("mongodb://127.0.0.1:%d", atoi(p->out));
}

ReportHook(PRE_ALL)(struct criterion_test_set *set) {
  (void)set;
  const char *given = getenv(URI_ENV);
  if (given != NULL && given[0] != '\0') {
    setenv(STARTED_ENV, given, 1);
    return;
  }
  char *why = NULL;
  char *uri = mt_server_start(&server, &why);
  if (uri == NULL) {
    setenv(FAILED_ENV, why, 1);
    free(why);
    return;
  }
  server_started = 1;
  setenv(STARTED_ENV, uri, 1);
  free(uri);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  if (server_started) {
    tproc_kill(&server, SIGKILL);
    tproc_finish(&server, 5000);
    tproc_free(&server);
    server_started = 0;
  }
}

const char *mt_uri(void) {
  const char *failed = getenv(FAILED_ENV);
  cr_assert_null(failed, "mongo test server: %s", failed);
  const char *uri = getenv(STARTED_ENV);
  cr_assert_not_null(uri, "mongo test server: not started (PRE_ALL hook did not run)");
  return uri;
}

char *mt_fmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  cr_assert_geq(n, 0);
  char *s = malloc((size_t)n + 1);
  cr_assert_not_null(s);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

char *mt_db(void) {
  static int counter;
  return mt_fmt("siphon_t%ld_%d", (long)getpid(), counter++);
}

static mongoc_client_t *client;

static void client_cleanup(void) {
  mongoc_client_destroy(client);
  client = NULL;
  mongoc_cleanup();
}

mongoc_client_t *mt_client(void) {
  if (client == NULL) {
    mongoc_init();
    bson_error_t err;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(mt_uri(), &err);
    cr_assert_not_null(uri, "bad test URI: %s", err.message);
    client = mongoc_client_new_from_uri(uri);
    mongoc_uri_destroy(uri);
    cr_assert_not_null(client);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    atexit(client_cleanup);
  }
  return client;
}

static void insert_docs(const char *db, const char *coll, bson_t **docs, size_t n) {
  mongoc_collection_t *c = mongoc_client_get_collection(mt_client(), db, coll);
  bson_error_t err;
  bool ok = mongoc_collection_insert_many(c, (const bson_t **)docs, n, NULL, NULL, &err);
  mongoc_collection_destroy(c);
  cr_assert(ok, "seeding %s.%s failed: %s", db, coll, err.message);
}

void mt_insert(const char *db, const char *coll, const char *ejson_array) {
  char *wrapped = mt_fmt("{\"d\": %s}", ejson_array);
  bson_error_t err;
  bson_t *all = bson_new_from_json((const uint8_t *)wrapped, -1, &err);
  free(wrapped);
  cr_assert_not_null(all, "bad seed JSON: %s", err.message);
  bson_iter_t it, child;
  cr_assert(bson_iter_init_find(&it, all, "d") && bson_iter_recurse(&it, &child));
  bson_t *docs[256];
  size_t n = 0;
  while (bson_iter_next(&child)) {
    cr_assert_lt(n, 256u);
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(&child, &len, &data);
    docs[n++] = bson_new_from_data(data, len);
  }
  insert_docs(db, coll, docs, n);
  for (size_t i = 0; i < n; i++) {
    bson_destroy(docs[i]);
  }
  bson_destroy(all);
}

void mt_insert_range(const char *db, const char *coll, int from, int n) {
  enum { CHUNK = 500 };
  for (int base = 0; base < n; base += CHUNK) {
    bson_t *docs[CHUNK];
    int k = n - base < CHUNK ? n - base : CHUNK;
    for (int j = 0; j < k; j++) {
      int i = from + base + j;
      docs[j] = BCON_NEW("i", BCON_INT32(i), "tag", BCON_INT32(i % 10));
    }
    insert_docs(db, coll, docs, (size_t)k);
    for (int j = 0; j < k; j++) {
      bson_destroy(docs[j]);
    }
  }
}

char *mt_config(const char *siphon_extra, const char *sources) {
  return tmp_write("siphon.json",
                   "{\"siphon\": {\"plugin_path\": [\"%s\", \"%s\"]%s%s},\n \"sources\": [%s]}\n",
                   SIPHON_PLUGIN_DIR, SIPHON_TEST_PLUGIN_DIR, siphon_extra[0] ? ", " : "",
                   siphon_extra, sources);
}

char *mt_source(const char *name, const char *extra, const char *options) {
  return mt_fmt(
      "{\"name\": \"%s\", \"plugin\": \"mongo\"%s%s, \"options\": "
      "{\"uri\": \"%s\"%s%s}}",
      name, extra[0] ? ", " : "", extra, mt_uri(), options[0] ? ", " : "", options);
}

int mt_once(tproc *p, const char *cfg, int timeout_ms) {
  const char *argv[] = {SIPHON_BIN, "--once", "-c", cfg, NULL};
  cr_assert_eq(tproc_start(p, argv, NULL), 0, "cannot start %s", SIPHON_BIN);
  return tproc_finish(p, timeout_ms);
}

json_t *mt_records(const char *out) {
  json_t *all = json_array();
  const char *s = out;
  while (*s != '\0') {
    const char *nl = strchr(s, '\n');
    cr_assert_not_null(nl, "a record line without its newline: %s", s);
    json_error_t err;
    json_t *v = json_loadb(s, (size_t)(nl - s), JSON_ALLOW_NUL, &err);
    cr_assert_not_null(v, "not JSON: %.*s (%s)", (int)(nl - s), s, err.text);
    json_array_append_new(all, v);
    s = nl + 1;
  }
  return all;
}

json_t *mt_data(json_t *records, const char *source) {
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(records, i, v) {
    if (strcmp(json_string_value(json_object_get(v, "source")), source) == 0) {
      json_array_append(out, json_object_get(v, "data"));
    }
  }
  return out;
}

json_t *mt_once_source(tproc *p, const char *siphon_extra, const char *options, int *status) {
  char *src = mt_source("m", "\"interval\": \"10s\", \"timeout\": \"5s\"", options);
  char *cfg = mt_config(siphon_extra, src);
  *status = mt_once(p, cfg, 30000);
  json_t *recs = mt_records(p->out);
  json_t *data = mt_data(recs, "m");
  json_decref(recs);
  free(src);
  free(cfg);
  return data;
}

size_t mt_wait_lines(tproc *p, size_t n, int timeout_ms) {
  /* Bounded: at most timeout_ms / 50 waits of 50 ms. */
  for (int waited = 0; count_lines(p->out) < n && waited < timeout_ms; waited += 50) {
    if (!tproc_wait_stdout(p, "\x01", 50) && p->out_fd < 0) {
      break;
    }
  }
  return count_lines(p->out);
}

char *mt_dump(const json_t *v) {
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}
