/* Where epoll is missing (engine_epoll.c is the Linux one): one
 * uv_poll_t per socket curl asks the engine to watch, made when curl
 * names the socket and closed at its CURL_POLL_REMOVE: curl is about to
 * close the socket, or parks its connection in the cache, and a parked
 * connection gets a new handle when curl uses it again. A table by fd
 * finds each handle and lets shutdown close every one. Built on Linux too
 * with -DSIPHON_REST_UV_POLL=ON, which CI tests.
 *
 * Why not keep a kept-alive connection's poll across REMOVEs (which would
 * save an allocation and a few epoll_ctl calls per reused request): that
 * needs to know when curl really closes a socket, and libcurl 7.88 skips
 * CURLOPT_CLOSESOCKETFUNCTION for a socket that never connected (fixed in
 * 8.2.0), so a stale handle could outlive its fd and, closed later, take
 * another handle's fd out of the loop's epoll set.
 *
 * Every callback here returns 0: a non-zero return makes libcurl 7.88
 * mark the whole multi handle dead, which would fail every source of the
 * shard from then on. A socket that cannot be watched is logged, and its
 * transfer ends at the source's timeout. */
#include <errno.h>
#include <stdlib.h>

#include "engine.h"

typedef struct rest_sock rest_sock;

struct rest_socks {
  rest_sock **by_fd; /* the poll handle of each socket watched, by fd */
  size_t cap;
};

struct rest_sock {
  uv_poll_t poll;
  curl_socket_t fd;
  rest_engine *e;
  rest_shard *sh; /* whose multi handle to tell of events */
};

static rest_sock *sock_find(rest_engine *e, curl_socket_t fd) {
  rest_socks *t = e->socks;
  return (fd >= 0 && (size_t)fd < t->cap) ? t->by_fd[fd] : NULL;
}

static void on_sock_closed(uv_handle_t *h) {
  rest_sock *k = h->data;
  rest_engine *e = k->e;
  free(k);
  e->pending_closes--;
  rest__engine_maybe_free(e);
}

/* uv_close stops watching the fd now, before curl closes the socket, so
 * a new socket that reuses the number can be watched at once. */
static void sock_close(rest_engine *e, rest_sock *k) {
  e->socks->by_fd[k->fd] = NULL;
  e->pending_closes++;
  uv_close((uv_handle_t *)&k->poll, on_sock_closed);
}

/* A poll handle for fd, entered in the table; NULL (logged) on failure. */
static rest_sock *sock_new(rest_engine *e, curl_socket_t fd) {
  rest_socks *t = e->socks;
  if ((size_t)fd >= t->cap) {
    size_t cap = t->cap ? t->cap : 64;
    while (cap <= (size_t)fd) {
      cap *= 2;
    }
    rest_sock **v = realloc(t->by_fd, cap * sizeof(*v));
    if (v == NULL) {
      return NULL;
    }
    for (size_t i = t->cap; i < cap; i++) {
      v[i] = NULL;
    }
    t->by_fd = v;
    t->cap = cap;
  }
  rest_sock *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    return NULL;
  }
  int rc = uv_poll_init_socket(e->loop, &k->poll, fd);
  if (rc != 0) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: uv_poll_init_socket(%d): %s", (int)fd,
                uv_strerror(rc));
    free(k);
    return NULL;
  }
  k->poll.data = k;
  k->fd = fd;
  k->e = e;
  t->by_fd[fd] = k;
  return k;
}

static void on_poll(uv_poll_t *p, int status, int events) {
  rest_sock *k = p->data;
  int flags = 0;
  if (status < 0) {
    /* libuv stopped the poll on an error (a reset, say): let curl read
     * the socket, so that the round reports the real cause rather than
     * "select/poll returned error". */
    flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
  } else {
    if (events & UV_READABLE) {
      flags |= CURL_CSELECT_IN;
    }
    if (events & UV_WRITABLE) {
      flags |= CURL_CSELECT_OUT;
    }
  }
  rest__shard_action(k->sh, k->fd, flags);
}

int rest__on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  rest_shard *sh = userp;
  rest_engine *e = sh->e;
  rest_sock *k = socketp;
  (void)easy;
  if (e->closing) {
    /* curl_multi_cleanup closing cached connections: the polls are
     * already closed. */
    return 0;
  }
  if (k != NULL && (sock_find(e, fd) != k || k->sh != sh)) {
    /* A handle this shard was given is no longer the one for this fd
     * (its socket was closed without a REMOVE and the number reused):
     * it may be freed, so it is never touched. */
    k = NULL;
    socketp = NULL;
  }
  if (what == CURL_POLL_REMOVE) {
    if (k == NULL) {
      k = sock_find(e, fd);
      k = (k != NULL && k->sh == sh) ? k : NULL;
    }
    if (k != NULL) {
      sock_close(e, k);
      curl_multi_assign(sh->multi, fd, NULL);
    }
    return 0;
  }
  if (k == NULL) {
    rest_sock *stale = sock_find(e, fd);
    if (stale != NULL) {
      /* Its socket was closed without a REMOVE, and this new one has its
       * number: libuv thinks the old one still registered, so start anew
       * (the close's EPOLL_CTL_DEL finds nothing to remove). */
      sock_close(e, stale);
    }
    k = sock_new(e, fd);
    if (k == NULL) {
      return 0;
    }
    k->sh = sh;
    CURLMcode mrc = curl_multi_assign(sh->multi, fd, k);
    if (mrc != CURLM_OK) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_assign: %s", curl_multi_strerror(mrc));
    }
  }
  int events = 0;
  if (what & CURL_POLL_IN) {
    events |= UV_READABLE;
  }
  if (what & CURL_POLL_OUT) {
    events |= UV_WRITABLE;
  }
  int rc = uv_poll_start(&k->poll, events, on_poll);
  if (rc != 0) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: uv_poll_start(%d): %s", (int)fd, uv_strerror(rc));
  }
  return 0;
}

int rest__socks_open(rest_engine *e) {
  e->socks = calloc(1, sizeof(*e->socks));
  return e->socks != NULL ? 0 : -ENOMEM;
}

void rest__socks_close_all(rest_engine *e) {
  rest_socks *t = e->socks;
  if (t == NULL) {
    return;
  }
  for (size_t fd = 0; fd < t->cap; fd++) {
    if (t->by_fd[fd] != NULL) {
      sock_close(e, t->by_fd[fd]);
    }
  }
  free(t->by_fd);
  free(t);
  e->socks = NULL;
}
