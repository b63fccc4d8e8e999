/* rest end to end: timeouts, body limits, redirects, resets, keep-alive,
 * proxies, connection caps and connect_timeout against httpfix. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "restt.h"
#include "tmpfile.h"

RESTT_SUITE(rest_transport);

Test(rest_transport, delayed_response_within_timeout) {
  restt_run r = restt_once("\"timeout\": \"3s\", ",
                           "{\"url\": \"http://127.0.0.1:%d/delay?ms=300&id=d1\"}", port);
  cr_assert_str_eq(json_string_value(json_object_get(restt_only_data(&r), "id")), "d1");
  restt_run_free(&r);
}

Test(rest_transport, timeout_stops_a_slow_drip) {
  /* 100 bytes, one every 100 ms: 10 s in all, past a 500 ms timeout. */
  restt_run r = restt_once("\"timeout\": \"500ms\", ",
                           "{\"url\": \"http://127.0.0.1:%d/drip?ms=100&n=100\", "
                           "\"format\": \"text\"}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0);
  cr_assert(strstr(r.err, "timed out") != NULL || strstr(r.err, "timeout") != NULL, "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, max_body_bytes_with_content_length) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/big?bytes=100000\"}", port);
  cr_assert_eq(json_string_length(restt_only_data(&r)), 100000 - 2);
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/big?bytes=100000\", "
                 "\"max_body_bytes\": 5000}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "over max_body_bytes (5000 bytes)"), "%s", r.err);
  restt_run_free(&r);
  /* A size with a unit, as socket's max_line_bytes takes. */
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/big?bytes=100000\", "
                 "\"max_body_bytes\": \"4KiB\"}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "over max_body_bytes (4096 bytes)"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, max_body_bytes_chunked_is_aborted_while_reading) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/bigchunked?bytes=100000\", "
                           "\"max_body_bytes\": 5000}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "over max_body_bytes (5000 bytes)"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, default_body_limit_is_16_mib) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/big?bytes=17000000\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "over max_body_bytes (16777216 bytes)"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, redirects_followed_by_default) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/redirect?n=2\"}", port);
  cr_assert(json_is_true(json_object_get(restt_only_data(&r), "redirected")));
  const char *url = json_string_value(
      json_object_get(json_object_get(json_array_get(r.records, 0), "meta"), "url"));
  /* Where the data came from, but not the query the server's redirect
   * put there (a signed URL carries its secret in it). */
  cr_assert_not_null(strstr(url, "/redirect?..."), "meta.url is where the data came from: %s", url);
  cr_assert_null(strstr(url, "n=0"), "%s", url);
  restt_run_free(&r);
}

Test(rest_transport, follow_redirects_off) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/redirect?n=2\", "
                           "\"follow_redirects\": false}",
                           port);
  cr_assert_eq(r.status, 1);
  char want[256];
  snprintf(want, sizeof(want),
           "HTTP 302: redirected to http://127.0.0.1:%d/redirect?...; set follow_redirects to "
           "follow it",
           port);
  cr_assert_not_null(strstr(r.err, want), "%s", r.err);
  restt_run_free(&r);
}

static const char *str_at(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* A POST answered 303 (or 302) goes on as a GET without its body, as
 * browsers do; libcurl keeps a custom method instead. */
Test(rest_transport, post_then_see_other_is_a_get) {
  for (int i = 0; i < 2; i++) {
    int code = i == 0 ? 303 : 302;
    restt_run r =
        restt_once("",
                   "{\"url\": \"http://127.0.0.1:%d/redir?code=%d\", \"method\": \"POST\", "
                   "\"body\": {\"q\": 1}}",
                   port, code);
    cr_assert_eq(r.status, 0, "%s", r.err);
    json_t *d = restt_only_data(&r);
    cr_assert_str_eq(str_at(d, "method"), "GET", "after a %d", code);
    cr_assert_str_eq(str_at(d, "body"), "", "after a %d", code);
    restt_run_free(&r);
  }
}

/* PUT keeps its method and body through a 307; a 303 to it, whose target
 * wants a GET that libcurl would send as a PUT without its body, fails. */
Test(rest_transport, put_through_redirects) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/redir?code=307\", \"method\": \"PUT\", "
                           "\"body\": \"x=1\"}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(str_at(restt_only_data(&r), "method"), "PUT");
  cr_assert_str_eq(str_at(restt_only_data(&r), "body"), "x=1");
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/redir?code=303\", \"method\": \"PUT\", "
                 "\"body\": \"x=1\"}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "page 1: HTTP 303 to a PUT: not followed"), "%s", r.err);
  restt_run_free(&r);
}

/* libcurl's total timeout is what is left of the round's, so either may
 * fire first: the round counts as timed out whichever does (it was
 * 'failed' when libcurl's came first, about one round in five). */
