/* The socket plugin under valgrind: one `siphon -c` run with every mode
 * on loopback at once, so that the loop drives TCP, UDP and unix
 * listeners (json and lines framing, invalid JSON, lines split across
 * writes, an idle client closed by idle_timeout, a client still connected
 * with an unterminated line at SIGTERM), probes that succeed, are refused
 * and time out, and requests that read until the peer closes, until a
 * delimiter, or fail on a peer that never answers. The run must end with
 * exit 0, no invalid access and no definite or indirect leak. Not run in
 * the sanitizer build (ctest label no-asan): valgrind and ASan do not
 * mix. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "proc.h"
#include "sockt.h"
#include "tmpfile.h"
#include "valgrind.h"

#define WAIT_MS 60000

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The peers of the probes and requests: listening sockets served by one
 * thread. For each connection it reads until `wait_for` (if set), writes
 * `reply`, then closes, or with keep_open leaves the closing to the
 * client. Every read is bounded (2 s); the thread stops when told. */
typedef struct endpoint {
  int fd;
  const char *wait_for;
  const char *reply;
  int keep_open;
} endpoint;

enum { N_ENDPOINTS = 3, N_KEPT = 64 };

typedef struct peers {
  endpoint ep[N_ENDPOINTS];
  size_t n;
  volatile int stop;
  pthread_t thread;
} peers;

static void *serve(void *arg) {
  peers *ps = arg;
  int kept[N_KEPT];
  size_t nkept = 0, next = 0;
  while (!ps->stop) {
    struct pollfd pfd[N_ENDPOINTS];
    for (size_t i = 0; i < ps->n; i++) {
      pfd[i].fd = ps->ep[i].fd;
      pfd[i].events = POLLIN;
      pfd[i].revents = 0;
    }
    if (poll(pfd, (nfds_t)ps->n, 50) <= 0) {
      continue;
    }
    for (size_t i = 0; i < ps->n; i++) {
      if ((pfd[i].revents & POLLIN) == 0) {
        continue;
      }
      int c = accept(ps->ep[i].fd, NULL, NULL);
      if (c < 0) {
        continue;
      }
      sockt_serve_one(c, ps->ep[i].wait_for, ps->ep[i].reply);
      if (!ps->ep[i].keep_open) {
        close(c);
      } else if (nkept < N_KEPT) {
        kept[nkept++] = c;
      } else { /* the oldest goes; the client closed it long ago */
        close(kept[next]);
        kept[next] = c;
        next = (next + 1) % N_KEPT;
      }
    }
  }
  for (size_t i = 0; i < nkept; i++) {
    close(kept[i]);
  }
  return NULL;
}

static int unix_listen_at(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
  cr_assert_eq(listen(fd, 128), 0);
  return fd;
}

static tproc vg;
#define CHECK(cond, ...) TVG_CHECK(&vg, NULL, cond, __VA_ARGS__)

/* The port a listener with port 0 logged ("[name] listening on
 * tcp://127.0.0.1:PORT"). */
static int listen_port(const char *name) {
  char needle[128];
  snprintf(needle, sizeof(needle), "[%s] listening on ", name);
  CHECK(tproc_wait_stderr(&vg, needle, WAIT_MS), "%s never listened", name);
  long long deadline = now_ms() + 5000;
  while (strchr(strstr(vg.err, needle), '\n') == NULL && now_ms() < deadline) {
    sockt_pump(&vg, 20);
  }
  const char *at = strstr(vg.err, needle);
  const char *nl = strchr(at, '\n');
  CHECK(nl != NULL, "%s: no end of the listening line", name);
  const char *colon = nl;
  while (colon > at && *colon != ':') {
    colon--;
  }
  return atoi(colon + 1);
}

static void wait_count(const char *needle, size_t n, const char *what) {
  CHECK(tproc_wait_stdout_count(&vg, needle, n, WAIT_MS), "fewer than %zu %s (%zu)", n, what,
        tproc_count(vg.out, needle));
}

