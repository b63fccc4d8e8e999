/* listen mode end to end: the real siphon binary with a socket source,
 * real clients on loopback, and what a user sees on stdout and stderr. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sockt.h"
#include "tmpfile.h"

static const char *peer_of(json_t *rec) {
  return json_string_value(json_object_get(json_object_get(rec, "meta"), "peer"));
}

Test(listen, tcp_lines_crlf_partial_and_last_line_without_newline) {
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = sockt_connect("127.0.0.1", port);
  char me[64];
  sockt_local_name(fd, me, sizeof(me));
  sockt_sends(fd, "first\r\nsec");
  sockt_sends(fd, "ond\n\nthi");
  cr_assert_eq(sockt_wait_records(&p, 2, 5000), 2, "stdout: %s", p.out);
  sockt_sends(fd, "rd");
  close(fd); /* the last line has no newline: emitted at close */
  cr_assert_eq(sockt_wait_records(&p, 3, 5000), 3, "stdout: %s", p.out);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  char *joined = sockt_data_join(recs);
  cr_assert_str_eq(joined, "first|second|third");
  cr_assert_str_eq(peer_of(json_array_get(recs, 0)), me);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 0), "source")), "s");
  free(joined);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* A client of a TCP listener on `address`, connecting to `host`: its
 * meta.peer is the client's own address as it knows it, and starts with
 * `prefix`. */
static void peer_is_shown_as(const char *address, const char *host, const char *prefix) {
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"%s\"}", address);
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = sockt_connect(host, port);
  char me[64];
  sockt_local_name(fd, me, sizeof(me));
  sockt_sends(fd, "hi\n");
  cr_assert_eq(sockt_wait_records(&p, 1, 5000), 1);
  close(fd);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  cr_assert_str_eq(peer_of(json_array_get(recs, 0)), me);
  cr_assert_eq(strncmp(me, prefix, strlen(prefix)), 0, "%s", me);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* An IPv4 client of a dual-stack listener is shown as IPv4, not as
 * [::ffff:127.0.0.1]:port. */
Test(listen, ipv4_peer_of_a_dual_stack_listener_is_shown_as_ipv4) {
  peer_is_shown_as("tcp://[::]:0", "127.0.0.1", "127.0.0.1:");
}

Test(listen, ipv6_peer_in_brackets) {
  peer_is_shown_as("tcp://[::1]:0", "::1", "[::1]:");
}

