#include "listen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "framing.h"

typedef union sock_stream_u {
  uv_tcp_t tcp;
  uv_pipe_t pipe;
  uv_stream_t stream;
  uv_handle_t handle;
} sock_stream_u;

typedef struct sock_client {
  struct sock_listener *l;
  sock_stream_u h;
  uv_timer_t idle;
  sock_framer fr;
  json_t *meta; /* {"peer": ...}, shared by every record of the client */
  struct sock_client *prev, *next;
  int open; /* handles not yet closed */
  int closing;
  int reading;
} sock_client;

struct sock_listener {
  sock_instance *inst; /* not used after stop: destroy() may free it */
  const siphon_host_api *api;
  siphon_source *src;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_udp_t udp;
    uv_stream_t stream;
    uv_handle_t handle;
  } srv;
  uv_timer_t stats;
  int open; /* the server and stats handles not yet closed */
  int paused, stopped;
  sock_client *clients;
  size_t active; /* clients not closing */
  size_t live;   /* clients not yet freed */
  /* UDP: each datagram is framed alone; its sender's meta is cached. */
  sock_framer udp_fr;
  json_t *udp_meta;
  struct sockaddr_storage udp_peer;
  /* Counters. */
  uint64_t lines, invalid, refused, accepted, idle_closed, dropped_closed;
  uint64_t dropped_said; /* over-long lines logged so far */
  /* Every read lands here: its lines are emitted before the next read. */
  char rbuf[65536];
};

typedef struct line_ctx {
  sock_listener *l;
  json_t *meta;
} line_ctx;

static void on_line(void *arg, const char *line, size_t len) {
  line_ctx *ctx = arg;
  sock_listener *l = ctx->l;
  json_t *v;
  if (l->inst->framing == SOCK_FRAMING_JSON) {
    json_error_t jerr;
    v = sock_value_json(line, len, &jerr);
    if (v == NULL) {
      l->invalid++;
      /* A flood of bad lines must not flood the log. */
      l->api->log(l->src, l->invalid <= SOCK_WARN_FIRST ? SIPHON_LOG_WARN : SIPHON_LOG_DEBUG,
                  "line from %s is not JSON (%s at column %d): skipped%s",
                  json_string_value(json_object_get(ctx->meta, "peer")), jerr.text, jerr.column,
                  l->invalid == SOCK_WARN_FIRST ? "; further ones are logged at debug level" : "");
      return;
    }
  } else {
    v = sock_value_string(line, len);
    if (v == NULL) {
      return;
    }
  }
  l->lines++;
  l->api->emit(l->src, v, json_incref(ctx->meta));
}

/* Lines dropped for max_line_bytes are said as bad JSON lines are: the
 * first ten at warn, the rest at debug, so a sender's mistake shows
 * without flooding the log. */
static void say_dropped(sock_listener *l, const json_t *meta, uint64_t before, uint64_t after) {
  for (uint64_t i = before; i < after; i++) {
    l->dropped_said++;
    l->api->log(
        l->src, l->dropped_said <= SOCK_WARN_FIRST ? SIPHON_LOG_WARN : SIPHON_LOG_DEBUG,
        "line from %s over max_line_bytes (%zu bytes): dropped%s",
        meta != NULL ? json_string_value(json_object_get(meta, "peer")) : "?",
        l->inst->max_line_bytes,
        l->dropped_said == SOCK_WARN_FIRST ? "; further ones are logged at debug level" : "");
  }
}

static uint64_t dropped_total(const sock_listener *l) {
  uint64_t n = l->dropped_closed + l->udp_fr.dropped;
  for (const sock_client *c = l->clients; c != NULL; c = c->next) {
    n += c->fr.dropped;
  }
  return n;
}

static void log_counters(sock_listener *l, siphon_log_level level, const char *when) {
  l->api->log(l->src, level,
              "%s: %llu records, %llu connections (%zu open), %llu lines over max_line_bytes "
              "dropped, %llu connections refused over max_connections, %llu invalid JSON lines, "
              "%llu idle clients closed",
              when, (unsigned long long)l->lines, (unsigned long long)l->accepted, l->active,
              (unsigned long long)dropped_total(l), (unsigned long long)l->refused,
              (unsigned long long)l->invalid, (unsigned long long)l->idle_closed);
}

