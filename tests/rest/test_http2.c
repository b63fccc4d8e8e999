/* rest over HTTP/2 against nghttpd (Debian's nghttp2-server) with TLS on
 * loopback: sources of one host that start together share one
 * connection, their requests multiplexed on it as streams, and each gets
 * its own answer. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "restt.h"
#include "tmpfile.h"

#define NGHTTPD "/usr/sbin/nghttpd"

/* The session ids of nghttpd's verbose log ("[id=N] ... recv HEADERS")
 * that carried a request, and how many requests there were. */
static size_t sessions_with_requests(const char *log, size_t *requests) {
  json_t *ids = json_object();
  *requests = 0;
  for (const char *l = log; l != NULL && *l != '\0';) {
    const char *nl = strchr(l, '\n');
    size_t n = nl != NULL ? (size_t)(nl - l) : strlen(l);
    unsigned id = 0;
    if (memmem(l, n, "recv HEADERS", 12) != NULL && sscanf(l, "[id=%u]", &id) == 1) {
      char key[16];
      snprintf(key, sizeof(key), "%u", id);
      json_object_set_new(ids, key, json_true());
      (*requests)++;
    }
    l = nl != NULL ? nl + 1 : NULL;
  }
  size_t distinct = json_object_size(ids);
  json_decref(ids);
  return distinct;
}

/* nghttpd's pid while it runs: a failed assertion leaves the test before
 * its own kill, and the server would outlive the run. */
static pid_t server_pid;

static void stop_server(void) {
  if (server_pid > 0) {
    kill(server_pid, SIGKILL);
    server_pid = 0;
  }
}

Test(rest_http2, sources_of_one_host_share_one_multiplexed_connection, .timeout = 60,
     .fini = stop_server) {
  cr_assert_eq(access(NGHTTPD, X_OK), 0, "nghttpd is not installed (make dev-deps installs it)");
  char *dir = restt_make_certs();
  char path[1024], key[512], cert[512], www[512], ca[512];
  snprintf(www, sizeof(www), "%s/www", dir);
  cr_assert_eq(mkdir(www, 0700), 0);
  for (int i = 0; i < 10; i++) {
    char text[64];
    snprintf(path, sizeof(path), "%s/item%d.json", www, i);
    snprintf(text, sizeof(text), "{\"item\": %d}\n", i);
    cr_assert_eq(tmp_write_at(path, text), 0);
  }
  snprintf(key, sizeof(key), "%s/srv.key", dir);
  snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
  snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
  int port = tnet_free_port(SOCK_STREAM);
  char port_s[16];
  snprintf(port_s, sizeof(port_s), "%d", port);
  const char *argv[] = {NGHTTPD, "-a", "127.0.0.1", "-d", www, "-v", port_s, key, cert, NULL};
  tproc srv;
  cr_assert_eq(tproc_start(&srv, argv, NULL), 0);
  server_pid = srv.pid;
  cr_assert(restt_wait_listening(port), "nghttpd did not start: %s", srv.err);

  char *sources = strdup("[");
  for (int i = 0; i < 10; i++) {
    char *next = NULL;
    cr_assert(asprintf(&next,
                       "%s%s{\"name\": \"h%d\", \"plugin\": \"rest\", \"interval\": \"10s\", "
                       "\"options\": {\"url\": \"https://127.0.0.1:%d/item%d.json\", "
                       "\"ca_file\": \"%s\"}}",
                       sources, i ? ", " : "", i, port, i, ca) >= 0);
    free(sources);
    sources = next;
  }
  char *all = NULL;
  cr_assert(asprintf(&all, "%s]", sources) >= 0);
  restt_run r = restt_once_sources(all, 30000);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 10, "%s", r.err);
  /* Each source got its own stream's answer. */
  size_t i;
  json_t *rec;
  json_array_foreach(r.records, i, rec) {
    const char *name = json_string_value(json_object_get(rec, "source"));
    json_int_t item = json_integer_value(json_object_get(json_object_get(rec, "data"), "item"));
    char want[16];
    snprintf(want, sizeof(want), "h%lld", (long long)item);
    cr_assert_str_eq(name, want);
  }

  tproc_kill(&srv, SIGTERM);
  tproc_finish(&srv, 5000);
  server_pid = 0;
  size_t requests = 0;
  size_t sessions = sessions_with_requests(srv.out, &requests);
  cr_assert_eq(requests, 10, "10 requests in nghttpd's log:\n%s", srv.out);
  cr_assert_eq(sessions, 1, "all on one connection:\n%s", srv.out);

  restt_run_free(&r);
  free(all);
  free(sources);
  tproc_free(&srv);
  tmp_rmtree(dir);
  free(dir);
}
