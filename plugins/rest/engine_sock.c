/* One uv_poll_t per socket curl asks the engine to watch, found by fd.
 *
 * Why the engine opens and closes curl's sockets itself: curl says
 * CURL_POLL_REMOVE both when it closes a socket and when it only parks
 * a kept-alive connection in its cache. Closing the poll handle on every
 * REMOVE and making a new one on the next use cost each reused request
 * an allocation and five epoll_ctl/ioctl calls. With curl's sockets
 * opened and closed through CURLOPT_OPENSOCKETFUNCTION and
 * CURLOPT_CLOSESOCKETFUNCTION, the engine knows when a socket really
 * goes: a REMOVE only stops the poll, and the handle lives as long as
 * the socket. Sockets curl opens otherwise (a resolver's socketpair) are
 * closed on REMOVE, as before. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"

struct rest_sock {
  uv_poll_t poll;
  curl_socket_t fd;
  rest_engine *e;
  rest_shard *sh; /* whose multi handle to tell of events */
  int owned;      /* opened by rest__on_open_socket: lives until closed there */
};

static rest_sock *sock_find(rest_engine *e, curl_socket_t fd) {
  return (fd >= 0 && (size_t)fd < e->by_fd_cap) ? e->by_fd[fd] : NULL;
}

static void on_sock_closed(uv_handle_t *h) {
  rest_sock *k = h->data;
  rest_engine *e = k->e;
  free(k);
  e->pending_closes--;
  rest__engine_maybe_free(e);
}

/* uv_close stops watching the fd now, before the socket is closed, so a
 * new socket that reuses the number can be watched at once. */
static void sock_close(rest_engine *e, rest_sock *k) {
  e->by_fd[k->fd] = NULL;
  e->pending_closes++;
  uv_close((uv_handle_t *)&k->poll, on_sock_closed);
}

/* A poll handle for fd, entered in the table; NULL (logged) on failure. */
static rest_sock *sock_new(rest_engine *e, curl_socket_t fd) {
  if ((size_t)fd >= e->by_fd_cap) {
    size_t cap = e->by_fd_cap ? e->by_fd_cap : 64;
    while (cap <= (size_t)fd) {
      cap *= 2;
    }
    rest_sock **t = realloc(e->by_fd, cap * sizeof(*t));
    if (t == NULL) {
      return NULL;
    }
    for (size_t i = e->by_fd_cap; i < cap; i++) {
      t[i] = NULL;
    }
    e->by_fd = t;
    e->by_fd_cap = cap;
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
  e->by_fd[fd] = k;
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

curl_socket_t rest__on_open_socket(void *clientp, curlsocktype purpose,
                                   struct curl_sockaddr *addr) {
  rest_engine *e = clientp;
  (void)purpose;
  int type = addr->socktype;
#ifdef SOCK_CLOEXEC
  /* A plugin that runs a program must not hand it our connections. */
  type |= SOCK_CLOEXEC;
#endif
  curl_socket_t fd = socket(addr->family, type, addr->protocol);
  if (fd == CURL_SOCKET_BAD) {
    return CURL_SOCKET_BAD;
  }
  rest_sock *stale = sock_find(e, fd);
  if (stale != NULL) {
    /* Its socket was closed without rest__on_close_socket: the handle
     * watches nothing now. */
    sock_close(e, stale);
  }
  rest_sock *k = sock_new(e, fd);
  if (k == NULL) {
    close(fd);
    return CURL_SOCKET_BAD;
  }
  k->owned = 1;
  return fd;
}

int rest__on_close_socket(void *clientp, curl_socket_t fd) {
  rest_engine *e = clientp;
  rest_sock *k = sock_find(e, fd);
  if (k != NULL) {
    sock_close(e, k);
  }
  return close(fd) == 0 ? 0 : 1;
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
  if (k == NULL) {
    k = sock_find(e, fd);
  }
  if (what == CURL_POLL_REMOVE) {
    if (k == NULL) {
      return 0;
    }
    if (k->owned) {
      /* Parked in curl's cache, or about to be closed through
       * rest__on_close_socket: stop watching, keep the handle. */
      return uv_poll_stop(&k->poll) == 0 ? 0 : -1;
    }
    sock_close(e, k);
    return 0;
  }
  if (k == NULL) {
    k = sock_new(e, fd);
    if (k == NULL) {
      return -1;
    }
  }
  if (socketp == NULL) {
    CURLMcode mrc = curl_multi_assign(sh->multi, fd, k);
    if (mrc != CURLM_OK) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_assign: %s", curl_multi_strerror(mrc));
      return -1;
    }
  }
  k->sh = sh;
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
    return -1;
  }
  return 0;
}

void rest__socks_close_all(rest_engine *e) {
  for (size_t fd = 0; fd < e->by_fd_cap; fd++) {
    if (e->by_fd[fd] != NULL) {
      sock_close(e, e->by_fd[fd]);
    }
  }
  free(e->by_fd);
  e->by_fd = NULL;
  e->by_fd_cap = 0;
}
