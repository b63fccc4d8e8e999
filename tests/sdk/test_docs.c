/* The examples in docs/PLUGINS.md are real plugins: each ```c block that
 * starts with a file-name comment is extracted, compiled as an author
 * would, and run through the real siphon binary, so the tutorial cannot
 * drift from the ABI. */
#define _GNU_SOURCE /* asprintf */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "proc.h"
#include "sdk_util.h"
#include "tmpfile.h"

#define T_MS 30000

static char *dir; /* where the extracted plugins are built */

__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, f);
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  cr_assert_gt(n, 0);
  return s;
}

/* Writes the block that begins with "```c\n/" "* NAME.c:" to dir/NAME.c
 * and builds dir/NAME.so; returns the .so path. */
static char *build_example(const char *name) {
  char *doc_path = fmt("%s/docs/PLUGINS.md", SIPHON_SOURCE_DIR);
  char *doc = tmp_read(doc_path, NULL);
  cr_assert_not_null(doc, "cannot read %s", doc_path);
  char *start_tag = fmt("```c\n/* %s.c:", name);
  char *start = strstr(doc, start_tag);
  cr_assert_not_null(start, "no example %s.c in %s", name, doc_path);
  start += strlen("```c\n");
  char *end = strstr(start, "\n```\n");
  cr_assert_not_null(end, "example %s.c is not closed", name);
  end[1] = '\0';
  char *src = fmt("%s/%s.c", dir, name);
  cr_assert_eq(tmp_write_at(src, start), 0);

  char *cmd = fmt("cd '%s' && " SIPHON_CC
                  " -shared -fPIC -Wall -Wextra -Werror -I'%s/include' $(" SIPHON_PKG_CONFIG
                  " --cflags libuv jansson) %s.c -o %s.so",
                  dir, SIPHON_SOURCE_DIR, name, name);
  tproc p;
  int st = sdk_sh(&p, cmd, NULL, T_MS);
  cr_assert_eq(st, 0, "%s.c from the docs does not build (%d):\n%s%s", name, st, p.out, p.err);
  tproc_free(&p);
  free(cmd);
  free(src);
  free(start_tag);
  free(doc);
  free(doc_path);
  return fmt("%s/%s.so", dir, name);
}

static void setup(void) {
  dir = tmp_dir();
  cr_assert_not_null(dir);
}

static void teardown(void) {
  tmp_rmtree(dir);
  free(dir);
}

TestSuite(docs, .init = setup, .fini = teardown);

Test(docs, tcpprobe_times_a_connect) {
  char *so = build_example("tcpprobe");
  int port = 0;
  int fd = tnet_listen(16, &port);
  char *opts = fmt("{\"host\": \"127.0.0.1\", \"port\": %d}", port);
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", so, "--options", opts, "--once", NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = sdk_records(p.out);
  cr_assert_eq(json_array_size(recs), 1, "%s", p.out);
  json_t *data = sdk_data(recs, 0);
  cr_assert_str_eq(json_string_value(json_object_get(data, "host")), "127.0.0.1");
  cr_assert_eq(json_integer_value(json_object_get(data, "port")), port);
  cr_assert(json_is_real(json_object_get(data, "connect_ms")), "%s", p.out);
  cr_assert_geq(json_real_value(json_object_get(data, "connect_ms")), 0.0);
  json_decref(recs);
  tproc_free(&p);
  free(opts);

  /* The same port once nobody listens: a failed round, exit 1. */
  close(fd);
  opts = fmt("{\"host\": \"127.0.0.1\", \"port\": %d}", port);
  st = tproc_siphon(&p, T_MS, "--plugin", so, "--options", opts, "--once", NULL);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  char *want = fmt("connect 127.0.0.1 port %d: connection refused", port);
  cr_assert(strstr(p.err, want) != NULL, "expected \"%s\" in %s", want, p.err);
  cr_assert_eq(p.out_len, 0, "%s", p.out);
  free(want);
  tproc_free(&p);
  free(opts);
  free(so);
}

/* Fills the accept queue of a listener that never accepts, so that the
 * kernel drops further SYNs and a new connect hangs: the state a probe of
 * an overloaded server meets. Returns how many clients it took (their fds
 * go to fds), or 0 if connects kept completing. */
static size_t saturate(int port, int *fds, size_t max) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  for (size_t i = 0; i < max; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fds[i], 0);
    cr_assert_eq(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
    (void)connect(fds[i], (struct sockaddr *)&a, sizeof(a));
    struct pollfd pfd = {fds[i], POLLOUT, 0};
    if (poll(&pfd, 1, 200) == 0) {
      return i + 1;
    }
  }
  return 0;
}