static void udp_send(int port, const char *s) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in to;
  memset(&to, 0, sizeof(to));
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_gt(sendto(fd, s, strlen(s), 0, (struct sockaddr *)&to, sizeof(to)), 0);
  close(fd);
}

Test(socket_valgrind, every_mode_at_once_and_sigterm_with_clients_are_clean) {
  char *dir = tmp_dir();
  cr_assert_not_null(dir);
  char in_sock[256], req_sock[256];
  snprintf(in_sock, sizeof(in_sock), "%s/in.sock", dir);
  snprintf(req_sock, sizeof(req_sock), "%s/req.sock", dir);

  /* The probes' and requests' peers. `silent` is listening but never
   * accepted: the kernel completes the handshake and nothing answers. */
  peers ps;
  memset(&ps, 0, sizeof(ps));
  int pong_port, status_port, silent_port;
  ps.ep[0] = (endpoint){tnet_listen(128, &pong_port), "PING\n", "+PONG\n", 0};
  ps.ep[1] =
      (endpoint){tnet_listen(128, &status_port), "status\n", "uptime 5\r\nload 0.1\nlast", 0};
  ps.ep[2] = (endpoint){unix_listen_at(req_sock), NULL,
                        "{\"a\": 1}\n{\"b\": [1, 2]}\nEND\n{\"after\": true}\n", 1};
  ps.n = 3;
  int silent_fd = tnet_listen(128, &silent_port);
  int closed_port = tnet_free_port(SOCK_STREAM);
  cr_assert_eq(pthread_create(&ps.thread, NULL, serve, &ps), 0);

  char *cfg = tmp_write(
      "siphon.json",
      "{\"siphon\": {\"plugin_path\": [\"%s\"], \"log_level\": \"debug\",\n"
      "             \"shutdown_grace\": \"2s\"},\n"
      " \"sources\": [\n"
      "  {\"name\": \"tcpj\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\",\n"
      "   \"address\": \"tcp://127.0.0.1:0\", \"framing\": \"json\", \"stats_interval\": "
      "\"200ms\"}},\n"
      "  {\"name\": \"udp\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\",\n"
      "   \"address\": \"udp://127.0.0.1:0\"}},\n"
      "  {\"name\": \"unix\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\",\n"
      "   \"address\": \"unix://%s\", \"idle_timeout\": \"300ms\"}},\n"
      "  {\"name\": \"pong\", \"plugin\": \"socket\", \"interval\": \"200ms\",\n"
      "   \"options\": {\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\",\n"
      "                \"send\": \"PING\\n\", \"expect\": \"+PONG\"}},\n"
      "  {\"name\": \"refused\", \"plugin\": \"socket\", \"interval\": \"200ms\",\n"
      "   \"options\": {\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\"}},\n"
      "  {\"name\": \"silent\", \"plugin\": \"socket\", \"interval\": \"400ms\", \"timeout\": "
      "\"300ms\",\n"
      "   \"options\": {\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:%d\",\n"
      "                \"expect\": \"never\"}},\n"
      "  {\"name\": \"req\", \"plugin\": \"socket\", \"interval\": \"200ms\",\n"
      "   \"options\": {\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\",\n"
      "                \"send\": \"status\\n\"}},\n"
      "  {\"name\": \"requnix\", \"plugin\": \"socket\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"mode\": \"request\", \"address\": \"unix://%s\", \"framing\": "
      "\"json\",\n"
      "                \"until\": \"END\\n\"}},\n"
      "  {\"name\": \"hang\", \"plugin\": \"socket\", \"interval\": \"1s\", \"timeout\": "
      "\"800ms\",\n"
      "   \"options\": {\"mode\": \"request\", \"address\": \"tcp://127.0.0.1:%d\",\n"
      "                \"send\": \"x\\n\"}}\n"
      " ]}\n",
      SIPHON_PLUGIN_DIR, in_sock, pong_port, closed_port, silent_port, status_port, req_sock,
      silent_port);
  cr_assert_not_null(cfg);

  tvg_start(&vg, cfg);

  int tcp_port = listen_port("tcpj");
  int udp_port = listen_port("udp");
  listen_port("unix");

  /* TCP, json framing: whole lines, an invalid one, [1,2,3], a value
   * split across writes, and a last line without its newline. */
  int a = sockt_connect("127.0.0.1", tcp_port);
  sockt_sends(a, "{\"a\":1}\n{\"a\":2}\nnot json\n[1,2,3]\n{\"b\":");
  sockt_pump(&vg, 50);
  sockt_sends(a, "\"split\"}\n{\"last\":true}");
  close(a);
  /* Several clients at once. */
  int many[5];
  for (int i = 0; i < 5; i++) {
    many[i] = sockt_connect("127.0.0.1", tcp_port);
  }
  for (int i = 0; i < 5; i++) {
    char line[64];
    snprintf(line, sizeof(line), "{\"client\":%d}\n", i);
    sockt_sends(many[i], line);
  }
  for (int i = 0; i < 5; i++) {
    close(many[i]);
  }
  /* Stays connected, with an unterminated line, until SIGTERM flushes it. */
  int held = sockt_connect("127.0.0.1", tcp_port);
  sockt_sends(held, "{\"held\":true}");

  /* UDP: several lines per datagram, the last without a newline. */
  udp_send(udp_port, "u1\nu2");
  udp_send(udp_port, "u3\n");

  /* unix: lines, and a silent client that idle_timeout closes. */
  int u = sockt_connect_unix(in_sock);
  sockt_sends(u, "x1\r\nx2\n");
  close(u);
  int idle = sockt_connect_unix(in_sock);

  wait_count("\"source\":\"tcpj\"", 10, "tcpj records");
  CHECK(strstr(vg.out, "\"data\":{\"b\":\"split\"}") != NULL, "the split line is missing");
  CHECK(strstr(vg.err, "is not JSON") != NULL, "the invalid JSON line was not reported");
  wait_count("\"source\":\"udp\"", 3, "udp records");
  wait_count("\"source\":\"unix\"", 2, "unix records");
  CHECK(sockt_wait_closed(idle, WAIT_MS), "idle_timeout never closed the silent unix client");
  close(idle);

  /* Each polled source several rounds, each outcome seen. */
  wait_count("\"result\":\"success\"", 15, "successful probes");
  CHECK(strstr(vg.out, "\"matched\":true") != NULL, "no probe matched +PONG");
  wait_count("\"result\":\"connection_failed\"", 15, "refused probes");
  wait_count("\"result\":\"timeout\"", 5, "timed out probes");
  wait_count("\"data\":\"last\"", 15, "request replies until close");
  wait_count("\"data\":{\"b\":[1,2]}", 12, "request replies until END");
  CHECK(tproc_wait_stderr(&vg, "[hang] collect failed: ", WAIT_MS),
        "the request to a peer that never answers did not fail");
  CHECK(strstr(vg.err, "no end of reply within") != NULL, "hang failed for another reason");
  CHECK(strstr(vg.out, "\"after\"") == NULL, "a request emitted what followed its delimiter");
  /* The counters, logged at debug level every stats_interval. */
  CHECK(tproc_wait_stderr(&vg, "[tcpj] counters: 10 records", WAIT_MS), "no tcpj counters");

  tproc_kill(&vg, SIGTERM);
  int st = tproc_finish(&vg, 120000);
  close(held);
  CHECK(strstr(vg.out, "\"data\":{\"held\":true}") != NULL,
        "the held client's last line was not flushed at SIGTERM");
  CHECK(strstr(vg.err, "[tcpj] stopped: 11 records") != NULL, "tcpj's final counters are off");
  CHECK(strstr(vg.err, "1 idle clients closed") != NULL, "unix's idle client is not counted");
  tvg_assert_clean(&vg, NULL, st);

  ps.stop = 1;
  pthread_join(ps.thread, NULL);
  for (size_t i = 0; i < ps.n; i++) {
    close(ps.ep[i].fd);
  }
  close(silent_fd);
  tproc_free(&vg);
  tmp_rmtree(dir);
  free(dir);
  tmp_discard(cfg);
}
