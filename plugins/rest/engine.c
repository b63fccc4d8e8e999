/* The engine: one curl multi handle shared by every rest source, driven by
 * the host's libuv loop through curl's socket interface. One uv_poll_t per
 * socket curl asks us to watch, one uv_timer_t for curl's timeouts, and
 * finished transfers collected after every curl_multi_socket_action, the
 * timer's included (transfers that time out finish there). */
#include <errno.h>
#include <stdlib.h>

#include "rest.h"

typedef struct rest_sock rest_sock;

typedef struct rest_done {
  CURL *easy;
  CURLcode result;
} rest_done;

struct rest_engine {
  const siphon_host_api *api;
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  rest_sock *socks; /* every poll handle not yet closing */
  long max_total, max_host;
  long sources; /* rest sources alive: the idle connections worth keeping */
  int closing;
  int pending_closes; /* close callbacks still to come */
  rest_done *done;    /* finished transfers of one action */
  size_t done_cap, done_len;
};

struct rest_sock {
  uv_poll_t poll;
  curl_socket_t fd;
  rest_engine *e;
  rest_sock *prev, *next;
};

static void engine_maybe_free(rest_engine *e) {
  if (e->closing && e->pending_closes == 0) {
    free(e->done);
    free(e);
  }
}

static void on_sock_closed(uv_handle_t *h) {
  rest_sock *k = h->data;
  rest_engine *e = k->e;
  free(k);
  e->pending_closes--;
  engine_maybe_free(e);
}

static void on_timer_closed(uv_handle_t *h) {
  rest_engine *e = h->data;
  e->pending_closes--;
  engine_maybe_free(e);
}

static void sock_close(rest_engine *e, rest_sock *k) {
  if (k->prev != NULL) {
    k->prev->next = k->next;
  } else {
    e->socks = k->next;
  }
  if (k->next != NULL) {
    k->next->prev = k->prev;
  }
  /* uv_close stops watching the fd now, before curl closes it, so a new
   * socket that reuses the number can be watched at once. */
  e->pending_closes++;
  uv_close((uv_handle_t *)&k->poll, on_sock_closed);
}

/* Hands every finished transfer back to its owner. Every message is read
 * before any handle is removed: libcurl 7.88's curl_multi_remove_handle
 * walks the queue of unread messages, so removing while thousands are
 * queued is quadratic (it was half the CPU of a 4,000-source round). A
 * callback may add the next page's transfer; that is safe here. */
static void engine_collect(rest_engine *e) {
  CURLMsg *msg;
  int left = 0;
  size_t n = 0;
  while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) {
      continue;
    }
    if (n == e->done_cap) {
      size_t cap = e->done_cap ? e->done_cap * 2 : 64;
      rest_done *d = realloc(e->done, cap * sizeof(*d));
      if (d == NULL) {
        /* Out of memory: finish what we hold; the rest stay queued for
         * the next action. */
        break;
      }
      e->done = d;
      e->done_cap = cap;
    }
    e->done[n].easy = msg->easy_handle;
    e->done[n].result = msg->data.result;
    n++;
  }
  e->done_len = n;
  for (size_t i = 0; i < e->done_len; i++) {
    CURL *easy = e->done[i].easy;
    CURLcode result = e->done[i].result;
    if (easy == NULL) {
      continue; /* its round was cancelled by an earlier callback */
    }
    rest_job *job = NULL;
    CURLcode grc = curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job);
    CURLMcode mrc = curl_multi_remove_handle(e->multi, easy);
    if (mrc != CURLM_OK) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_remove_handle: %s",
                  curl_multi_strerror(mrc));
    }
    if (grc != CURLE_OK || job == NULL) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: a finished transfer has no owner");
      continue;
    }
    job->cb(job->arg, easy, result);
  }
  e->done_len = 0;
}

static void engine_action(rest_engine *e, curl_socket_t fd, int flags) {
  int running = 0;
  CURLMcode rc = curl_multi_socket_action(e->multi, fd, flags, &running);
  if (rc != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_socket_action: %s",
                curl_multi_strerror(rc));
  }
  engine_collect(e);
}