static void on_stats(uv_timer_t *t) {
  log_counters(t->data, SIPHON_LOG_DEBUG, "counters");
}

static void maybe_free(sock_listener *l) {
  if (l->open == 0 && l->live == 0) {
    sock_framer_free(&l->udp_fr);
    json_decref(l->udp_meta);
    free(l);
  }
}

static void on_listener_closed(uv_handle_t *h) {
  sock_listener *l = h->data;
  l->open--;
  maybe_free(l);
}

/* --- clients --- */

static void on_client_closed(uv_handle_t *h) {
  sock_client *c = h->data;
  if (--c->open > 0) {
    return;
  }
  sock_listener *l = c->l;
  sock_framer_free(&c->fr);
  json_decref(c->meta);
  free(c);
  l->live--;
  maybe_free(l);
}

static void client_close(sock_client *c) {
  if (c->closing) {
    return;
  }
  sock_listener *l = c->l;
  c->closing = 1;
  line_ctx ctx = {l, c->meta};
  sock_framer_finish(&c->fr, on_line, &ctx);
  l->dropped_closed += c->fr.dropped;
  c->fr.dropped = 0;
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    l->clients = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  l->active--;
  uv_close(&c->h.handle, on_client_closed);
  uv_close((uv_handle_t *)&c->idle, on_client_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  sock_listener *l = ((sock_client *)h->data)->l;
  *buf = uv_buf_init(l->rbuf, sizeof(l->rbuf));
}

static void feed(sock_client *c, const char *data, size_t n) {
  line_ctx ctx = {c->l, c->meta};
  uint64_t before = c->fr.dropped;
  if (sock_framer_feed(&c->fr, data, n, on_line, &ctx) != 0) {
    c->l->api->log(c->l->src, SIPHON_LOG_WARN, "out of memory for a partial line: dropped");
  }
  say_dropped(c->l, c->meta, before, c->fr.dropped);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  sock_client *c = s->data;
  if (nread > 0) {
    if (c->l->inst->idle_timeout_ms > 0) {
      uv_timer_again(&c->idle);
    }
    feed(c, buf->base, (size_t)nread);
  } else if (nread < 0) {
    if (nread != UV_EOF) {
      c->l->api->log(c->l->src, SIPHON_LOG_DEBUG, "client %s: %s",
                     json_string_value(json_object_get(c->meta, "peer")), uv_strerror((int)nread));
    }
    client_close(c);
  }
}

static void on_idle(uv_timer_t *t) {
  sock_client *c = t->data;
  c->l->idle_closed++;
  c->l->api->log(c->l->src, SIPHON_LOG_DEBUG, "client %s silent for %llu ms: closing",
                 json_string_value(json_object_get(c->meta, "peer")),
                 (unsigned long long)c->l->inst->idle_timeout_ms);
  client_close(c);
}

/* A paused listener does not read, so its clients look silent: the idle
 * clock runs only while reading. */
static void idle_start(sock_client *c) {
  uint64_t ms = c->l->inst->idle_timeout_ms;
  if (ms > 0) {
    uv_timer_start(&c->idle, on_idle, ms, ms);
  }
}

static int read_start(sock_client *c) {
  int rc = uv_read_start(&c->h.stream, on_alloc, on_read);
  c->reading = rc == 0;
  return rc;
}

/* "127.0.0.1:5555" or "[::1]:5555". An IPv4 client of a dual-stack
 * listener ("[::]") comes as ::ffff:127.0.0.1, and is shown as the IPv4
 * address it is, as a "0.0.0.0" listener shows it. */
static void format_peer(const struct sockaddr *sa, char *out, size_t size) {
  char ip[64] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET6 &&
      IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    a4.sin_port = a6->sin6_port;
    memcpy(&a4.sin_addr, &a6->sin6_addr.s6_addr[12], 4);
    uv_ip4_name(&a4, ip, sizeof(ip));
    snprintf(out, size, "%s:%d", ip, ntohs(a4.sin_port));
    return;
  }
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    uv_ip4_name(a, ip, sizeof(ip));
    port = ntohs(a->sin_port);
    snprintf(out, size, "%s:%d", ip, port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
    snprintf(out, size, "[%s]:%d", ip, port);
  } else {
    snprintf(out, size, "?");
  }
}

