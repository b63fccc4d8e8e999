/* Load generator for the socket plugin's listen mode: CONNS TCP
 * connections to HOST:PORT send LINE_BYTES-byte JSON lines as fast as the
 * peer takes them for SECONDS seconds, then finish their last line,
 * half-close, and wait for the peer to close (it has then read every
 * line). Prints how many lines were sent, and the rate up to that point,
 * so the run script can check that siphon received every one.
 *
 *   loadgen HOST PORT CONNS SECONDS [LINE_BYTES]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINES_PER_BUF 655

typedef struct conn {
  int fd;
  size_t off;               /* position in buf */
  unsigned long long bytes; /* sent so far */
} conn;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* LINES_PER_BUF lines of exactly `len` bytes each, newline included. */
static char *make_lines(size_t len, size_t *size_out) {
  size_t size = len * LINES_PER_BUF;
  char *buf = malloc(size + 1);
  for (size_t i = 0; i < LINES_PER_BUF; i++) {
    char *line = buf + i * len;
    int head = snprintf(
        line, len, "{\"seq\":%zu,\"host\":\"bench-01\",\"level\":\"info\",\"msg\":\"", 100000 + i);
    /* pad, then close the string and the object */
    size_t pad = len - (size_t)head - 3;
    memset(line + head, 'x', pad);
    memcpy(line + head + pad, "\"}\n", 3);
  }
  *size_out = size;
  return buf;
}

static int open_conn(const char *host, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "loadgen: %s: expected an IPv4 address\n", host);
    exit(2);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    fprintf(stderr, "loadgen: connect %s:%d: %s\n", host, port, strerror(errno));
    exit(1);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void send_some(conn *c, const char *buf, size_t size, size_t limit) {
  size_t n = size - c->off;
  if (n > limit) {
    n = limit;
  }
  ssize_t k = send(c->fd, buf + c->off, n, MSG_NOSIGNAL);
  if (k > 0) {
    c->bytes += (unsigned long long)k;
    c->off = (c->off + (size_t)k) % size;
  } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
    fprintf(stderr, "loadgen: send: %s\n", strerror(errno));
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: loadgen HOST PORT CONNS SECONDS [LINE_BYTES]\n");
    return 2;
  }
  int port = atoi(argv[2]);
  int nconn = atoi(argv[3]);
  double seconds = atof(argv[4]);
  size_t len = argc > 5 ? (size_t)atoi(argv[5]) : 100;
  if (nconn < 1 || nconn > 10000 || seconds <= 0 || len < 64 || len > 4096) {
    fprintf(stderr, "loadgen: CONNS 1..10000, SECONDS > 0, LINE_BYTES 64..4096\n");
    return 2;
  }
  size_t size;
  char *buf = make_lines(len, &size);
  conn *cs = calloc((size_t)nconn, sizeof(*cs));
  struct pollfd *pfd = calloc((size_t)nconn, sizeof(*pfd));
  for (int i = 0; i < nconn; i++) {
    cs[i].fd = open_conn(argv[1], port);
    pfd[i].fd = cs[i].fd;
    pfd[i].events = POLLOUT;
  }
  double start = now_s();
  double end = start + seconds;
  while (now_s() < end) {
    if (poll(pfd, (nfds_t)nconn, 100) <= 0) {
      continue;
    }
    for (int i = 0; i < nconn; i++) {
      if (pfd[i].revents & POLLOUT) {
        send_some(&cs[i], buf, size, size);
      } else if (pfd[i].revents & (POLLERR | POLLHUP)) {
        fprintf(stderr, "loadgen: connection %d closed by the peer\n", i);
        return 1;
      }
    }
  }
  double sent_at = now_s();
  /* Finish each connection's last line (bounded: 30 s), then half-close. */
  double give_up = sent_at + 30;
  unsigned long long lines = 0;
  for (int i = 0; i < nconn; i++) {
    while (cs[i].bytes % len != 0 && now_s() < give_up) {
      struct pollfd one = {cs[i].fd, POLLOUT, 0};
      if (poll(&one, 1, 100) > 0) {
        send_some(&cs[i], buf, size, len - (size_t)(cs[i].bytes % len));
      }
    }
    if (cs[i].bytes % len != 0) {
      fprintf(stderr, "loadgen: connection %d: could not finish its last line\n", i);
      return 1;
    }
    lines += cs[i].bytes / len;
    shutdown(cs[i].fd, SHUT_WR);
    pfd[i].events = POLLIN;
  }
  /* What send() accepted may still sit in our kernel's send buffer. siphon
   * closes a connection once it has read everything up to our FIN, so its
   * close proves every line arrived; the rate counts until then. */
  int open = nconn;
  give_up = now_s() + 120;
  while (open > 0 && now_s() < give_up) {
    if (poll(pfd, (nfds_t)nconn, 100) <= 0) {
      continue;
    }
    for (int i = 0; i < nconn; i++) {
      if (pfd[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char tmp[512];
        if (recv(pfd[i].fd, tmp, sizeof(tmp), 0) <= 0) {
          close(pfd[i].fd);
          pfd[i].fd = -1;
          open--;
        }
      }
    }
  }
  if (open > 0) {
    fprintf(stderr, "loadgen: %d connections not closed by the peer within 120 s\n", open);
    return 1;
  }
  double done = now_s();
  printf(
      "sent=%llu conns=%d send_seconds=%.3f drained_seconds=%.3f bytes_per_line=%zu "
      "rate=%.0f\n",
      lines, nconn, sent_at - start, done - start, len, (double)lines / (done - start));
  free(buf);
  free(cs);
  free(pfd);
  return 0;
}