Test(rest_transport, a_slow_answer_is_a_timeout_whoever_notices) {
  char *sources =
      restt_sources("slow", 10, "10s", ", \"timeout\": \"300ms\"", port, "/delay?ms=3000", "");
  restt_run r = restt_once_sources(sources, 10000);
  free(sources);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "10 sources, 0 ok, 0 failed, 10 timed out"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, max_redirects) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/redirect?n=3\", "
                           "\"max_redirects\": 2}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "Maximum (2) redirects"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, redirect_loop_fails) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/loop\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "redirects followed"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, reset_mid_body) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/reset\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0);
  cr_assert_not_null(strstr(r.err, "reset by peer"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, proxy) {
  /* 192.0.2.1 (TEST-NET-1) is unreachable: only the proxy can answer. */
  restt_run r = restt_once("",
                           "{\"url\": \"http://192.0.2.1/echo\", "
                           "\"proxy\": \"http://127.0.0.1:%d\"}",
                           port);
  json_t *d = restt_only_data(&r);
  cr_assert(json_is_true(json_object_get(d, "proxied")));
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "headers"), "host")),
                   "192.0.2.1");
  restt_run_free(&r);
}

/* A proxy that repeats the credentials it refused: its password is
 * masked in the round's error, as the source's own are. */
Test(rest_transport, a_proxy_password_a_proxy_echoes_is_masked) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://192.0.2.1/whoami\", "
                           "\"proxy\": \"http://bob:PROXYPASS1@127.0.0.1:%d\"}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "HTTP 407: "), "%s", r.err);
  cr_assert_null(strstr(r.err, "PROXYPASS1"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_transport, connect_timeout) {
  /* A listener whose accept queue is full: SYNs go unanswered. */
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
  cr_assert_eq(listen(l, 0), 0);
  cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
  int fill[3];
  for (int i = 0; i < 3; i++) {
    fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fill[i], (struct sockaddr *)&a, sizeof(a));
  }
  usleep(100000);
  restt_run r = restt_once("\"timeout\": \"5s\", ",
                           "{\"url\": \"http://127.0.0.1:%d/\", \"connect_timeout\": \"300ms\"}",
                           ntohs(a.sin_port));
  cr_assert_eq(r.status, 1);
  /* curl says "Connection timeout after 300 ms" or "Failed to connect
   * ... after 300 ms"; the round's own timeout would read "timeout". */
  cr_assert_not_null(strstr(r.err, "onnect"), "connect_timeout ended it: %s", r.err);
  cr_assert_not_null(strstr(r.err, " failed "), "not the round's timeout: %s", r.err);
  restt_run_free(&r);
  for (int i = 0; i < 3; i++) {
    close(fill[i]);
  }
  close(l);
}

/* n sources on /conn in one round; returns how many distinct connections
 * served them. */
static size_t distinct_conns(const char *extra_opts, size_t n) {
  char *all = restt_sources("c", (int)n, "10s", "", port, "/conn", extra_opts);
  restt_run r = restt_once_sources(all, 30000);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), n);
  size_t distinct = restt_distinct_conns(r.records);
  restt_run_free(&r);
  free(all);
  return distinct;
}

Test(rest_transport, connections_open_in_parallel_without_caps) {
  cr_assert_eq(distinct_conns("", 4), 4);
}

Test(rest_transport, max_connections_caps_the_plugin) {
  /* One source sets the cap; it holds for every rest source. */
  cr_assert_eq(distinct_conns(", \"max_connections\": 1", 4), 1);
}

Test(rest_transport, max_host_connections_caps_one_host) {
  cr_assert_eq(distinct_conns(", \"max_host_connections\": 2", 4), 2);
}

Test(rest_transport, keep_alive_reuses_the_connection_across_rounds) {
  char *sources = restt_sources("k", 1, "200ms", "", port, "/conn", "");
  json_t *recs = restt_rounds(sources, 3, NULL);
  /* Every round answered on the same connection. */
  cr_assert_eq(restt_distinct_conns(recs), 1);
  json_decref(recs);
  free(sources);
  json_t *stats = restt_get(port, "/stats");
  /* siphon's one connection, and this request's. */
  cr_assert_eq(json_integer_value(json_object_get(stats, "accepted")), 2);
  json_decref(stats);
}

Test(rest_transport, shutdown_with_transfers_in_flight) {
  /* SIGTERM while 20 requests wait on a 5 s response: siphon cancels
   * them, closes every handle and exits 0 (ASan builds: without leaks). */
  char *sources = restt_sources("d", 20, "10s", "", port, "/delay?ms=5000", "");
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"], \"shutdown_grace\": \"1s\"}, "
                        "\"sources\": %s}\n",
                        SIPHON_PLUGIN_DIR, sources);
  json_t *before = restt_get(port, "/stats");
  json_int_t base = json_integer_value(json_object_get(before, "requests"));
  json_decref(before);
  tproc p;
  const char *argv[] = {SIPHON_BIN, "-c", cfg, NULL};
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  /* Wait until the server has all 20 requests. */
  json_int_t got = 0;
  for (int i = 1; i <= 50 && got < 20; i++) {
    usleep(100000);
    json_t *stats = restt_get(port, "/stats");
    /* Each /stats call counts itself: take them out. */
    got = json_integer_value(json_object_get(stats, "requests")) - base - i;
    json_decref(stats);
  }
  cr_assert_eq(got, 20, "all 20 requests reached the server");
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_eq(tproc_count(p.out, "\n"), 0, "no record from a cancelled round");
  tproc_free(&p);
  tmp_discard(cfg);
  free(sources);
}
