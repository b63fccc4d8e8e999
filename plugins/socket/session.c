#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session_impl;

/* One connection attempt: a name may resolve to several addresses (::1
 * and 127.0.0.1 for localhost), tried in turn until one accepts. Each
 * attempt has its own handle, freed in its close callback. */
typedef struct attempt {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_stream_t stream;
    uv_handle_t handle;
  } h;
  uv_connect_t req;
  struct session_impl *s;
} attempt;

typedef struct session_impl {
  sock_session pub; /* first: the caller's handle */
  uv_loop_t *loop;
  const sock_session_ops *ops;
  sock_addr addr;
  attempt *cur; /* the attempt in use, or NULL */
  struct addrinfo *ai_list, *ai_next;
  uv_timer_t timer;
  uv_getaddrinfo_t gai;
  uv_write_t wreq;
  char *send;
  size_t send_len;
  int open;        /* handles not yet closed */
  int gai_pending; /* the resolver still holds gai */
  int ended;
  char rbuf[16384];
} session_impl;

static void maybe_free(session_impl *s) {
  if (s->open == 0 && !s->gai_pending) {
    if (s->ai_list != NULL) {
      uv_freeaddrinfo(s->ai_list);
    }
    free(s->send);
    free(s);
  }
}

static void on_attempt_closed(uv_handle_t *h) {
  attempt *a = h->data;
  session_impl *s = a->s;
  free(a);
  s->open--;
  maybe_free(s);
}

/* Closing a stream completes its pending connect and write with
 * UV_ECANCELED before on_attempt_closed runs, so nothing outlives the
 * memory. */
static void close_attempt(session_impl *s) {
  if (s->cur != NULL) {
    uv_close(&s->cur->h.handle, on_attempt_closed);
    s->cur = NULL;
  }
}

static void on_closed(uv_handle_t *h) {
  session_impl *s = h->data;
  s->open--;
  maybe_free(s);
}

static void end(session_impl *s, int status) {
  if (s->ended) {
    return;
  }
  s->ended = 1;
  s->ops->on_end(&s->pub, status);
  uv_close((uv_handle_t *)&s->timer, on_closed);
  close_attempt(s);
  if (s->gai_pending) {
    uv_cancel((uv_req_t *)&s->gai);
  }
}

void sock_session_abort(sock_session *pub, int status) {
  end((session_impl *)pub, status);
}

double sock_session_elapsed_ms(const sock_session *s) {
  return (double)(uv_hrtime() - s->start_ns) / 1e6;
}

static void on_deadline(uv_timer_t *t) {
  end(t->data, UV_ETIMEDOUT);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  session_impl *s = ((attempt *)h->data)->s;
  *buf = uv_buf_init(s->rbuf, sizeof(s->rbuf));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  session_impl *s = ((attempt *)st->data)->s;
  if (s->ended) {
    return;
  }
  if (nread > 0) {
    if (s->ops->on_data(&s->pub, buf->base, (size_t)nread)) {
      end(s, 0);
    }
  } else if (nread == UV_EOF) {
    s->pub.eof = 1;
    end(s, 0);
  } else if (nread < 0) {
    end(s, (int)nread);
  }
}

static void ready(session_impl *s) {
  s->pub.stage = SOCK_STAGE_READ;
  if (s->ops->on_ready != NULL && s->ops->on_ready(&s->pub)) {
    end(s, 0);
  }
}

static void on_write(uv_write_t *req, int status) {
  session_impl *s = req->data;
  if (s->ended) {
    return;
  }
  if (status != 0) {
    end(s, status);
    return;
  }
  ready(s);
}

static int attempt_start(session_impl *s, const struct sockaddr *sa);