static json_t *client_meta(sock_listener *l, sock_client *c) {
  char peer[128];
  if (l->inst->addr.scheme == SOCK_UNIX) {
    /* Unix clients are mostly unnamed: the socket's path says where. */
    snprintf(peer, sizeof(peer), "%s", l->inst->addr.path);
  } else {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
      format_peer((struct sockaddr *)&ss, peer, sizeof(peer));
    } else {
      snprintf(peer, sizeof(peer), "?");
    }
  }
  return json_pack("{ss}", "peer", peer);
}

static void on_refused_closed(uv_handle_t *h) {
  free(h);
}

/* Accepts and closes at once: leaving it in the backlog would make libuv
 * report the same connection again and again. */
static void refuse(sock_listener *l) {
  sock_stream_u *tmp = malloc(sizeof(*tmp));
  if (tmp == NULL) {
    return;
  }
  int rc = l->inst->addr.scheme == SOCK_UNIX ? uv_pipe_init(l->srv.handle.loop, &tmp->pipe, 0)
                                             : uv_tcp_init(l->srv.handle.loop, &tmp->tcp);
  if (rc != 0) {
    free(tmp);
    return;
  }
  if (uv_accept(&l->srv.stream, &tmp->stream) == 0) {
    l->refused++;
    if (l->refused == 1 || l->refused % 1000 == 0) {
      l->api->log(l->src, SIPHON_LOG_WARN,
                  "max_connections (%zu) reached: refused a connection (%llu so far)",
                  l->inst->max_connections, (unsigned long long)l->refused);
    }
  }
  uv_close(&tmp->handle, on_refused_closed);
}

static void on_connection(uv_stream_t *server, int status) {
  sock_listener *l = server->data;
  if (status != 0) {
    l->api->log(l->src, SIPHON_LOG_WARN, "accept: %s", uv_strerror(status));
    return;
  }
  if (l->active >= l->inst->max_connections) {
    refuse(l);
    return;
  }
  sock_client *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    refuse(l);
    return;
  }
  c->l = l;
  uv_loop_t *loop = server->loop;
  int rc = l->inst->addr.scheme == SOCK_UNIX ? uv_pipe_init(loop, &c->h.pipe, 0)
                                             : uv_tcp_init(loop, &c->h.tcp);
  if (rc != 0) {
    free(c);
    return;
  }
  c->h.handle.data = c;
  uv_timer_init(loop, &c->idle);
  c->idle.data = c;
  c->open = 2;
  sock_framer_init(&c->fr, l->inst->max_line_bytes);
  c->next = l->clients;
  if (l->clients != NULL) {
    l->clients->prev = c;
  }
  l->clients = c;
  l->active++;
  l->live++;
  rc = uv_accept(server, &c->h.stream);
  if (rc != 0) {
    l->api->log(l->src, SIPHON_LOG_WARN, "accept: %s", uv_strerror(rc));
    client_close(c);
    return;
  }
  l->accepted++;
  c->meta = client_meta(l, c);
  if (!l->paused) {
    idle_start(c);
    rc = read_start(c);
    if (rc != 0) {
      l->api->log(l->src, SIPHON_LOG_WARN, "read: %s", uv_strerror(rc));
      client_close(c);
    }
  }
}

/* --- UDP --- */

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  sock_listener *l = h->data;
  *buf = uv_buf_init(l->rbuf, sizeof(l->rbuf));
}

