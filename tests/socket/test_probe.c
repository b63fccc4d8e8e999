/* probe and request modes end to end: `siphon --once` against small
 * servers on loopback that refuse, stay silent, answer or close. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"
#include "sockt.h"
#include "tmpfile.h"

/* A loopback server on its own thread: for each connection it reads
 * until `wait_for` arrives (if set), writes `reply`, then closes the
 * connection unless keep_open. Bounded: it stops after 5 s idle or
 * when told. */
typedef struct server {
  int fd;
  int port;
  const char *wait_for;
  const char *reply;
  int keep_open;
  int accept_calls; /* 0: never accept (the kernel's backlog completes handshakes) */
  volatile int stop;
  pthread_t thread;
  int served;
} server;

static void *serve(void *arg) {
  server *s = arg;
  int kept[16];
  int nkept = 0;
  for (int idle = 0; idle < 100 && !s->stop;) {
    struct pollfd pfd = {s->fd, POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0) {
      idle++;
      continue;
    }
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) {
      continue;
    }
    sockt_serve_one(c, s->wait_for, s->reply);
    s->served++;
    if (s->keep_open && nkept < 16) {
      kept[nkept++] = c;
    } else {
      close(c);
    }
  }
  for (int i = 0; i < nkept; i++) {
    close(kept[i]);
  }
  return NULL;
}

static void server_start(server *s) {
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
  cr_assert_eq(listen(s->fd, 512), 0);
  socklen_t len = sizeof(a);
  getsockname(s->fd, (struct sockaddr *)&a, &len);
  s->port = ntohs(a.sin_port);
  if (s->accept_calls) {
    pthread_create(&s->thread, NULL, serve, s);
  }
}

static void server_stop(server *s) {
  s->stop = 1;
  if (s->accept_calls) {
    pthread_join(s->thread, NULL);
  }
  close(s->fd);
}

/* Runs `siphon --once` with one socket source; returns its records. */
static json_t *once(tproc *p, int want_exit, const char *extra, const char *options_fmt, ...)
    __attribute__((format(printf, 4, 5)));

static json_t *once(tproc *p, int want_exit, const char *extra, const char *options_fmt, ...) {
  char opts[2048];
  va_list ap;
  va_start(ap, options_fmt);
  vsnprintf(opts, sizeof(opts), options_fmt, ap);
  va_end(ap);
  char *cfg = sockt_config(extra, "%s", opts);
  int st = tproc_siphon(p, 20000, "--once", "-c", cfg, NULL);
  cr_assert_eq(st, want_exit, "exit %d, stderr: %s", st, p->err);
  free(cfg);
  return sockt_records(p->out);
}

static json_t *data0(json_t *recs) {
  cr_assert_eq(json_array_size(recs), 1, "expected one record, got %zu", json_array_size(recs));
  return json_object_get(json_array_get(recs, 0), "data");
}

static const char *str(json_t *d, const char *key) {
  return json_string_value(json_object_get(d, key));
}

Test(probe, closed_port_is_a_record_not_a_failed_round) {
  int port = tnet_free_port(SOCK_STREAM);
  tproc p;
  json_t *recs = once(&p, 0, "\"timeout\": \"2s\", ",
                      "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\"}", port);
  json_t *d = data0(recs);
  cr_assert_str_eq(str(d, "result"), "connection_failed");
  cr_assert(json_is_false(json_object_get(d, "connected")));
  cr_assert_str_eq(str(d, "error"), "connection refused");
  cr_assert(json_is_null(json_object_get(d, "connect_ms")));
  cr_assert(json_is_number(json_object_get(d, "total_ms")));
  char addr[64];
  snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
  cr_assert_str_eq(str(d, "address"), addr);
  json_decref(recs);
  tproc_free(&p);
}