static void on_timer(uv_timer_t *t) {
  engine_action(t->data, CURL_SOCKET_TIMEOUT, 0);
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
  engine_action(k->e, k->fd, flags);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  rest_engine *e = userp;
  rest_sock *k = socketp;
  if (e->closing) {
    /* curl_multi_cleanup closing cached connections: the polls are
     * already closed. */
    return 0;
  }
  if (what == CURL_POLL_REMOVE) {
    if (k != NULL) {
      sock_close(e, k);
      curl_multi_assign(e->multi, fd, NULL);
    }
    return 0;
  }
  if (k == NULL) {
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
      return -1;
    }
    int rc = uv_poll_init_socket(e->loop, &k->poll, fd);
    if (rc != 0) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: uv_poll_init_socket(%d): %s", (int)fd,
                  uv_strerror(rc));
      free(k);
      return -1;
    }
    k->poll.data = k;
    k->fd = fd;
    k->e = e;
    k->next = e->socks;
    if (e->socks != NULL) {
      e->socks->prev = k;
    }
    e->socks = k;
    CURLMcode mrc = curl_multi_assign(e->multi, fd, k);
    if (mrc != CURLM_OK) {
      sock_close(e, k);
      return -1;
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
    return -1;
  }
  return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  rest_engine *e = userp;
  if (e->closing) {
    return 0;
  }
  if (timeout_ms < 0) {
    return uv_timer_stop(&e->timer) == 0 ? 0 : -1;
  }
  /* Never call curl from here: a 0 ms timer fires on the next loop turn. */
  return uv_timer_start(&e->timer, on_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

int rest_engine_new(const siphon_host_api *api, uv_loop_t *loop, rest_engine **out) {
  rest_engine *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    return -ENOMEM;
  }
  e->api = api;
  e->loop = loop;
  e->multi = curl_multi_init();
  if (e->multi == NULL) {
    free(e);
    return -ENOMEM;
  }
  int rc = uv_timer_init(loop, &e->timer);
  if (rc != 0) {
    curl_multi_cleanup(e->multi);
    free(e);
    return rc;
  }
  e->timer.data = e;
  CURLMcode m = curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  if (m == CURLM_OK) {
    m = curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  }
  if (m == CURLM_OK) {
    m = curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  }
  if (m == CURLM_OK) {
    m = curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  }
  if (m == CURLM_OK) {
    m = curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  }
  if (m != CURLM_OK) {
    api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_setopt: %s", curl_multi_strerror(m));
    e->closing = 1;
    e->pending_closes = 1;
    curl_multi_cleanup(e->multi);
    uv_close((uv_handle_t *)&e->timer, on_timer_closed);
    return -EINVAL;
  }
  *out = e;
  return 0;
}

/* Keep one idle connection per source between rounds (each source has
 * at most one transfer in flight), so that the next round reuses them;
 * libcurl's default (4 per transfer still running) closes most of them as
 * a round drains. max_connections, when set, bounds the cache too. */
static void engine_cache_size(rest_engine *e) {
  long keep = e->max_total > 0 ? e->max_total : e->sources;
  CURLMcode m = curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, keep > 0 ? keep : 1L);
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_WARN, "rest: CURLMOPT_MAXCONNECTS: %s", curl_multi_strerror(m));
  }
}

void rest_engine_source(rest_engine *e, int delta) {
  e->sources += delta;
  engine_cache_size(e);
}

void rest_engine_caps(rest_engine *e, long max_connections, long max_host_connections) {
  if (max_connections > e->max_total) {
    e->max_total = max_connections;
    CURLMcode m = curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, e->max_total);
    engine_cache_size(e);
    if (m != CURLM_OK) {
      e->api->log(NULL, SIPHON_LOG_WARN, "rest: max_connections: %s", curl_multi_strerror(m));
    }
  }
  if (max_host_connections > e->max_host) {
    e->max_host = max_host_connections;
    CURLMcode m = curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, e->max_host);
    if (m != CURLM_OK) {
      e->api->log(NULL, SIPHON_LOG_WARN, "rest: max_host_connections: %s", curl_multi_strerror(m));
    }
  }
}

int rest_engine_add(rest_engine *e, CURL *easy, rest_job *job) {
  if (curl_easy_setopt(easy, CURLOPT_PRIVATE, job) != CURLE_OK) {
    return -EINVAL;
  }
  CURLMcode m = curl_multi_add_handle(e->multi, easy);
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_add_handle: %s", curl_multi_strerror(m));
    return m == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
  }
  return 0;
}

void rest_engine_remove(rest_engine *e, CURL *easy) {
  /* Finished but not yet handed back: forget it, its owner frees it. */
  for (size_t i = 0; i < e->done_len; i++) {
    if (e->done[i].easy == easy) {
      e->done[i].easy = NULL;
    }
  }
  CURLMcode m = curl_multi_remove_handle(e->multi, easy);
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_remove_handle: %s",
                curl_multi_strerror(m));
  }
}

void rest_engine_close(rest_engine *e) {
  e->closing = 1;
  e->pending_closes++;
  uv_close((uv_handle_t *)&e->timer, on_timer_closed);
  while (e->socks != NULL) {
    sock_close(e, e->socks);
  }
  /* The polls no longer watch any fd; now curl may close its sockets. */
  CURLMcode m = curl_multi_cleanup(e->multi);
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_cleanup: %s", curl_multi_strerror(m));
  }
  e->multi = NULL;
}