Test(listen, lines_split_across_writes_at_every_position) {
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  const char *text = "ab\r\ncd\n";
  size_t n = strlen(text);
  for (size_t cut = 1; cut < n; cut++) {
    int fd = sockt_connect("127.0.0.1", port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockt_send(fd, text, cut);
    usleep(5000);
    sockt_send(fd, text + cut, n - cut);
    cr_assert_eq(sockt_wait_records(&p, 2 * cut, 5000), 2 * cut, "cut %zu: %s", cut, p.out);
    close(fd);
  }
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  char *joined = sockt_data_join(recs);
  cr_assert_str_eq(joined, "ab|cd|ab|cd|ab|cd|ab|cd|ab|cd|ab|cd");
  free(joined);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(listen, over_limit_line_dropped_and_counted) {
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"max_line_bytes\": 16}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = sockt_connect("127.0.0.1", port);
  sockt_sends(fd, "good one\n");
  char big[5000];
  memset(big, 'x', sizeof(big));
  for (int i = 0; i < 4; i++) {
    sockt_send(fd, big, sizeof(big)); /* one 20000-byte line over several reads */
  }
  sockt_sends(fd, "\ngood two\n");
  cr_assert_eq(sockt_wait_records(&p, 2, 5000), 2, "%s", p.out);
  close(fd);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  char *joined = sockt_data_join(recs);
  cr_assert_str_eq(joined, "good one|good two");
  cr_assert_not_null(strstr(p.err, "1 lines over max_line_bytes dropped"), "%s", p.err);
  /* Said when it happens, naming the sender, not only counted at the stop. */
  cr_assert_eq(tproc_count(p.err, "over max_line_bytes (16 bytes): dropped"), 1, "%s", p.err);
  cr_assert_not_null(strstr(p.err, "line from 127.0.0.1:"), "%s", p.err);
  free(joined);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(listen, binary_garbage_and_invalid_utf8_still_valid_records) {
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = sockt_connect("127.0.0.1", port);
  const char garbage[] =
      "\xff\xfe\x00\x01"
      "bin\xc3\x28\n\x80\x81\x82\nok\n";
  sockt_send(fd, garbage, sizeof(garbage) - 1);
  cr_assert_eq(sockt_wait_records(&p, 3, 5000), 3, "%s", p.out);
  close(fd);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out); /* asserts every line is JSON */
  json_t *d0 = json_object_get(json_array_get(recs, 0), "data");
  cr_assert_eq(json_string_length(d0), 3 + 3 + 2 + 3 + 3 + 1);
  cr_assert_eq(memcmp(json_string_value(d0),
                      "\xef\xbf\xbd\xef\xbf\xbd\0\x01"
                      "bin\xef\xbf\xbd(",
                      15),
               0);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 1), "data")),
                   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 2), "data")), "ok");
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(listen, json_framing_skips_and_counts_invalid_lines) {
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"framing\": \"json\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = sockt_connect("127.0.0.1", port);
  sockt_sends(fd, "{\"n\": 1}\nthis is not json\n{\"n\": 2\n[1, 2]\r\n\"\xff\"\n{\"n\": 3}\n");
  cr_assert_eq(sockt_wait_records(&p, 3, 5000), 3, "%s", p.out);
  /* The connection goes on after bad lines. */
  sockt_sends(fd, "4\n");
  cr_assert_eq(sockt_wait_records(&p, 4, 5000), 4, "%s", p.out);
  close(fd);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  cr_assert_eq(
      json_integer_value(json_object_get(json_object_get(json_array_get(recs, 0), "data"), "n")),
      1);
  cr_assert(json_is_array(json_object_get(json_array_get(recs, 1), "data")));
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(recs, 3), "data")), 4);
  cr_assert_not_null(strstr(p.err, "is not JSON"), "%s", p.err);
  cr_assert_not_null(strstr(p.err, "3 invalid JSON lines"), "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(listen, json_integer_over_int64_keeps_its_line) {
  /* A uint64 counter past 2^63-1 is common: the record is kept, with its
   * integers as reals, rather than dropped as "too big integer". */
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"framing\": \"json\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = sockt_connect("127.0.0.1", port);
  sockt_sends(fd, "{\"bytes_total\":18446744073709551615,\"n\":1}\n{\"n\":2}\n");
  cr_assert_eq(sockt_wait_records(&p, 2, 5000), 2, "%s", p.err);
  close(fd);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  json_t *d = json_object_get(json_array_get(recs, 0), "data");
  cr_assert(json_is_real(json_object_get(d, "bytes_total")), "%s", p.out);
  cr_assert_float_eq(json_real_value(json_object_get(d, "bytes_total")), 18446744073709551615.0,
                     1e4);
  cr_assert(json_is_real(json_object_get(d, "n")), "%s", p.out);
  /* Only that line: the next keeps its integers. */
  d = json_object_get(json_array_get(recs, 1), "data");
  cr_assert(json_is_integer(json_object_get(d, "n")), "%s", p.out);
  cr_assert_null(strstr(p.err, "not JSON"), "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

#define CLIENTS 40
#define LINES 250

Test(listen, many_concurrent_clients_lose_nothing) {
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"framing\": \"json\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fds[CLIENTS];
  for (int c = 0; c < CLIENTS; c++) {
    fds[c] = sockt_connect("127.0.0.1", port);
  }
  /* Interleaved: every client has a connection open the whole time. */
  char line[128];
  for (int i = 0; i < LINES; i++) {
    for (int c = 0; c < CLIENTS; c++) {
      snprintf(line, sizeof(line), "{\"c\": %d, \"i\": %d}\n", c, i);
      sockt_sends(fds[c], line);
    }
    if (i % 50 == 0) {
      sockt_pump(&p, 1);
    }
  }
  cr_assert_eq(sockt_wait_records(&p, CLIENTS * LINES, 20000), CLIENTS * LINES);
  for (int c = 0; c < CLIENTS; c++) {
    close(fds[c]);
  }
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  cr_assert_eq(json_array_size(recs), CLIENTS * LINES);
  /* Per client, lines arrive in order and complete. */
  int next[CLIENTS] = {0};
  size_t k;
  json_t *r;
  json_array_foreach(recs, k, r) {
    json_t *d = json_object_get(r, "data");
    int c = (int)json_integer_value(json_object_get(d, "c"));
    int i = (int)json_integer_value(json_object_get(d, "i"));
    cr_assert(c >= 0 && c < CLIENTS);
    cr_assert_eq(i, next[c], "client %d: line %d after %d", c, i, next[c] - 1);
    next[c]++;
  }
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(listen, udp_datagrams_with_several_lines) {
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"udp://127.0.0.1:0\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in from;
  memset(&from, 0, sizeof(from));
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
  struct sockaddr_in to;
  memset(&to, 0, sizeof(to));
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  /* The last line of a datagram needs no newline; lines never run on
   * from one datagram into the next. */
  const char *grams[] = {"one\ntwo\r\nthree", "four\n", "fi", "ve\n"};
  for (size_t i = 0; i < 4; i++) {
    cr_assert_gt(sendto(fd, grams[i], strlen(grams[i]), 0, (struct sockaddr *)&to, sizeof(to)), 0);
  }
  cr_assert_eq(sockt_wait_records(&p, 6, 5000), 6, "%s", p.out);
  char me[64];
  sockt_local_name(fd, me, sizeof(me));
  close(fd);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  char *joined = sockt_data_join(recs);
  cr_assert_str_eq(joined, "one|two|three|four|fi|ve");
  cr_assert_str_eq(peer_of(json_array_get(recs, 0)), me);
  free(joined);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* A socket file as a crashed process leaves it: bound, never unlinked. */
static void make_stale_socket(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
  close(fd);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
}

Test(listen, unix_socket_mode_stale_file_and_removal) {
  char *dir = tmp_dir();
  char path[256];
  snprintf(path, sizeof(path), "%s/in.sock", dir);
  make_stale_socket(path);
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"unix://%s\"}", path);
  tproc p;
  sockt_start(&p, cfg);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0660, "mode %o", st.st_mode & 0777);
  int fd = sockt_connect_unix(path);
  sockt_sends(fd, "over unix\n");
  cr_assert_eq(sockt_wait_records(&p, 1, 5000), 1);
  close(fd);
  sockt_stop(&p);
  json_t *recs = sockt_records(p.out);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 0), "data")),
                   "over unix");
  cr_assert_str_eq(peer_of(json_array_get(recs, 0)), path);
  cr_assert_neq(stat(path, &st), 0, "the socket file is still there after shutdown");
  json_decref(recs);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(listen, unix_path_that_is_a_regular_file_is_left_alone) {
  char *dir = tmp_dir();
  char path[256];
  snprintf(path, sizeof(path), "%s/data.txt", dir);
  cr_assert_eq(tmp_write_at(path, "precious\n"), 0);
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"unix://%s\"}", path);
  tproc p;
  const char *argv[] = {SIPHON_BIN, "-c", cfg, NULL};
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  cr_assert(tproc_wait_stderr(&p, "not a socket", 10000), "%s", p.err);
  tproc_kill(&p, 15);
  tproc_finish(&p, 10000);
  char *kept = tmp_read(path, NULL);
  cr_assert_str_eq(kept, "precious\n");
  free(kept);
  tproc_free(&p);
  /* --check finds it too, rather than the start alone. */
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "sources[0].options.address: ") != NULL &&
                strstr(p.err, "data.txt exists and is not a socket") != NULL,
            "%s", p.err);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(listen, max_connections_refuses_and_counts) {
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"max_connections\": 2}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int a = sockt_connect("127.0.0.1", port);
  int b = sockt_connect("127.0.0.1", port);
  sockt_sends(a, "a\n");
  sockt_sends(b, "b\n");
  cr_assert_eq(sockt_wait_records(&p, 2, 5000), 2);
  int c = sockt_connect("127.0.0.1", port); /* the kernel accepts; siphon closes it */
  cr_assert(sockt_wait_closed(c, 5000), "the third connection was not closed");
  cr_assert(tproc_wait_stderr(&p, "max_connections (2) reached", 5000), "%s", p.err);
  /* Once one leaves, a new client is welcome again. */
  close(a);
  close(c);
  int d = -1;
  for (int i = 0; i < 50 && d < 0; i++) {
    d = sockt_connect("127.0.0.1", port);
    sockt_sends(d, "d\n");
    if (sockt_wait_records(&p, 3, 200) < 3) {
      close(d);
      d = -1;
    }
  }
  cr_assert_geq(d, 0, "no connection accepted after one closed: %s", p.out);
  close(b);
  close(d);
  sockt_stop(&p);
  cr_assert_not_null(strstr(p.err, "connections refused over max_connections"), "%s", p.err);
  cr_assert_null(strstr(p.err, " 0 connections refused"), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* A soft open-files limit under the clients (systemd gives services
 * 1024, under max_connections' default) made libuv's accept() fail with
 * EMFILE and close the waiting connections unread: their lines were lost,
 * and neither a counter nor the log said so. siphon raises the soft limit
 * to the hard one, so every client is read. */
Test(listen, a_low_soft_open_files_limit_loses_no_client) {
  enum { N = 120 };
  struct rlimit was;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &was), 0);
  if (was.rlim_max != RLIM_INFINITY && was.rlim_max < 4 * N) {
    cr_skip_test("the hard open-files limit (%llu) is too low for this test",
                 (unsigned long long)was.rlim_max);
  }
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}");
  tproc p;
  /* siphon inherits a soft limit of 48, this process gets its own back. */
  struct rlimit low = {48, was.rlim_max};
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  int port = sockt_start(&p, cfg);
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &was), 0);
  int fds[N];
  char line[32];
  for (int i = 0; i < N; i++) {
    fds[i] = sockt_connect("127.0.0.1", port);
    snprintf(line, sizeof(line), "c%d\n", i);
    sockt_sends(fds[i], line);
  }
  size_t got = sockt_wait_records(&p, N, 10000);
  for (int i = 0; i < N; i++) {
    close(fds[i]);
  }
  sockt_stop(&p);
  cr_expect_eq(got, N, "%zu of %d clients' lines; stderr:\n%s", got, N, p.err);
  cr_expect_null(strstr(p.err, "open-files limit"), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* When the hard limit itself is under max_connections, nothing can be
 * raised: the listener says so at start. */
Test(listen, an_open_files_limit_under_max_connections_is_warned_of) {
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"max_connections\": 100}");
  char script[4096];
  snprintf(script, sizeof(script), "ulimit -n 64 && exec '%s' -c '%s'", SIPHON_BIN, cfg);
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  /* Expected, not asserted: siphon is stopped whatever it said. */
  int listening = tproc_wait_stderr(&p, "listening on ", 10000);
  int warned =
      listening &&
      tproc_wait_stderr(&p, "max_connections (100) is not below the open-files limit (64", 5000);
  sockt_stop(&p);
  cr_expect(warned, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(listen, max_connections_is_described_as_it_behaves) {
  /* The kernel completes the handshake and siphon closes the connection
   * at once (max_connections_refuses_and_counts): the client sees it
   * connect, then close, never a refusal. --help-plugin and socket.md
   * must say so, not "refused". */
  tproc p;
  int st = tproc_siphon(&p, 10000, "--help-plugin", SIPHON_PLUGIN_DIR "/socket.so", NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  const char *at = strstr(p.out, "max_connections");
  cr_assert_not_null(at, "%s", p.out);
  const char *end = strstr(at, "idle_timeout");
  cr_assert_not_null(end, "%s", p.out);
  char help[512];
  snprintf(help, sizeof(help), "%.*s", (int)(end - at), at);
  cr_assert_not_null(strstr(help, "accepted and closed at once, and counted"), "%s", help);
  cr_assert_null(strstr(help, "refused"), "%s", help);
  tproc_free(&p);
  char *doc = tmp_read(SIPHON_SOURCE_DIR "/docs/plugins/socket.md", NULL);
  cr_assert_not_null(doc);
  const char *row = strstr(doc, "| `max_connections` |");
  cr_assert_not_null(row);
  const char *nl = strchr(row, '\n');
  snprintf(help, sizeof(help), "%.*s", (int)(nl - row), row);
  cr_assert_not_null(strstr(help, "accepted and closed at once, and counted"), "%s", help);
  free(doc);
}

Test(listen, idle_timeout_closes_a_silent_client) {
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"idle_timeout\": \"600ms\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int silent = sockt_connect("127.0.0.1", port);
  cr_assert(sockt_wait_closed(silent, 5000), "a silent client was not closed");
  cr_assert(tproc_wait_stderr(&p, "silent for 600 ms", 5000), "%s", p.err);
  /* A client that talks keeps its connection past the timeout. */
  int talker = sockt_connect("127.0.0.1", port);
  for (int i = 0; i < 12; i++) { /* 1.2 s, twice the timeout */
    sockt_sends(talker, "tick\n");
    usleep(100 * 1000);
  }
  cr_assert_eq(sockt_wait_records(&p, 12, 5000), 12, "%s", p.out);
  cr_assert(sockt_wait_closed(talker, 5000), "the talker was not closed once silent");
  close(silent);
  close(talker);
  sockt_stop(&p);
  cr_assert_not_null(strstr(p.err, "2 idle clients closed"), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(listen, sigterm_with_clients_connected_flushes_everything) {
  char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  enum { N = 10, M = 2000 };
  int fds[N];
  char line[64];
  for (int c = 0; c < N; c++) {
    fds[c] = sockt_connect("127.0.0.1", port);
  }
  for (int i = 0; i < M; i++) {
    for (int c = 0; c < N; c++) {
      snprintf(line, sizeof(line), "client %d line %d\n", c, i);
      sockt_sends(fds[c], line);
    }
    if (i % 100 == 0) {
      sockt_pump(&p, 1);
    }
  }
  for (int c = 0; c < N; c++) {
    sockt_sends(fds[c], "unterminated"); /* a partial line, still buffered */
  }
  /* No waiting: SIGTERM while the data may still be in flight. */
  tproc_kill(&p, 15);
  int st = tproc_finish(&p, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(count_lines(p.out), (size_t)N * (M + 1), "got %zu records of %d; stderr: %s",
               count_lines(p.out), N * (M + 1), p.err);
  cr_assert_eq(tproc_count(p.out, "\"unterminated\""), N);
  for (int c = 0; c < N; c++) {
    close(fds[c]);
  }
  tproc_free(&p);
  free(cfg);
}

/* A client that sends as fast as it can until its connection breaks: a
 * child process, on a connection the test made. */
static pid_t endless_sender(int fd) {
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    static char buf[65536];
    for (size_t i = 0; i + 16 <= sizeof(buf); i += 16) {
      memcpy(buf + i, "endless line 01\n", 16);
    }
    for (;;) {
      ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        _exit(0);
      }
    }
  }
  close(fd);
  return pid;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The stop reads what had arrived when it came, not what clients go on
 * sending: clients that never pause held the stop (and the loop, so a
 * second signal too) until each had sent 256 MiB more. */
Test(listen, sigterm_with_clients_that_never_stop_sending_stops_at_once) {
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"], \"shutdown_grace\": \"2s\",\n"
                        "  \"output\": {\"type\": \"file\", \"path\": \"/dev/null\"}},\n"
                        " \"sources\": [{\"name\": \"s\", \"plugin\": \"socket\", \"options\": "
                        "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}}]}\n",
                        SIPHON_PLUGIN_DIR);
  tproc p;
  int port = sockt_start(&p, cfg);
  enum { N = 3 };
  pid_t senders[N];
  for (int c = 0; c < N; c++) {
    senders[c] = endless_sender(sockt_connect("127.0.0.1", port));
  }
  sockt_pump(&p, 500);
  tproc_kill(&p, 15);
  double t0 = now_ms();
  int st = tproc_finish(&p, 60000);
  double took = now_ms() - t0;
  for (int c = 0; c < N; c++) {
    kill(senders[c], SIGKILL);
    waitpid(senders[c], NULL, 0);
  }
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_lt(took, 4000.0, "the stop took %.0f ms; stderr: %s", took, p.err);
  cr_assert_not_null(strstr(p.err, "stopped after"), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(listen, bad_options_named_with_their_path) {
  const char *cases[][2] = {
      {"{\"mode\": \"listen\", \"address\": \"tcp://localhost:0\"}", "options.address"},
      {"{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\", \"expect\": \"x\"}",
       "options.expect"},
      {"{\"mode\": \"probe\", \"address\": \"udp://127.0.0.1:9\"}", "options.address"},
      {"{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1\"}", "options.address"},
      {"{\"mode\": \"listen\", \"address\": \"unix://relative.sock\"}",
       "options.address: expected an absolute path, as in unix:///run/siphon.sock"},
      {"{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:99999\"}",
       "options.address: expected a port from 0 to 65535 after the host, got \"99999\""},
      {"{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:9\", \"until\": \"\"}",
       "options.until"},
      {"{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\", \"max_line_bytes\": 0}",
       "options.max_line_bytes: expected a size from 1 byte to 64 MiB, got 0"},
      /* Options with a default, set in a mode that never reads them. */
      {"{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:9\", \"idle_timeout\": \"5s\"}",
       "options.idle_timeout: is not used in mode \"probe\""},
      {"{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:9\", \"framing\": \"json\"}",
       "options.framing: is not used in mode \"probe\""},
      {"{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\", \"max_reply_bytes\": \"2MiB\"}",
       "options.max_reply_bytes: is not used in mode \"listen\""},
      {"{\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:9\", \"max_connections\": 5}",
       "options.max_connections: is not used in mode \"request\""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *cfg = sockt_config("", "%s", cases[i][0]);
    tproc p;
    int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
    cr_assert_eq(st, 2, "%s: exit %d: %s", cases[i][0], st, p.err);
    char want[128];
    snprintf(want, sizeof(want), "sources[0].%s", cases[i][1]);
    cr_assert_not_null(strstr(p.err, want), "%s: stderr: %s", cases[i][0], p.err);
    tproc_free(&p);
    free(cfg);
  }
  /* Its default, written out in another mode, is no misplaced option. */
  char *cfg =
      sockt_config("", "%s",
                   "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:9\", "
                   "\"idle_timeout\": 0, \"framing\": \"lines\", \"max_line_bytes\": \"64KiB\"}");
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  tproc_free(&p);
  free(cfg);
}

Test(listen, connection_options_on_a_udp_listener_are_refused_by_check) {
  /* UDP has datagrams, not connections: these would silently do nothing. */
  const char *cases[][2] = {
      {"\"idle_timeout\": \"5s\"",
       "sources[0].options.idle_timeout: is not used by a udp:// listener: UDP has no "
       "connections to close"},
      {"\"max_connections\": 5",
       "sources[0].options.max_connections: is not used by a udp:// listener: UDP has no "
       "connections to limit"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *cfg = sockt_config("", "{\"mode\": \"listen\", \"address\": \"udp://127.0.0.1:0\", %s}",
                             cases[i][0]);
    tproc p;
    int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
    cr_assert_eq(st, 2, "%s: exit %d: %s", cases[i][0], st, p.err);
    cr_assert_not_null(strstr(p.err, cases[i][1]), "%s: stderr: %s", cases[i][0], p.err);
    tproc_free(&p);
    free(cfg);
  }
  /* Their defaults written out, and what a UDP listener does read, pass;
   * so do the same options on a TCP listener. */
  const char *fine[] = {
      "{\"mode\": \"listen\", \"address\": \"udp://127.0.0.1:0\", \"idle_timeout\": 0,"
      " \"max_connections\": 1024, \"framing\": \"json\", \"max_line_bytes\": 100,"
      " \"stats_interval\": \"5s\"}",
      "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\", \"idle_timeout\": \"5s\","
      " \"max_connections\": 5}",
  };
  for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
    char *cfg = sockt_config("", "%s", fine[i]);
    tproc p;
    int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
    cr_assert_eq(st, 0, "%s: exit %d: %s", fine[i], st, p.err);
    tproc_free(&p);
    free(cfg);
  }
}

Test(listen, one_unix_socket_spelled_two_ways_is_a_clash) {
  /* "dir/../dir/z.sock" and "dir/z.sock" are one file: --check says so,
   * where the second used to fail at start blaming another program. */
  char *dir = tmp_dir();
  char *base = strrchr(dir, '/') + 1;
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": ["
                        "{\"name\": \"a\", \"plugin\": \"socket\", \"options\": {\"mode\": "
                        "\"listen\", \"address\": \"unix://%s/../%s/z.sock\"}},"
                        "{\"name\": \"b\", \"plugin\": \"socket\", \"options\": {\"mode\": "
                        "\"listen\", \"address\": \"unix://%s//z.sock\"}}]}",
                        SIPHON_PLUGIN_DIR, dir, base, dir);
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "sources[1].options.address: ") != NULL &&
                strstr(p.err, "clashes with source \"a\"") != NULL,
            "%s", p.err);
  tproc_free(&p);
  tmp_discard(cfg);
  tmp_rmtree(dir);
  free(dir);
}

Test(listen, two_sources_on_one_address_are_refused_by_check) {
  /* Found by --check, naming the first claimant, rather than at start as
   * "address already in use" blamed on another program. The same port
   * over UDP, and port 0, are no conflict. */
  char *cfg =
      tmp_write("siphon.json",
                "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": ["
                "{\"name\": \"one\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://127.0.0.1:5191\"}},"
                "{\"name\": \"udp\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"udp://127.0.0.1:5191\"}},"
                "{\"name\": \"any1\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://127.0.0.1:0\"}},"
                "{\"name\": \"any2\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://127.0.0.1:0\"}},"
                "{\"name\": \"two\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://127.0.0.1:5191\"}},"
                "{\"name\": \"wild\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://0.0.0.0:5192\"}},"
                "{\"name\": \"host\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://127.0.0.1:5192\"}},"
                "{\"name\": \"wild4\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://0.0.0.0:5193\"}},"
                "{\"name\": \"v6host\", \"plugin\": \"socket\", \"options\": {\"mode\": "
                "\"listen\", \"address\": \"tcp://[::1]:5193\"}},"
                "{\"name\": \"v6a\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://[::1]:5194\"}},"
                "{\"name\": \"v6b\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://[0:0:0:0:0:0:0:1]:5194\"}},"
                "{\"name\": \"dual\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://[::]:5195\"}},"
                "{\"name\": \"v4\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\", "
                "\"address\": \"tcp://127.0.0.1:5195\"}},"
                "{\"name\": \"plain4\", \"plugin\": \"socket\", \"options\": {\"mode\": "
                "\"listen\", \"address\": \"tcp://127.0.0.1:5196\"}},"
                "{\"name\": \"mapped\", \"plugin\": \"socket\", \"options\": {\"mode\": "
                "\"listen\", \"address\": \"tcp://[::ffff:127.0.0.1]:5196\"}}]}",
                SIPHON_PLUGIN_DIR);
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err,
                   "sources[4].options.address: tcp://127.0.0.1:5191 clashes with source "
                   "\"one\", which listens on tcp://127.0.0.1:5191") != NULL,
            "%s", p.err);
  /* A wildcard takes the port on every address: the message shows it. */
  cr_assert(strstr(p.err,
                   "sources[6].options.address: tcp://127.0.0.1:5192 clashes with source "
                   "\"wild\", which listens on tcp://0.0.0.0:5192") != NULL,
            "%s", p.err);
  /* One address spelled two ways; "::" takes IPv4's port too, while
   * 0.0.0.0 beside ::1 (sources[8]) is no clash. */
  cr_assert(strstr(p.err,
                   "sources[10].options.address: tcp://[0:0:0:0:0:0:0:1]:5194 clashes "
                   "with source \"v6a\"") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.err,
                   "sources[12].options.address: tcp://127.0.0.1:5195 clashes with "
                   "source \"dual\"") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.err,
                   "sources[14].options.address: tcp://[::ffff:127.0.0.1]:5196 clashes "
                   "with source \"plain4\"") != NULL,
            "an IPv4-mapped address is its IPv4 one: %s", p.err);
  cr_assert(strstr(p.err, "5 errors") != NULL, "only the second claimants: %s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(listen, a_schedule_on_a_listener_is_refused) {
  /* A listener has no rounds: an interval there would silently do nothing. */
  char *cfg = sockt_config("\"interval\": \"1s\", \"jitter\": \"100ms\", ",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}");
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "sources[0].interval: not used: this source streams") != NULL, "%s",
            p.err);
  cr_assert(strstr(p.err, "sources[0].jitter: not used") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(listen, unix_socket_in_a_missing_directory_is_named_by_check) {
  /* bind() itself would say only "permission denied". */
  char *cfg = sockt_config(
      "", "{\"mode\": \"listen\", \"address\": \"unix:///nonexistent-siphon-dir/x.sock\"}");
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err,
                   "sources[0].options.address: the directory /nonexistent-siphon-dir "
                   "does not exist: create it first") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* Reads what the child printed on stderr so far without touching its
 * stdout, which the test leaves unread to fill siphon's output queue. */
static void read_stderr_only(tproc *p, char *buf, size_t size, size_t *len) {
  struct pollfd pfd = {p->err_fd, POLLIN, 0};
  while (*len < size - 1 && poll(&pfd, 1, 0) > 0) {
    ssize_t n = read(p->err_fd, buf + *len, size - 1 - *len);
    if (n <= 0) {
      break;
    }
    *len += (size_t)n;
  }
  buf[*len] = '\0';
}

/* Reads both pipes for up to ms, counting record lines on stdout without
 * keeping them (tens of MB here), and keeping stdout's last bytes. */
typedef struct counted {
  size_t lines;
  char tail[512];
  size_t tail_len;
  char err[65536];
  size_t err_len;
} counted;

static void read_counting(tproc *p, counted *c, int ms) {
  struct pollfd pfd[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
  if (poll(pfd, 2, ms) <= 0) {
    return;
  }
  char buf[65536];
  if (pfd[0].revents & POLLIN) {
    ssize_t n = read(p->out_fd, buf, sizeof(buf));
    for (ssize_t i = 0; i < n; i++) {
      c->lines += buf[i] == '\n';
    }
    if (n >= (ssize_t)sizeof(c->tail)) {
      memcpy(c->tail, buf + n - (ssize_t)sizeof(c->tail), sizeof(c->tail));
      c->tail_len = sizeof(c->tail);
    } else if (n > 0) {
      size_t keep =
          sizeof(c->tail) - (size_t)n < c->tail_len ? sizeof(c->tail) - (size_t)n : c->tail_len;
      memmove(c->tail, c->tail + c->tail_len - keep, keep);
      memcpy(c->tail + keep, buf, (size_t)n);
      c->tail_len = keep + (size_t)n;
    }
  }
  if (pfd[1].revents & POLLIN) {
    /* Keep the first 64 KiB; read (and drop) the rest so that siphon never
     * blocks on a full stderr pipe. */
    ssize_t n = read(p->err_fd, buf, sizeof(buf));
    size_t room = sizeof(c->err) - 1 - c->err_len;
    size_t k = n > 0 ? ((size_t)n < room ? (size_t)n : room) : 0;
    memcpy(c->err + c->err_len, buf, k);
    c->err_len += k;
    c->err[c->err_len] = '\0';
  }
}

Test(listen, backpressure_pauses_reading_and_loses_nothing) {
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"], \"buffer_limit\": 32768},\n"
                        " \"sources\": [{\"name\": \"s\", \"plugin\": \"socket\", \"options\":"
                        " {\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                        " \"idle_timeout\": \"300ms\"}}]}\n",
                        SIPHON_PLUGIN_DIR);
  tproc p;
  int port = sockt_start(&p, cfg);
  size_t before = count_lines(p.out);
  int fd = sockt_connect("127.0.0.1", port);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  enum { TOTAL = 200000 };
  /* Every line, back to back: "line 000000 ....\n". */
  size_t line_len = 45;
  char *all = malloc(TOTAL * line_len + 1);
  for (int i = 0; i < TOTAL; i++) {
    snprintf(all + (size_t)i * line_len, line_len + 1, "line %06d %32s\n", i, "x");
  }
  size_t total = (size_t)TOTAL * line_len, off = 0;
  static counted c;
  memset(&c, 0, sizeof(c));
  /* Phase 1: stdout unread. siphon must pause, stop reading, and the
   * sender must end up blocked by TCP flow control. */
  for (int stalled_ms = 0; off < total && stalled_ms < 500;) {
    ssize_t n = send(fd, all + off, total - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
      stalled_ms = 0;
    } else {
      usleep(10000);
      stalled_ms += 10;
      read_stderr_only(&p, c.err, sizeof(c.err), &c.err_len);
    }
  }
  cr_assert_not_null(strstr(c.err, "pausing sources"), "no pause; stderr: %s", c.err);
  cr_assert_lt(off, total, "the sender never blocked: siphon kept reading while paused");
  /* Paused longer than idle_timeout: a client siphon is not reading from
   * is not idle, and must not be closed. */
  for (int i = 0; i < 10; i++) {
    usleep(100 * 1000);
    read_stderr_only(&p, c.err, sizeof(c.err), &c.err_len);
  }
  cr_assert_null(strstr(c.err, "silent for"), "closed while paused: %s", c.err);
  /* Phase 2: read stdout; siphon resumes and the rest goes through. */
  for (int loops = 0; loops < 100000 && off < total; loops++) {
    ssize_t n = send(fd, all + off, total - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
    } else {
      read_counting(&p, &c, 5);
    }
  }
  free(all);
  cr_assert_eq(off, total);
  close(fd);
  for (int loops = 0; loops < 6000 && before + c.lines < TOTAL; loops++) {
    read_counting(&p, &c, 5);
  }
  cr_assert_eq(before + c.lines, TOTAL);
  c.tail[c.tail_len < sizeof(c.tail) ? c.tail_len : sizeof(c.tail) - 1] = '\0';
  cr_assert_not_null(strstr(c.tail, "\"line 199999 "), "last records: %s", c.tail);
  sockt_stop(&p);
  cr_assert(strstr(c.err, "resuming sources") != NULL || strstr(p.err, "resuming sources") != NULL,
            "%s", c.err);
  tproc_free(&p);
  free(cfg);
}

Test(listen, counters_logged_periodically_at_debug_level) {
  char *cfg = sockt_config("",
                           "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                           " \"framing\": \"json\", \"stats_interval\": \"100ms\"}");
  tproc p;
  int port = sockt_start(&p, cfg);
  int fd = sockt_connect("127.0.0.1", port);
  sockt_sends(fd, "{}\nnope\n");
  cr_assert_eq(sockt_wait_records(&p, 1, 5000), 1);
  cr_assert(tproc_wait_stderr(&p, "1 invalid JSON lines", 5000), "%s", p.err);
  cr_assert(tproc_wait_stderr(&p, "debug [s] counters: 1 records, 1 connections (1 open)", 5000),
            "%s", p.err);
  close(fd);
  sockt_stop(&p);
  tproc_free(&p);
  free(cfg);
}