Test(probe, plain_connect_succeeds) {
  server s = {.accept_calls = 0};
  server_start(&s);
  tproc p;
  json_t *recs =
      once(&p, 0, "", "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\"}", s.port);
  json_t *d = data0(recs);
  cr_assert_str_eq(str(d, "result"), "success");
  cr_assert(json_is_true(json_object_get(d, "connected")));
  cr_assert(json_is_null(json_object_get(d, "error")));
  cr_assert_geq(json_number_value(json_object_get(d, "connect_ms")), 0.0);
  cr_assert(json_is_null(json_object_get(d, "matched")));
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(probe, accepting_but_silent_port_times_out_within_the_timeout) {
  server s = {.accept_calls = 0}; /* handshakes complete, nobody answers */
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "\"interval\": \"10s\", \"timeout\": \"1s\", ",
                      "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"send\": \"PING\\n\", \"expect\": \"PONG\"}",
                      s.port);
  json_t *d = data0(recs);
  cr_assert_str_eq(str(d, "result"), "timeout");
  cr_assert(json_is_true(json_object_get(d, "connected")));
  cr_assert(json_is_false(json_object_get(d, "matched")));
  /* The connect worked: the error says it was the reply that was late. */
  cr_assert_str_eq(str(d, "error"),
                   "connected, but the reply did not contain \"PONG\" in time (0 bytes read)");
  double total = json_number_value(json_object_get(d, "total_ms"));
  /* It gives up 5% before the source's timeout, to still report. */
  cr_assert(total >= 800.0 && total < 1000.0, "total_ms %f", total);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(probe, a_long_expect_in_the_timeout_message_stays_valid_text) {
  /* Cut at 200 bytes, which falls inside the "é": the record's error
   * must stay a JSON string. */
  server s = {.accept_calls = 0};
  server_start(&s);
  tproc p;
  char expect[256];
  memset(expect, 'a', 199);
  memcpy(expect + 199, "\xc3\xa9", 3);
  json_t *recs = once(&p, 0, "\"interval\": \"10s\", \"timeout\": \"500ms\", ",
                      "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\", \"expect\": "
                      "\"%s\"}",
                      s.port, expect);
  json_t *d = data0(recs);
  cr_assert_str_eq(str(d, "result"), "timeout");
  const char *error = str(d, "error");
  cr_assert_not_null(error, "the error is kept");
  cr_assert(strstr(error, "aaaa...\" in time (0 bytes read)") != NULL, "%s", error);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(probe, expected_reply_matches) {
  server s = {.accept_calls = 1, .wait_for = "PING\r\n", .reply = "+PONG\r\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "",
                      "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"send\": \"PING\\r\\n\", \"expect\": \"PONG\"}",
                      s.port);
  json_t *d = data0(recs);
  cr_assert_str_eq(str(d, "result"), "success");
  cr_assert(json_is_true(json_object_get(d, "matched")));
  cr_assert_leq(json_number_value(json_object_get(d, "connect_ms")),
                json_number_value(json_object_get(d, "total_ms")));
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
  cr_assert_eq(s.served, 1);
}

Test(probe, unexpected_reply_is_a_mismatch) {
  server s = {.accept_calls = 1, .reply = "220 hello from smtp\r\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "",
                      "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"expect\": \"SSH-2.0\"}",
                      s.port);
  json_t *d = data0(recs);
  cr_assert_str_eq(str(d, "result"), "string_mismatch");
  cr_assert(json_is_false(json_object_get(d, "matched")));
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(probe, many_probes_finish_in_one_round) {
  server s = {.accept_calls = 0};
  server_start(&s);
  char sources[200 * 160];
  size_t len = 0;
  int closed = tnet_free_port(SOCK_STREAM);
  for (int i = 0; i < 200; i++) {
    len += (size_t)snprintf(sources + len, sizeof(sources) - len,
                            "%s{\"name\": \"p%d\", \"plugin\": \"socket\", \"timeout\": \"3s\","
                            " \"options\": {\"mode\": \"probe\", \"address\": "
                            "\"tcp://127.0.0.1:%d\"}}",
                            i ? ", " : "", i, i % 2 ? s.port : closed);
  }
  char *cfg =
      tmp_write("siphon.json", "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": [%s]}",
                SIPHON_PLUGIN_DIR, sources);
  tproc p;
  int st = tproc_siphon(&p, 30000, "--once", "-c", cfg, NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(count_lines(p.out), 200);
  cr_assert_eq(tproc_count(p.out, "\"result\":\"success\""), 100);
  cr_assert_eq(tproc_count(p.out, "\"result\":\"connection_failed\""), 100);
  tproc_free(&p);
  free(cfg);
  server_stop(&s);
}

Test(request, reply_until_the_peer_closes_as_lines) {
  server s = {.accept_calls = 1, .wait_for = "status\n", .reply = "uptime 5\r\nload 0.1\nlast"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"send\": \"status\\n\"}",
                      s.port);
  char *joined = sockt_data_join(recs);
  cr_assert_str_eq(joined, "uptime 5|load 0.1|last");
  free(joined);
  /* meta says which target answered, and each record's place. */
  char want[64];
  snprintf(want, sizeof(want), "tcp://127.0.0.1:%d", s.port);
  for (size_t i = 0; i < 3; i++) {
    json_t *meta = json_object_get(json_array_get(recs, i), "meta");
    cr_assert_str_eq(json_string_value(json_object_get(meta, "address")), want);
    cr_assert_eq(json_integer_value(json_object_get(meta, "index")), (json_int_t)i + 1);
  }
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(request, reply_until_a_delimiter_as_json) {
  server s = {.accept_calls = 1,
              .keep_open = 1,
              .reply = "{\"a\": 1}\n{\"b\": 2}\nEND\n{\"after\": true}\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "\"timeout\": \"3s\", ",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"framing\": \"json\", \"until\": \"END\\n\"}",
                      s.port);
  cr_assert_eq(json_array_size(recs), 2, "%s", p.out);
  cr_assert_eq(
      json_integer_value(json_object_get(json_object_get(json_array_get(recs, 1), "data"), "b")),
      2);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(request, peer_closing_before_until_fails_the_round_and_emits_nothing) {
  /* Two whole lines, then the close: without "END\n" they are only the
   * start of a reply, which must not pass for all of it. */
  server s = {.accept_calls = 1, .reply = "{\"a\": 1}\n{\"b\": 2}\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 1, "\"timeout\": \"3s\", ",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"framing\": \"json\", \"until\": \"END\\n\"}",
                      s.port);
  cr_assert_eq(json_array_size(recs), 0, "%s", p.out);
  cr_assert_not_null(strstr(p.err,
                            "the server closed the connection before \"END\\n\" (`until`) "
                            "arrived, after 18 bytes"),
                     "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(request, lines_that_are_not_json_are_said_once_a_reply) {
  /* An HTTP answer to a JSON request: one warning for the reply, with the
   * count and the first bad line, not one a line every round. */
  server s = {.accept_calls = 1,
              .reply = "HTTP/1.1 400 Bad Request\r\n{\"ok\": 1}\nServer: x\r\n\r\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"framing\": \"json\"}",
                      s.port);
  cr_assert_eq(json_array_size(recs), 1, "%s", p.out);
  cr_expect_eq(tproc_count(p.err, "not JSON"), 1, "%s", p.err);
  cr_expect(strstr(p.err, "2 of 3 reply lines were not JSON, skipped (the first, line 1: ") != NULL,
            "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(request, a_bad_reply_every_round_is_warned_of_ten_times_then_at_debug) {
  /* The same bad reply round after round: warned of the first 10 times,
   * as listen mode warns of its first 10 bad lines, then at debug. */
  server s = {.accept_calls = 1,
              .reply = "not json\n{\"ok\": 1}\n[\"a line over max_line_bytes\"]\n"};
  server_start(&s);
  char *cfg = sockt_config("\"interval\": \"100ms\", ",
                           "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                           " \"framing\": \"json\", \"max_line_bytes\": 16}",
                           s.port);
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--log-level", "info", NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  int enough = tproc_wait_stdout_count(&p, "\"ok\":1", 14, 10000);
  tproc_kill(&p, 15);
  int st = tproc_finish(&p, 10000);
  cr_assert(enough, "fewer than 14 rounds: %s", p.err);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_expect_eq(tproc_count(p.err, "1 of 2 reply lines was not JSON"), 10, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "1 reply line over max_line_bytes dropped"), 10, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "; further ones are logged at debug level"), 2, "%s", p.err);
  cr_expect_not_null(strstr(p.err,
                            "(the first, line 1: invalid token); further ones are "
                            "logged at debug level"),
                     "%s", p.err);
  tproc_free(&p);
  free(cfg);
  server_stop(&s);
}

Test(request, json_integer_over_int64_keeps_its_line) {
  server s = {.accept_calls = 1, .reply = "{\"bytes_total\": 18446744073709551615}\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"framing\": \"json\"}",
                      s.port);
  json_t *total = json_object_get(data0(recs), "bytes_total");
  cr_assert(json_is_real(total), "%s", p.out);
  cr_assert_float_eq(json_real_value(total), 18446744073709551615.0, 1e4);
  cr_assert_null(strstr(p.err, "not JSON"), "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(request, refused_connection_fails_the_round) {
  int port = tnet_free_port(SOCK_STREAM);
  tproc p;
  json_t *recs =
      once(&p, 1, "", "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\"}", port);
  cr_assert_eq(json_array_size(recs), 0);
  cr_assert_not_null(strstr(p.err, "connect to tcp://127.0.0.1:"), "%s", p.err);
  cr_assert_not_null(strstr(p.err, "connection refused"), "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
}

Test(request, peer_that_never_closes_times_out_with_advice) {
  server s = {.accept_calls = 1, .keep_open = 1, .reply = "partial\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 1, "\"timeout\": \"500ms\", ",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\"}", s.port);
  cr_assert_eq(json_array_size(recs), 0);
  cr_assert_not_null(strstr(p.err, "set `until`"), "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

/* A unix socket that accepts into its backlog. */
static int unix_listen(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  cr_assert_lt(strlen(path), sizeof(sun.sun_path));
  memcpy(sun.sun_path, path, strlen(path) + 1);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
  cr_assert_eq(listen(fd, 8), 0);
  return fd;
}

Test(probe, host_name_is_resolved_without_blocking_the_loop) {
  server s = {.accept_calls = 0};
  server_start(&s);
  tproc p;
  json_t *recs =
      once(&p, 0, "", "{\"mode\": \"probe\", \"address\": \"tcp://localhost:%d\"}", s.port);
  json_t *d = data0(recs);
  cr_assert_str_eq(str(d, "result"), "success", "%s", p.out);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}

Test(probe, unresolvable_name_is_a_failed_connection) {
  tproc p;
  json_t *recs = once(&p, 0, "\"timeout\": \"1500ms\", ",
                      "{\"mode\": \"probe\", \"address\": \"tcp://no-such-host.invalid:80\"}");
  json_t *d = data0(recs);
  cr_assert(json_is_false(json_object_get(d, "connected")));
  const char *result = str(d, "result");
  /* Without a reachable DNS server the lookup may time out instead. */
  cr_assert(strcmp(result, "connection_failed") == 0 || strcmp(result, "timeout") == 0, "%s",
            result);
  cr_assert(json_is_string(json_object_get(d, "error")));
  json_decref(recs);
  tproc_free(&p);
}

Test(probe, unix_socket_probe_and_missing_path) {
  char *dir = tmp_dir();
  char path[256], missing[256];
  snprintf(path, sizeof(path), "%s/svc.sock", dir);
  snprintf(missing, sizeof(missing), "%s/none.sock", dir);
  int fd = unix_listen(path);
  tproc p;
  json_t *recs = once(&p, 0, "", "{\"mode\": \"probe\", \"address\": \"unix://%s\"}", path);
  cr_assert_str_eq(str(data0(recs), "result"), "success");
  json_decref(recs);
  tproc_free(&p);
  recs = once(&p, 0, "", "{\"mode\": \"probe\", \"address\": \"unix://%s\"}", missing);
  cr_assert_str_eq(str(data0(recs), "result"), "connection_failed");
  cr_assert_str_eq(str(data0(recs), "error"), "no such file or directory");
  json_decref(recs);
  tproc_free(&p);
  close(fd);
  tmp_rmtree(dir);
  free(dir);
}

Test(request, over_a_unix_socket) {
  char *dir = tmp_dir();
  char path[256];
  snprintf(path, sizeof(path), "%s/status.sock", dir);
  int fd = unix_listen(path);
  server s = {.fd = fd, .accept_calls = 1, .wait_for = "?\n", .reply = "{\"ok\": true}\n"};
  pthread_create(&s.thread, NULL, serve, &s);
  tproc p;
  json_t *recs = once(&p, 0, "",
                      "{\"mode\": \"request\", \"address\": \"unix://%s\", \"send\": \"?\\n\","
                      " \"framing\": \"json\"}",
                      path);
  cr_assert(json_is_true(json_object_get(data0(recs), "ok")));
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
  tmp_rmtree(dir);
  free(dir);
}

/* The reply ends at `until`: what the same read carries after it (here
 * 200 bytes, over the limit) does not count against max_reply_bytes, and
 * a reply before it of exactly the limit passes. */
Test(request, bytes_after_until_are_not_the_reply) {
  char reply[512];
  snprintf(reply, sizeof(reply), "{\"a\": 1}\nEND\n%0200d", 0);
  server s = {.accept_calls = 1, .reply = reply, .keep_open = 1};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 0, "",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"framing\": \"json\", \"until\": \"END\\n\", \"max_reply_bytes\": 9}",
                      s.port);
  cr_assert_eq(json_integer_value(json_object_get(data0(recs), "a")), 1, "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
  /* One byte less is too little. */
  server s2 = {.accept_calls = 1, .reply = reply, .keep_open = 1};
  server_start(&s2);
  recs = once(&p, 1, "",
              "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
              " \"framing\": \"json\", \"until\": \"END\\n\", \"max_reply_bytes\": 8}",
              s2.port);
  cr_assert_eq(json_array_size(recs), 0);
  cr_assert_not_null(strstr(p.err, "longer than max_reply_bytes (8)"), "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s2);
}

Test(request, reply_over_max_reply_bytes_fails_the_round) {
  server s = {.accept_calls = 1, .reply = "0123456789\n0123456789\n0123456789\n"};
  server_start(&s);
  tproc p;
  json_t *recs = once(&p, 1, "",
                      "{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\","
                      " \"max_reply_bytes\": 16}",
                      s.port);
  cr_assert_eq(json_array_size(recs), 0);
  cr_assert_not_null(strstr(p.err, "longer than max_reply_bytes (16)"), "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  server_stop(&s);
}