Test(docs, tcpprobe_cancel_ends_a_hung_connect_at_the_timeout) {
  char *so = build_example("tcpprobe");
  int port = 0;
  int fd = tnet_listen(0, &port);
  int fds[64];
  size_t n = saturate(port, fds, 64);
  cr_assert_gt(n, 0, "could not fill the accept queue of a listener with backlog 0");
  char *opts = fmt("{\"host\": \"127.0.0.1\", \"port\": %d}", port);
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", so, "--options", opts, "--timeout", "300ms",
                        "--interval", "1s", "--once", NULL);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "timed out after 0.300 s") != NULL, "%s", p.err);
  /* Without cancel() the host would wait out shutdown_grace and then give
   * up on the round; with it the round ends at the timeout. */
  cr_assert(strstr(p.err, "shutdown_grace") == NULL, "cancel() did not end the round: %s", p.err);
  tproc_free(&p);
  for (size_t i = 0; i < n; i++) {
    close(fds[i]);
  }
  close(fd);
  free(opts);
  free(so);
}

Test(docs, tcpprobe_create_errors_name_the_option) {
  char *so = build_example("tcpprobe");
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", so, "--options",
                        "{\"host\": \"127.0.0.1\", \"port\": 70000}", "--once", NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "--options: port: expected a port 1-65535, got 70000") != NULL, "%s",
            p.err);
  tproc_free(&p);
  st = tproc_siphon(&p, T_MS, "--plugin", so, "--options",
                    "{\"host\": \"db.example\", \"port\": 5432}", "--check", NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "--options: host: expected an IP address, got \"db.example\"") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(so);
}

Test(docs, diskfree_reports_each_path) {
  char *so = build_example("diskfree");
  char *opts = fmt("{\"paths\": [\"/\", \"%s\"]}", dir);
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", so, "--options", opts, "--once", NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = sdk_records(p.out);
  cr_assert_eq(json_array_size(recs), 2, "%s", p.out);
  cr_assert_str_eq(json_string_value(json_object_get(sdk_data(recs, 0), "path")), "/");
  cr_assert_str_eq(json_string_value(json_object_get(sdk_data(recs, 1), "path")), dir);
  for (size_t i = 0; i < 2; i++) {
    json_t *d = sdk_data(recs, i);
    double total = json_number_value(json_object_get(d, "total_bytes"));
    double avail = json_number_value(json_object_get(d, "free_bytes"));
    double pct = json_number_value(json_object_get(d, "used_pct"));
    cr_assert_gt(total, 0.0, "%s", p.out);
    cr_assert(avail >= 0.0 && avail <= total, "%s", p.out);
    cr_assert(pct >= 0.0 && pct <= 100.0, "%s", p.out);
  }
  json_decref(recs);
  tproc_free(&p);
  free(opts);
  free(so);
}

Test(docs, diskfree_errors) {
  char *so = build_example("diskfree");
  tproc p;
  /* A path that fails after one that worked: the round fails, and the
   * record already emitted is still written. */
  int st = tproc_siphon(&p, T_MS, "--plugin", so, "--options",
                        "{\"paths\": [\"/\", \"/nonexistent/siphon-docs\"]}", "--once", NULL);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "statvfs /nonexistent/siphon-docs: No such file or directory") != NULL,
            "%s", p.err);
  cr_assert_eq(count_lines(p.out), 1, "%s", p.out);
  tproc_free(&p);

  st = tproc_siphon(&p, T_MS, "--plugin", so, "--options", "{\"paths\": [\"/\", 7]}", "--check",
                    NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "--options: paths[1]: expected a path (a string)") != NULL, "%s", p.err);
  tproc_free(&p);
  free(so);
}

static void send_udp(int port, const char *msg, size_t len) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  cr_assert_eq(sendto(fd, msg, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
  close(fd);
}

Test(docs, udplisten_streams_until_sigterm) {
  char *so = build_example("udplisten");
  int port = tnet_free_port(SOCK_DGRAM);
  char *opts = fmt("{\"port\": %d}", port);
  const char *argv[] = {SIPHON_BIN, "--plugin", so, "--options", opts, NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  int listening = tproc_wait_stderr(&p, "listening on udp", T_MS);
  if (listening) {
    send_udp(port, "one", 3);
    send_udp(port, "\xff\xfe", 2); /* not UTF-8: logged and dropped */
    send_udp(port, "two", 3);
  }
  int got = listening && tproc_wait_stdout(&p, "\"text\":\"two\"", T_MS);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, T_MS);
  cr_assert(listening, "never listened: %s", p.err);
  cr_assert(got, "records did not arrive: %s / %s", p.out, p.err);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = sdk_records(p.out);
  cr_assert_eq(json_array_size(recs), 2, "%s", p.out);
  cr_assert_str_eq(json_string_value(json_object_get(sdk_data(recs, 0), "text")), "one");
  cr_assert_str_eq(json_string_value(json_object_get(sdk_data(recs, 1), "text")), "two");
  cr_assert(strstr(p.err, "dropped a 2-byte datagram that is not UTF-8") != NULL, "%s", p.err);
  json_decref(recs);
  tproc_free(&p);

  /* --check creates and destroys without start(): no handle to close. */
  int cst = tproc_siphon(&p, T_MS, "--plugin", so, "--options", opts, "--check", NULL);
  cr_assert_eq(cst, 0, "exit %d: %s", cst, p.err);
  tproc_free(&p);
  free(opts);
  free(so);
}
