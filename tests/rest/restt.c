#include "restt.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpfile.h"

#define HTTPFIX_BIN SIPHON_BUILD_DIR "/tests/rest/httpfix/httpfix"

int restt_fixture_start(tproc *p) {
  const char *argv[] = {HTTPFIX_BIN, NULL};
  cr_assert_eq(tproc_start(p, argv, NULL), 0, "cannot start %s", HTTPFIX_BIN);
  cr_assert(tproc_wait_stdout(p, "\n", 5000), "httpfix printed no port: %s", p->err);
  int port = 0;
  cr_assert_eq(sscanf(p->out, "port=%d", &port), 1, "httpfix said: %s", p->out);
  return port;
}

void restt_fixture_stop(tproc *p) {
  tproc_kill(p, SIGTERM);
  tproc_finish(p, 5000);
  tproc_free(p);
}

char *restt_sources(const char *prefix, int n, const char *interval, const char *source_extra,
                    int port, const char *path, const char *options_extra) {
  char *s = strdup("[");
  for (int i = 0; i < n; i++) {
    char *next = NULL;
    cr_assert(asprintf(&next,
                       "%s%s{\"name\": \"%s%d\", \"plugin\": \"rest\", \"interval\": \"%s\"%s, "
                       "\"options\": {\"url\": \"http://127.0.0.1:%d%s\"%s}}",
                       s, i ? ", " : "", prefix, i, interval, source_extra, port, path,
                       options_extra) >= 0);
    free(s);
    s = next;
  }
  char *all = NULL;
  cr_assert(asprintf(&all, "%s]", s) >= 0);
  free(s);
  return all;
}

static json_t *parse_lines(const char *out) {
  json_t *a = json_array();
  const char *p = out;
  while (p != NULL && *p != '\0') {
    const char *nl = strchr(p, '\n');
    size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
    if (n > 0) {
      json_error_t e;
      json_t *v = json_loadb(p, n, 0, &e);
      cr_assert_not_null(v, "stdout line is not JSON (%s): %.*s", e.text, (int)n, p);
      json_array_append_new(a, v);
    }
    p = nl != NULL ? nl + 1 : NULL;
  }
  return a;
}

restt_run restt_once_sources(const char *sources_json, int timeout_ms) {
  restt_run r;
  memset(&r, 0, sizeof(r));
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"], \"log_level\": \"info\"},\n"
                        " \"sources\": %s}\n",
                        SIPHON_PLUGIN_DIR, sources_json);
  cr_assert_not_null(cfg);
  r.config = strdup(sources_json);
  tproc p;
  r.status = tproc_siphon(&p, timeout_ms, "--once", "-c", cfg, NULL);
  r.records = parse_lines(p.out);
  r.err = strdup(p.err);
  tproc_free(&p);
  tmp_discard(cfg);
  return r;
}

restt_run restt_once(const char *source_extra, const char *options_fmt, ...) {
  va_list ap;
  va_start(ap, options_fmt);
  char *opts = NULL;
  cr_assert(vasprintf(&opts, options_fmt, ap) >= 0);
  va_end(ap);
  char *sources = NULL;
  cr_assert(asprintf(&sources,
                     "[{\"name\": \"src\", \"plugin\": \"rest\", \"interval\": \"10s\", %s"
                     "\"options\": %s}]",
                     source_extra, opts) >= 0);
  restt_run r = restt_once_sources(sources, 30000);
  free(sources);
  free(opts);
  return r;
}

void restt_run_free(restt_run *r) {
  json_decref(r->records);
  free(r->err);
  free(r->config);
}

json_t *restt_only_data(const restt_run *r) {
  cr_assert_eq(r->status, 0, "siphon failed (%d): %s", r->status, r->err);
  cr_assert_eq(json_array_size(r->records), 1, "expected 1 record, got %zu: %s",
               json_array_size(r->records), r->err);
  return json_object_get(json_array_get(r->records, 0), "data");
}

static size_t on_data(char *d, size_t s, size_t n, void *u) {
  char **buf = u;
  size_t old = *buf != NULL ? strlen(*buf) : 0;
  *buf = realloc(*buf, old + s * n + 1);
  memcpy(*buf + old, d, s * n);
  (*buf)[old + s * n] = '\0';
  return s * n;
}

json_t *restt_get(int port, const char *path) {
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
  CURL *e = curl_easy_init();
  cr_assert_not_null(e);
  char *body = NULL;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
  CURLcode rc = curl_easy_perform(e);
  curl_easy_cleanup(e);
  cr_assert_eq(rc, CURLE_OK, "GET %s: %s", url, curl_easy_strerror(rc));
  json_t *v = json_loads(body, 0, NULL);
  cr_assert_not_null(v, "GET %s: not JSON: %s", url, body);
  free(body);
  return v;
}

char *restt_make_certs(void) {
  char *dir = tmp_dir();
  cr_assert_not_null(dir);
  setenv("D", dir, 1);
  const char *cmd =
      "cd \"$D\" && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout ca.key -out ca.pem -days 2 -subj /CN=siphon-test-ca 2>/dev/null && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key "
      "-out srv.csr -subj /CN=127.0.0.1 2>/dev/null && "
      "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem "
      "-days 2 -extfile san.ext 2>/dev/null && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout cli.key "
      "-out cli.csr -subj /CN=siphon-client 2>/dev/null && "
      "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem "
      "-days 2 2>/dev/null";
  cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
  return dir;
}

int restt_wait_listening(int port) {
  for (int i = 0; i < 100; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    if (ok) {
      return 1;
    }
    usleep(50000);
  }
  return 0;
}

json_t *restt_rounds(const char *sources, size_t lines, char **err) {
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"], \"log_level\": \"debug\"}, "
                        "\"sources\": %s}\n",
                        SIPHON_PLUGIN_DIR, sources);
  tproc p;
  const char *argv[] = {SIPHON_BIN, "-c", cfg, NULL};
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  tproc_wait_stdout_count(&p, "\n", lines, 10000);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_geq(tproc_count(p.out, "\n"), lines, "%zu records: %s", lines, p.err);
  cr_assert_not_null(strstr(p.err, " 0 failed,"), "no round failed: %s", p.err);
  json_t *recs = json_array();
  for (const char *l = p.out; *l != '\0';) {
    json_error_t e;
    json_t *rec = json_loads(l, JSON_DISABLE_EOF_CHECK, &e);
    cr_assert_not_null(rec, "%s: %s", e.text, l);
    json_array_append_new(recs, rec);
    l = strchr(l, '\n') + 1;
  }
  if (err != NULL) {
    *err = strdup(p.err);
  }
  tproc_free(&p);
  tmp_discard(cfg);
  return recs;
}

size_t restt_distinct_conns(const json_t *recs) {
  json_t *seen = json_object();
  size_t i;
  json_t *rec;
  json_array_foreach((json_t *)recs, i, rec) {
    char key[32];
    snprintf(key, sizeof(key), "%lld",
             (long long)json_integer_value(json_object_get(json_object_get(rec, "data"), "conn")));
    json_object_set_new(seen, key, json_true());
  }
  size_t n = json_object_size(seen);
  json_decref(seen);
  return n;
}