static void udp_datagram(sock_listener *l, const char *data, size_t n, const struct sockaddr *sa) {
  socklen_t salen =
      sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (l->udp_meta == NULL || memcmp(&l->udp_peer, sa, salen) != 0) {
    char peer[128];
    format_peer(sa, peer, sizeof(peer));
    json_decref(l->udp_meta);
    l->udp_meta = json_pack("{ss}", "peer", peer);
    memset(&l->udp_peer, 0, sizeof(l->udp_peer));
    memcpy(&l->udp_peer, sa, salen);
  }
  line_ctx ctx = {l, l->udp_meta};
  uint64_t before = l->udp_fr.dropped;
  sock_framer_feed(&l->udp_fr, data, n, on_line, &ctx);
  sock_framer_finish(&l->udp_fr, on_line, &ctx);
  say_dropped(l, l->udp_meta, before, l->udp_fr.dropped);
}

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags) {
  sock_listener *l = h->data;
  if (nread < 0) {
    l->api->log(l->src, SIPHON_LOG_WARN, "udp receive: %s", uv_strerror((int)nread));
    return;
  }
  if (addr == NULL) {
    return; /* nothing more to read now */
  }
  if (flags & UV_UDP_PARTIAL) {
    l->udp_fr.dropped++;
    char peer[128];
    format_peer(addr, peer, sizeof(peer));
    json_t *meta = json_pack("{ss}", "peer", peer);
    say_dropped(l, meta, l->udp_fr.dropped - 1, l->udp_fr.dropped);
    json_decref(meta);
    return;
  }
  udp_datagram(l, buf->base, (size_t)nread, addr);
}

/* --- starting --- */

static int fail(siphon_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(siphon_error *err, int rc, const char *fmt, ...) {
  snprintf(err->path, sizeof(err->path), "address");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->text, sizeof(err->text), fmt, ap);
  va_end(ap);
  return rc;
}

/* libuv reports a taken TCP port at listen(), UDP's at bind(). */
static const char *in_use(int rc) {
  return rc == UV_EADDRINUSE ? " (another program listens there: stop it, or choose another port)"
                             : "";
}

static int ip_addr(const sock_addr *a, struct sockaddr_storage *ss) {
  if (uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)ss) == 0) {
    return 0;
  }
  return uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)ss);
}

/* A socket file nobody listens on is left over from a crash: replace it.
 * One somebody listens on, or a file that is not a socket, is not ours. */
static int clear_stale(const char *path, siphon_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    return errno == ENOENT ? 0 : fail(err, -errno, "%s: %s", path, strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return fail(err, -EEXIST, "%s exists and is not a socket: remove it or choose another path",
                path);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(err, -errno, "%s: socket: %s", path, strerror(errno));
  }
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
  /* Non-blocking: refused at once when nobody listens. */
  int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
  int e = errno;
  close(fd);
  if (rc != 0 && e == ECONNREFUSED) {
    if (unlink(path) != 0 && errno != ENOENT) {
      return fail(err, -errno, "%s: cannot remove the stale socket: %s", path, strerror(errno));
    }
    return 0;
  }
  return fail(err, -EADDRINUSE, "%s: another process is listening on it", path);
}

static int bind_stream(sock_listener *l, uv_loop_t *loop, siphon_error *err) {
  const sock_addr *a = &l->inst->addr;
  const char *text = l->inst->address;
  int rc;
  if (a->scheme == SOCK_UNIX) {
    char dir[sizeof(a->path)];
    if (sock_unix_dir_missing(a->path, dir, sizeof(dir))) { /* removed since create() */
      return fail(err, -ENOENT, "cannot bind %s: the directory %s does not exist", text, dir);
    }
    rc = clear_stale(a->path, err);
    if (rc != 0) {
      return rc;
    }
    rc = uv_pipe_bind(&l->srv.pipe, a->path);
    if (rc != 0) {
      return fail(err, rc, "cannot bind %s: %s%s", text, uv_strerror(rc), in_use(rc));
    }
    /* Before listen(): nobody can connect while the mode is still the
     * umask's. */
    if (chmod(a->path, 0660) != 0) {
      rc = -errno;
      return fail(err, rc, "cannot chmod 0660 %s: %s", a->path, strerror(errno));
    }
  } else {
    struct sockaddr_storage ss;
    rc = ip_addr(a, &ss);
    if (rc == 0) {
      rc = uv_tcp_bind(&l->srv.tcp, (struct sockaddr *)&ss, 0);
    }
    if (rc != 0) {
      return fail(err, rc, "cannot bind %s: %s%s", text, uv_strerror(rc), in_use(rc));
    }
  }
  rc = uv_listen(&l->srv.stream, 511, on_connection);
  if (rc != 0) {
    return fail(err, rc, "cannot listen on %s: %s%s", text, uv_strerror(rc), in_use(rc));
  }
  return 0;
}

