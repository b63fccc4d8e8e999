/* On Linux, curl's sockets are watched through one epoll set of the
 * engine's own, and the loop watches that set through one uv_poll_t.
 *
 * Why not a uv_poll_t per socket: a transfer's handle would be made and
 * closed with the transfer (libcurl 7.88 cannot say when it really closes
 * a kept connection's socket), and each costs uv_poll_init's check of the
 * fd (an epoll ADD and DEL, and an ioctl), an ADD when it starts and a DEL
 * at uv_close: 11.5% of a reused connection's request in a 10,000-source
 * round (docs/bench/rest.md). Here a socket stays in the set, parked,
 * from its CURL_POLL_REMOVE until curl closes it or watches it again, so
 * the same request costs one MOD.
 *
 * Why it is safe when curl closes a parked socket, or closes one without
 * a REMOVE, and its fd number is reused: the set is the engine's alone,
 * so no stale entry can take another handle's fd out of the loop's set;
 * the kernel drops a closed socket from it by itself; and every watch is
 * a MOD that becomes an ADD when the fd is no longer in the set.
 *
 * Every callback here returns 0: a non-zero return makes libcurl 7.88
 * mark the whole multi handle dead. A socket that cannot be watched is
 * logged, and its transfer ends at the source's timeout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "engine.h"

/* Events taken from the set at a time, and times a full batch is taken
 * again in one loop turn; what is left waits for the next turn (the set
 * stays readable). libuv itself reads up to 48 x 1,024 a turn. */
#define REST_EPOLL_BATCH 256
#define REST_EPOLL_ROUNDS 16

typedef struct rest_fdent {
  rest_shard *sh; /* whose socket this fd is; NULL: not in the set */
  int parked;     /* in the set, but curl no longer watches it */
} rest_fdent;

struct rest_socks {
  int epfd;
  uv_poll_t poll;
  rest_fdent *by_fd;
  size_t cap;
  /* The events being handed out: an fd unwatched meanwhile is blanked
   * here, so that a socket that takes its number gets no stale event. */
  struct epoll_event batch[REST_EPOLL_BATCH];
  int batch_len, batch_pos;
};

static int grow(rest_socks *k, curl_socket_t fd) {
  if ((size_t)fd < k->cap) {
    return 0;
  }
  size_t cap = k->cap ? k->cap : 64;
  while (cap <= (size_t)fd) {
    cap *= 2;
  }
  rest_fdent *t = realloc(k->by_fd, cap * sizeof(*t));
  if (t == NULL) {
    return -ENOMEM;
  }
  memset(t + k->cap, 0, (cap - k->cap) * sizeof(*t));
  k->by_fd = t;
  k->cap = cap;
  return 0;
}

/* Blanks the events still to be handed out for fd: they are an earlier
 * socket's, or an earlier owner's. */
static void forget_events(rest_socks *k, curl_socket_t fd) {
  for (int i = k->batch_pos + 1; i < k->batch_len; i++) {
    if (k->batch[i].data.fd == fd) {
      k->batch[i].data.fd = -1;
    }
  }
}

static void unwatch(rest_socks *k, curl_socket_t fd) {
  /* ENOENT or EBADF: the socket is closed already, and out of the set. */
  (void)epoll_ctl(k->epfd, EPOLL_CTL_DEL, fd, NULL);
  if ((size_t)fd < k->cap) {
    k->by_fd[fd].sh = NULL;
    k->by_fd[fd].parked = 0;
  }
  forget_events(k, fd);
}

static void dispatch(rest_socks *k, int n) {
  k->batch_len = n;
  for (k->batch_pos = 0; k->batch_pos < k->batch_len; k->batch_pos++) {
    struct epoll_event *ev = &k->batch[k->batch_pos];
    int fd = ev->data.fd;
    if (fd < 0) {
      continue;
    }
    if ((size_t)fd >= k->cap || k->by_fd[fd].sh == NULL || k->by_fd[fd].parked) {
      /* A parked connection that has news (its server closed it, say),
       * or an fd with no owner (an epoll_ctl that failed half-way): out
       * of the set, or a readable socket would wake every loop turn.
       * curl finds a closed connection when it next looks at it. */
      unwatch(k, fd);
      continue;
    }
    int flags = 0;
    if (ev->events & (EPOLLERR | EPOLLHUP)) {
      /* Let curl read and write the socket, so that the round reports
       * the real cause (a reset, say) rather than a poll error. */
      flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
    } else {
      if (ev->events & EPOLLIN) {
        flags |= CURL_CSELECT_IN;
      }
      if (ev->events & EPOLLOUT) {
        flags |= CURL_CSELECT_OUT;
      }
    }
    rest__shard_action(k->by_fd[fd].sh, fd, flags);
  }
  k->batch_len = 0;
  k->batch_pos = 0;
}