static void on_connect(uv_connect_t *req, int status) {
  attempt *a = req->data;
  session_impl *s = a->s;
  if (s->ended || a != s->cur) {
    return;
  }
  if (status != 0) {
    /* Refused on one address: try the name's next one, if any. */
    while (status != UV_ECANCELED && s->ai_next != NULL) {
      close_attempt(s);
      struct addrinfo *next = s->ai_next;
      s->ai_next = next->ai_next;
      status = attempt_start(s, next->ai_addr);
      if (status == 0) {
        return;
      }
    }
    end(s, status);
    return;
  }
  s->pub.connected = 1;
  s->pub.connect_ns = uv_hrtime() - s->pub.start_ns;
  /* Read from the start: a reply (or a banner) may come before the write
   * completes. */
  int rc = uv_read_start(&a->h.stream, on_alloc, on_read);
  if (rc != 0) {
    end(s, rc);
    return;
  }
  if (s->send_len == 0) {
    ready(s);
    return;
  }
  s->pub.stage = SOCK_STAGE_SEND;
  uv_buf_t b = uv_buf_init(s->send, (unsigned)s->send_len);
  s->wreq.data = s;
  rc = uv_write(&s->wreq, &a->h.stream, &b, 1, on_write);
  if (rc != 0) {
    end(s, rc);
  }
}

/* Starts connecting to sa (TCP), or to the unix path when sa is NULL. */
static int attempt_start(session_impl *s, const struct sockaddr *sa) {
  s->pub.stage = SOCK_STAGE_CONNECT;
  attempt *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    return UV_ENOMEM;
  }
  a->s = s;
  int rc = sa != NULL ? uv_tcp_init(s->loop, &a->h.tcp) : uv_pipe_init(s->loop, &a->h.pipe, 0);
  if (rc != 0) {
    free(a);
    return rc;
  }
  a->h.handle.data = a;
  a->req.data = a;
  s->open++;
  s->cur = a;
  if (sa == NULL) {
    /* Reports failures through on_connect. */
    uv_pipe_connect(&a->req, &a->h.pipe, s->addr.path, on_connect);
    return 0;
  }
  rc = uv_tcp_connect(&a->req, &a->h.tcp, sa, on_connect);
  if (rc != 0) {
    close_attempt(s);
  }
  return rc;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  session_impl *s = req->data;
  s->gai_pending = 0;
  s->ai_list = res;
  if (s->ended) {
    maybe_free(s);
    return;
  }
  if (status != 0) {
    end(s, status);
    return;
  }
  s->ai_next = res->ai_next;
  int rc = attempt_start(s, res->ai_addr);
  while (rc != 0 && s->ai_next != NULL) {
    struct addrinfo *next = s->ai_next;
    s->ai_next = next->ai_next;
    rc = attempt_start(s, next->ai_addr);
  }
  if (rc != 0) {
    end(s, rc);
  }
}

int sock_session_start(sock_session **out, uv_loop_t *loop, const sock_addr *addr, const char *send,
                       size_t send_len, uint64_t deadline_ms, const sock_session_ops *ops,
                       void *data) {
  session_impl *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return -ENOMEM;
  }
  s->pub.data = data;
  s->pub.start_ns = uv_hrtime();
  s->loop = loop;
  s->ops = ops;
  s->addr = *addr;
  if (send_len > 0) {
    s->send = malloc(send_len);
    if (s->send == NULL) {
      free(s);
      return -ENOMEM;
    }
    memcpy(s->send, send, send_len);
    s->send_len = send_len;
  }
  int rc = uv_timer_init(loop, &s->timer);
  if (rc != 0) {
    free(s->send);
    free(s);
    return rc;
  }
  s->timer.data = s;
  s->open = 1;
  uv_timer_start(&s->timer, on_deadline, deadline_ms, 0);

  if (addr->scheme == SOCK_UNIX) {
    rc = attempt_start(s, NULL);
  } else if (addr->numeric) {
    struct sockaddr_storage ss;
    rc = uv_ip4_addr(addr->host, addr->port, (struct sockaddr_in *)&ss);
    if (rc != 0) {
      rc = uv_ip6_addr(addr->host, addr->port, (struct sockaddr_in6 *)&ss);
    }
    if (rc == 0) {
      rc = attempt_start(s, (struct sockaddr *)&ss);
    }
  } else {
    char port[8];
    snprintf(port, sizeof(port), "%d", addr->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    s->gai.data = s;
    rc = uv_getaddrinfo(loop, &s->gai, on_resolved, s->addr.host, port, &hints);
    s->gai_pending = rc == 0;
  }
  if (rc != 0) {
    /* Fails synchronously: on_end is not called. */
    s->ended = 1;
    uv_close((uv_handle_t *)&s->timer, on_closed);
    close_attempt(s);
    return rc;
  }
  *out = &s->pub;
  return 0;
}