static int bind_udp(sock_listener *l, siphon_error *err) {
  struct sockaddr_storage ss;
  int rc = ip_addr(&l->inst->addr, &ss);
  if (rc == 0) {
    rc = uv_udp_bind(&l->srv.udp, (struct sockaddr *)&ss, 0);
  }
  if (rc == 0) {
    rc = uv_udp_recv_start(&l->srv.udp, on_udp_alloc, on_udp);
  }
  if (rc != 0) {
    return fail(err, rc, "cannot bind %s: %s%s", l->inst->address, uv_strerror(rc), in_use(rc));
  }
  return 0;
}

/* The address actually bound, so that port 0 can be used and found. */
static void log_listening(sock_listener *l) {
  const sock_addr *a = &l->inst->addr;
  if (a->scheme == SOCK_UNIX) {
    l->api->log(l->src, SIPHON_LOG_INFO, "listening on unix://%s", a->path);
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  int rc = a->scheme == SOCK_UDP ? uv_udp_getsockname(&l->srv.udp, (struct sockaddr *)&ss, &len)
                                 : uv_tcp_getsockname(&l->srv.tcp, (struct sockaddr *)&ss, &len);
  char where[128] = "?";
  if (rc == 0) {
    format_peer((struct sockaddr *)&ss, where, sizeof(where));
  }
  l->api->log(l->src, SIPHON_LOG_INFO, "listening on %s://%s", sock_scheme_name(a->scheme), where);
}

/* Past the open-files limit, libuv's accept() gets EMFILE and closes the
 * waiting connections unread, without telling the listener: clients
 * lose what they sent and no counter says so. siphon raises the soft
 * limit to the hard one at start; when even that is below
 * max_connections, say so once, at start, rather than lose in silence. */
static void warn_open_files_limit(sock_listener *l) {
  struct rlimit rl;
  if (l->inst->addr.scheme == SOCK_UDP || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
      rl.rlim_cur == RLIM_INFINITY || (rlim_t)l->inst->max_connections < rl.rlim_cur) {
    return;
  }
  l->api->log(l->src, SIPHON_LOG_WARN,
              "max_connections (%zu) is not below the open-files limit (%llu, RLIMIT_NOFILE): "
              "near that many clients at once, new connections are closed unread and "
              "uncounted; raise the limit (LimitNOFILE= for systemd, ulimit -n) or lower "
              "max_connections",
              l->inst->max_connections, (unsigned long long)rl.rlim_cur);
}

int sock_listen_start(sock_instance *inst, siphon_error *err) {
  sock_listener *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    return -ENOMEM;
  }
  l->inst = inst;
  l->api = inst->api;
  l->src = inst->src;
  sock_framer_init(&l->udp_fr, inst->max_line_bytes);
  uv_loop_t *loop = inst->loop;
  int rc;
  switch (inst->addr.scheme) {
    case SOCK_TCP:
      rc = uv_tcp_init(loop, &l->srv.tcp);
      break;
    case SOCK_UNIX:
      rc = uv_pipe_init(loop, &l->srv.pipe, 0);
      break;
    default:
      rc = uv_udp_init(loop, &l->srv.udp);
      break;
  }
  if (rc != 0) {
    free(l);
    return fail(err, rc, "%s: %s", inst->address, uv_strerror(rc));
  }
  l->srv.handle.data = l;
  uv_timer_init(loop, &l->stats);
  l->stats.data = l;
  l->open = 2;
  rc = inst->addr.scheme == SOCK_UDP ? bind_udp(l, err) : bind_stream(l, loop, err);
  if (rc != 0) {
    l->stopped = 1;
    uv_close(&l->srv.handle, on_listener_closed);
    uv_close((uv_handle_t *)&l->stats, on_listener_closed);
    return rc;
  }
  if (inst->stats_interval_ms > 0) {
    uv_timer_start(&l->stats, on_stats, inst->stats_interval_ms, inst->stats_interval_ms);
  }
  inst->listener = l;
  log_listening(l);
  warn_open_files_limit(l);
  return 0;
}

/* --- pause, resume, stop --- */