static void on_ready(uv_poll_t *p, int status, int events) {
  rest_engine *e = p->data;
  rest_socks *k = e->socks;
  (void)events;
  if (status < 0) {
    /* libuv has stopped the handle, and every socket is behind it. */
    int rc = uv_poll_start(&k->poll, UV_READABLE, on_ready);
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: polling the engine's epoll set: %s%s%s",
                uv_strerror(status),
                rc == 0 ? "" : "; cannot poll it again: ", rc == 0 ? "" : uv_strerror(rc));
    return;
  }
  for (int round = 0; round < REST_EPOLL_ROUNDS; round++) {
    int n = epoll_wait(k->epfd, k->batch, REST_EPOLL_BATCH, 0);
    if (n < 0) {
      if (errno != EINTR) {
        e->api->log(NULL, SIPHON_LOG_ERROR, "rest: epoll_wait: %s", strerror(errno));
      }
      return;
    }
    dispatch(k, n);
    if (n < REST_EPOLL_BATCH || e->closing) {
      return;
    }
  }
}

int rest__on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  rest_shard *sh = userp;
  rest_engine *e = sh->e;
  rest_socks *k = e->socks;
  (void)easy;
  (void)socketp; /* the table by fd knows more than curl's pointer can */
  if (e->closing || fd < 0) {
    /* curl_multi_cleanup closing cached connections: the set is gone. */
    return 0;
  }
  if (what == CURL_POLL_REMOVE) {
    /* Parked, not taken out: curl is closing the socket (which takes it
     * out of the set) or keeping its connection for a later transfer,
     * which then costs one MOD instead of a DEL now and an ADD then.
     * Only the shard that watches the fd now may park it: another's late
     * REMOVE is for a socket closed before, whose number was reused. */
    if ((size_t)fd < k->cap && k->by_fd[fd].sh == sh) {
      k->by_fd[fd].parked = 1;
      forget_events(k, fd);
    }
    return 0;
  }
  if (grow(k, fd) != 0) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: out of memory watching socket %d", (int)fd);
    return 0;
  }
  rest_fdent *ent = &k->by_fd[fd];
  uint32_t want = 0;
  if (what & CURL_POLL_IN) {
    want |= EPOLLIN;
  }
  if (what & CURL_POLL_OUT) {
    want |= EPOLLOUT;
  }
  /* An fd the table has in the set gets a MOD, any other an ADD. The
   * table may be stale (a parked socket closed since, or curl's entry
   * outliving its socket, and a new socket with the fd's number): the MOD
   * then fails with ENOENT and becomes an ADD, so the events are set
   * again every time, never skipped as unchanged. */
  if (ent->sh != NULL && ent->sh != sh) {
    forget_events(k, fd);
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = want;
  ev.data.fd = fd;
  int op = ent->sh != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  int rc = epoll_ctl(k->epfd, op, fd, &ev);
  if (rc != 0 && op == EPOLL_CTL_ADD && errno == EEXIST) {
    rc = epoll_ctl(k->epfd, EPOLL_CTL_MOD, fd, &ev);
  } else if (rc != 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
    rc = epoll_ctl(k->epfd, EPOLL_CTL_ADD, fd, &ev);
  }
  if (rc != 0) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: epoll_ctl(%d): %s", (int)fd, strerror(errno));
    unwatch(k, fd);
    return 0;
  }
  ent->sh = sh;
  ent->parked = 0;
  return 0;
}

static void free_unused(uv_handle_t *h) {
  free(h->data);
}

int rest__socks_open(rest_engine *e) {
  rest_socks *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    return -ENOMEM;
  }
  k->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (k->epfd < 0) {
    int err = -errno;
    free(k);
    return err;
  }
  int rc = uv_poll_init(e->loop, &k->poll, k->epfd);
  if (rc != 0) {
    close(k->epfd);
    free(k);
    return rc;
  }
  k->poll.data = e;
  rc = uv_poll_start(&k->poll, UV_READABLE, on_ready);
  if (rc != 0) {
    /* Initialised, so closed, and freed in its callback, which must not
     * touch the engine: the caller frees it at once. */
    k->poll.data = k;
    uv_close((uv_handle_t *)&k->poll, free_unused);
    close(k->epfd);
    return rc;
  }
  e->socks = k;
  return 0;
}

static void on_socks_closed(uv_handle_t *h) {
  rest_engine *e = h->data;
  free(e->socks);
  e->socks = NULL;
  e->pending_closes--;
  rest__engine_maybe_free(e);
}

void rest__socks_close_all(rest_engine *e) {
  rest_socks *k = e->socks;
  if (k == NULL) {
    return;
  }
  /* uv_close stops watching the set at once; closing the set then drops
   * every socket from it, before curl closes them. */
  e->pending_closes++;
  uv_close((uv_handle_t *)&k->poll, on_socks_closed);
  close(k->epfd);
  k->epfd = -1;
  free(k->by_fd);
  k->by_fd = NULL;
  k->cap = 0;
}
