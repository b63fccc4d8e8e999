#include "sockt.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tmpfile.h"

char *sockt_config(const char *extra_source, const char *options_fmt, ...) {
  char opts[4096];
  va_list ap;
  va_start(ap, options_fmt);
  vsnprintf(opts, sizeof(opts), options_fmt, ap);
  va_end(ap);
  return tmp_write(
      "siphon.json",
      "{\"siphon\": {\"plugin_path\": [\"%s\"], \"shutdown_grace\": \"2s\"},\n"
      " \"sources\": [{\"name\": \"s\", \"plugin\": \"socket\", %s\"options\": %s}]}\n",
      SIPHON_PLUGIN_DIR, extra_source, opts);
}

int sockt_start(tproc *p, const char *cfg) {
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--log-level", "debug", NULL};
  cr_assert_eq(tproc_start(p, argv, NULL), 0, "cannot start %s", SIPHON_BIN);
  if (!tproc_wait_stderr(p, "listening on ", 10000)) {
    tproc_kill(p, 9);
    tproc_finish(p, 5000);
    cr_assert_fail("siphon never listened; stderr:\n%s", p->err);
    return -1;
  }
  const char *at = strstr(p->err, "listening on ");
  /* Wait for the whole line: the port follows. */
  for (int i = 0; i < 100 && strchr(at, '\n') == NULL; i++) {
    sockt_pump(p, 10);
    at = strstr(p->err, "listening on ");
  }
  if (strncmp(at, "listening on unix://", 20) == 0) {
    return 0;
  }
  const char *nl = strchr(at, '\n');
  const char *colon = nl;
  while (colon > at && *colon != ':') {
    colon--;
  }
  return atoi(colon + 1);
}

void sockt_stop(tproc *p) {
  tproc_kill(p, 15);
  int st = tproc_finish(p, 15000);
  cr_assert_eq(st, 0, "siphon exited %d; stderr:\n%s", st, p->err);
}

static void set_timeouts(int fd) {
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int sockt_connect(const char *host, int port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    len = sizeof(*a4);
  } else {
    cr_assert_eq(inet_pton(AF_INET6, host, &a6->sin6_addr), 1, "bad host %s", host);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    len = sizeof(*a6);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  set_timeouts(fd);
  cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0, "connect %s:%d: %s", host, port,
               strerror(errno));
  return fd;
}

int sockt_connect_unix(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  set_timeouts(fd);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0, "connect %s: %s", path,
               strerror(errno));
  return fd;
}

void sockt_send(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    cr_assert_gt(k, 0, "send: %s", strerror(errno));
    p += k;
    n -= (size_t)k;
  }
}

void sockt_sends(int fd, const char *s) {
  sockt_send(fd, s, strlen(s));
}

int sockt_wait_closed(int fd, int timeout_ms) {
  struct pollfd pfd = {fd, POLLIN, 0};
  char buf[256];
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (poll(&pfd, 1, 50) > 0) {
      ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        return 1;
      }
    }
  }
  return 0;
}

void sockt_local_name(int fd, char *out, size_t size) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  getsockname(fd, (struct sockaddr *)&ss, &len);
  char ip[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
    snprintf(out, size, "[%s]:%d", ip, ntohs(a->sin6_port));
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
    snprintf(out, size, "%s:%d", ip, ntohs(a->sin_port));
  }
}

json_t *sockt_records(const char *out) {
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

void sockt_pump(tproc *p, int ms) {
  tproc_wait_stdout(p, "\n__never__", ms);
}

size_t sockt_wait_records(tproc *p, size_t n, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (count_lines(p->out) >= n) {
      break;
    }
    sockt_pump(p, 20);
  }
  return count_lines(p->out);
}

char *sockt_data_join(json_t *records) {
  size_t cap = 64, len = 0;
  char *s = malloc(cap);
  s[0] = '\0';
  size_t i;
  json_t *r;
  json_array_foreach(records, i, r) {
    const char *d = json_string_value(json_object_get(r, "data"));
    if (d == NULL) {
      d = "<not a string>";
    }
    size_t n = strlen(d) + 2;
    while (len + n >= cap) {
      cap *= 2;
    }
    s = realloc(s, cap);
    len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? "|" : "", d);
  }
  return s;
}

void sockt_serve_one(int c, const char *wait_for, const char *reply) {
  struct timeval tv = {2, 0};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (wait_for != NULL) {
    char buf[1024];
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
      ssize_t n = recv(c, buf + len, sizeof(buf) - 1 - len, 0);
      if (n <= 0) {
        break;
      }
      len += (size_t)n;
      buf[len] = '\0';
      if (strstr(buf, wait_for) != NULL) {
        break;
      }
    }
  }
  if (reply != NULL) {
    send(c, reply, strlen(reply), MSG_NOSIGNAL);
  }
}