void sock_listen_pause(sock_instance *inst) {
  sock_listener *l = inst->listener;
  if (l == NULL || l->paused) {
    return;
  }
  l->paused = 1;
  if (inst->addr.scheme == SOCK_UDP) {
    uv_udp_recv_stop(&l->srv.udp);
    return;
  }
  for (sock_client *c = l->clients; c != NULL; c = c->next) {
    if (c->reading) {
      uv_read_stop(&c->h.stream);
      c->reading = 0;
    }
    uv_timer_stop(&c->idle);
  }
}

void sock_listen_resume(sock_instance *inst) {
  sock_listener *l = inst->listener;
  if (l == NULL || !l->paused) {
    return;
  }
  l->paused = 0;
  if (inst->addr.scheme == SOCK_UDP) {
    uv_udp_recv_start(&l->srv.udp, on_udp_alloc, on_udp);
    return;
  }
  sock_client *next;
  for (sock_client *c = l->clients; c != NULL; c = next) {
    next = c->next; /* client_close unlinks c */
    if (!c->reading && read_start(c) != 0) {
      client_close(c);
      continue;
    }
    idle_start(c);
  }
}

/* What the kernel has already received counts as received: read it
 * without waiting, so that a shutdown loses nothing clients sent. Only
 * what had arrived when the stop came (FIONREAD), not what the client
 * goes on sending meanwhile: a client that never pauses held the stop,
 * and the loop with it (so a second signal too), until it had sent 256
 * MiB more (the old bound, 4,096 reads), each client in turn. */
static void drain_client(sock_client *c) {
  uv_os_fd_t fd;
  if (uv_fileno(&c->h.handle, &fd) != 0) {
    return;
  }
  int queued = 0;
  if (ioctl(fd, FIONREAD, &queued) != 0) {
    return;
  }
  size_t left = queued > 0 ? (size_t)queued : 0;
  while (left > 0) {
    size_t want = left < sizeof(c->l->rbuf) ? left : sizeof(c->l->rbuf);
    ssize_t n = recv(fd, c->l->rbuf, want, MSG_DONTWAIT);
    if (n <= 0) {
      return;
    }
    feed(c, c->l->rbuf, (size_t)n);
    left -= (size_t)n < left ? (size_t)n : left;
  }
}

/* The datagrams queued when the stop came: no more than the receive
 * buffer holds (its payloads come to less than SO_RCVBUF and the one
 * datagram the kernel lets past it), so that a sender that floods on
 * does not hold the stop. */
static void drain_udp(sock_listener *l) {
  uv_os_fd_t fd;
  if (uv_fileno(&l->srv.handle, &fd) != 0) {
    return;
  }
  int rcvbuf = 0;
  socklen_t optlen = sizeof(rcvbuf);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &optlen) != 0 || rcvbuf <= 0) {
    rcvbuf = 1 << 20;
  }
  size_t left = (size_t)rcvbuf + sizeof(l->rbuf);
  for (int i = 0; i < 65536 && left > 0; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    ssize_t n = recvfrom(fd, l->rbuf, sizeof(l->rbuf), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
    if (n < 0) {
      return;
    }
    udp_datagram(l, l->rbuf, (size_t)n, (struct sockaddr *)&ss);
    /* An empty datagram counts too: it took room in the buffer. */
    size_t took = n > 0 ? (size_t)n : 1;
    left -= took < left ? took : left;
  }
}

void sock_listen_stop(sock_instance *inst) {
  sock_listener *l = inst->listener;
  if (l == NULL) {
    return;
  }
  l->stopped = 1;
  if (inst->addr.scheme == SOCK_UDP) {
    uv_udp_recv_stop(&l->srv.udp);
    drain_udp(l);
  }
  while (l->clients != NULL) {
    sock_client *c = l->clients;
    if (c->reading) {
      uv_read_stop(&c->h.stream);
    }
    drain_client(c);
    client_close(c);
  }
  log_counters(l, SIPHON_LOG_INFO, "stopped");
  /* libuv removes a bound unix socket's file when it closes the handle. */
  uv_close(&l->srv.handle, on_listener_closed);
  uv_close((uv_handle_t *)&l->stats, on_listener_closed);
  inst->listener = NULL;
}
