/* The engine: curl multi handles shared by every rest source, driven by
 * the host's libuv loop through curl's socket interface. The sockets curl
 * asks us to watch go into one epoll set of the engine's (engine_epoll.c;
 * a uv_poll_t each elsewhere, engine_sock.c), one uv_timer_t per multi
 * handle serves curl's timeouts, and finished transfers are collected
 * after every curl_multi_socket_action, the timer's included (transfers
 * that time out finish there).
 *
 * Why shards: libcurl 7.88 walks a multi handle's whole connection cache
 * on every curl_multi_remove_handle of a transfer whose connection was
 * kept, and the host's bundle of connections on every new transfer, so
 * one multi handle costs O(N^2) per round at N sources (a warm round of
 * 10,000 took 1.5-2.1 s on one, 0.5 s on shards). Sources are dealt
 * round-robin over shards of at most shard_size sources, each shard its
 * own multi handle; a source stays on its shard, so its connection is
 * still reused round after round. TLS sessions are shared between shards
 * through one share handle; DNS caches are each shard's own.
 *
 * The queue of rounds waiting for their turn is in engine_queue.c.
 * docs/bench/rest.md has the measurements behind the shard size. */
#include <errno.h>
#include <stdlib.h>

#include "engine.h"

/* Sources per multi handle and first transfers started per loop turn;
 * SIPHON_REST_SHARD_SIZE and SIPHON_REST_BATCH override them (for the
 * benchmark that chose them, docs/bench/rest.md). */
#define REST_SHARD_SIZE_DEFAULT 256
#define REST_BATCH_DEFAULT 64

void rest__engine_maybe_free(rest_engine *e) {
  if (!e->closing || e->pending_closes != 0 || e->parsing) {
    return;
  }
  for (size_t i = 0; i < e->n_shards; i++) {
    free(e->shards[i]);
  }
  free(e->shards);
  free(e->done);
  free(e);
}

static void on_timer_closed(uv_handle_t *h) {
  rest_shard *sh = h->data;
  rest_engine *e = sh->e;
  e->pending_closes--;
  rest__engine_maybe_free(e);
}

static void on_idle_closed(uv_handle_t *h) {
  rest_engine *e = h->data;
  e->pending_closes--;
  rest__engine_maybe_free(e);
}

/* Hands every finished transfer of a shard back to its owner. Every
 * message is read before any handle is removed: libcurl 7.88's
 * curl_multi_remove_handle walks the queue of unread messages, so
 * removing while thousands are queued is quadratic (it was half the CPU
 * of a 4,000-source round). A callback may add the next page's transfer;
 * that is safe here. */
static void shard_collect(rest_shard *sh) {
  rest_engine *e = sh->e;
  uint64_t now_ns = uv_hrtime();
  CURLMsg *msg;
  int left = 0;
  size_t n = 0;
  for (;;) {
    /* Room first: a message read is off libcurl's queue. Out of memory,
     * what we hold is finished and the rest stay queued for the next
     * action. */
    if (n == e->done_cap) {
      size_t cap = e->done_cap ? e->done_cap * 2 : 64;
      rest_done *d = realloc(e->done, cap * sizeof(*d));
      if (d == NULL) {
        break;
      }
      e->done = d;
      e->done_cap = cap;
    }
    msg = curl_multi_info_read(sh->multi, &left);
    if (msg == NULL) {
      break;
    }
    if (msg->msg != CURLMSG_DONE) {
      continue;
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
    CURLMcode mrc = curl_multi_remove_handle(sh->multi, easy);
    if (mrc != CURLM_OK) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_remove_handle: %s",
                  curl_multi_strerror(mrc));
    }
    if (grc != CURLE_OK || job == NULL) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: a finished transfer has no owner");
      continue;
    }
    job->done_ns = now_ns;
    job->cb(job->arg, easy, result);
  }
  e->done_len = 0;
}

void rest__shard_action(rest_shard *sh, curl_socket_t fd, int flags) {
  int running = 0;
  CURLMcode rc = curl_multi_socket_action(sh->multi, fd, flags, &running);
  if (rc != CURLM_OK) {
    sh->e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_socket_action: %s",
                    curl_multi_strerror(rc));
  }
  shard_collect(sh);
}

static void on_timer(uv_timer_t *t) {
  rest__shard_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  rest_shard *sh = userp;
  (void)multi;
  if (sh->e->closing) {
    return 0;
  }
  /* Never call curl from here: a 0 ms timer fires on the next loop turn.
   * Neither call fails on a live timer; a non-zero return would make
   * libcurl 7.88 mark the whole multi handle dead. */
  if (timeout_ms < 0) {
    uv_timer_stop(&sh->timer);
  } else {
    uv_timer_start(&sh->timer, on_timer, (uint64_t)timeout_ms, 0);
  }
  return 0;
}

static long long_from_env(const char *name, long dflt) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') {
    return dflt;
  }
  char *end = NULL;
  long n = strtol(v, &end, 10);
  return (*end == '\0' && n > 0) ? n : dflt;
}

int rest_engine_new(const siphon_host_api *api, uv_loop_t *loop, rest_engine **out) {
  rest_engine *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    return -ENOMEM;
  }
  e->api = api;
  e->loop = loop;
  e->shard_size = long_from_env("SIPHON_REST_SHARD_SIZE", REST_SHARD_SIZE_DEFAULT);
  e->batch = long_from_env("SIPHON_REST_BATCH", REST_BATCH_DEFAULT);
  e->share = curl_share_init();
  if (e->share == NULL) {
    free(e);
    return -ENOMEM;
  }
  /* TLS sessions only: each easy handle is new, so without the share no
   * new connection could resume a session. The DNS cache stays each
   * shard's own: libcurl 7.88 prunes the whole cache after every
   * transfer, so one cache of every host would make a round quadratic in
   * hosts (8,000 sources on as many host names: 1.44 s of CPU shared,
   * 0.42 s per shard). One loop thread uses the share: no locks. */
  CURLSHcode sc = curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  if (sc != CURLSHE_OK) {
    api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_share_setopt: %s", curl_share_strerror(sc));
    curl_share_cleanup(e->share);
    free(e);
    return -EINVAL;
  }
  int rc = uv_idle_init(loop, &e->idle);
  if (rc != 0) {
    curl_share_cleanup(e->share);
    free(e);
    return rc;
  }
  e->idle.data = e;
  rc = rest__socks_open(e);
  if (rc != 0) {
    api->log(NULL, SIPHON_LOG_ERROR, "rest: cannot watch sockets: %s", uv_strerror(rc));
    /* Nothing else is open: the idle handle is freed with the engine. */
    e->closing = 1;
    e->pending_closes++;
    uv_close((uv_handle_t *)&e->idle, on_idle_closed);
    curl_share_cleanup(e->share);
    return rc;
  }
  *out = e;
  return 0;
}

/* The cache of idle connections kept between rounds: one per source
 * attached to the shard (each source has at most one transfer in
 * flight), so the next round reuses them; libcurl's default (4 per
 * transfer still running) closes most of them as a round drains.
 * max_connections, when set, bounds it instead. */
static void shard_cache_size(rest_shard *sh) {
  rest_engine *e = sh->e;
  long keep = e->max_total > 0 ? e->max_total : sh->sources;
  CURLMcode m = curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, keep > 0 ? keep : 1L);
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_WARN, "rest: CURLMOPT_MAXCONNECTS: %s", curl_multi_strerror(m));
  }
}

static int shard_setup(rest_engine *e, rest_shard *sh) {
  CURLMcode m = curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, rest__on_curl_socket);
  if (m == CURLM_OK) {
    m = curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
  }
  if (m == CURLM_OK) {
    m = curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  }
  if (m == CURLM_OK) {
    m = curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
  }
  if (m == CURLM_OK) {
    m = curl_multi_setopt(sh->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  }
  if (m == CURLM_OK && e->max_total > 0) {
    m = curl_multi_setopt(sh->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, e->max_total);
  }
  if (m == CURLM_OK && e->max_host > 0) {
    m = curl_multi_setopt(sh->multi, CURLMOPT_MAX_HOST_CONNECTIONS, e->max_host);
  }
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_setopt: %s", curl_multi_strerror(m));
    return -EINVAL;
  }
  return 0;
}

/* A new shard, or NULL (logged). Its timer is the only handle it owns;
 * it is closed with the engine. */
static rest_shard *shard_new(rest_engine *e) {
  if (e->n_shards == e->cap_shards) {
    size_t cap = e->cap_shards ? e->cap_shards * 2 : 4;
    rest_shard **v = realloc(e->shards, cap * sizeof(*v));
    if (v == NULL) {
      return NULL;
    }
    e->shards = v;
    e->cap_shards = cap;
  }
  rest_shard *sh = calloc(1, sizeof(*sh));
  if (sh == NULL) {
    return NULL;
  }
  sh->e = e;
  sh->multi = curl_multi_init();
  if (sh->multi == NULL) {
    free(sh);
    return NULL;
  }
  if (shard_setup(e, sh) != 0) {
    curl_multi_cleanup(sh->multi);
    free(sh);
    return NULL;
  }
  int rc = uv_timer_init(e->loop, &sh->timer);
  if (rc != 0) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: uv_timer_init: %s", uv_strerror(rc));
    curl_multi_cleanup(sh->multi);
    free(sh);
    return NULL;
  }
  sh->timer.data = sh;
  e->shards[e->n_shards++] = sh;
  e->api->log(NULL, SIPHON_LOG_DEBUG, "rest: multi handle %zu opened", e->n_shards);
  return sh;
}

rest_shard *rest_engine_attach(rest_engine *e) {
  size_t idx = 0;
  /* A connection cap is a multi handle's: with one set, every source
   * shares one shard so that the cap holds for the plugin. Otherwise
   * sources are dealt round-robin over as many shards as their number
   * needs, so the sources of one shard start their first rounds spread
   * over the whole queue, and a late one can reuse a connection an early
   * one has finished with. */
  if (e->max_total <= 0 && e->max_host <= 0) {
    long n = e->registered > 0 ? e->registered : 1;
    size_t shards = (size_t)(n / e->shard_size + (n % e->shard_size != 0));
    idx = (size_t)(e->attached % (long)shards);
  }
  while (e->n_shards <= idx) {
    if (shard_new(e) == NULL) {
      return NULL;
    }
  }
  rest_shard *sh = e->shards[idx];
  e->attached++;
  sh->sources++;
  shard_cache_size(sh);
  return sh;
}

void rest_engine_detach(rest_shard *sh) {
  sh->sources--;
  shard_cache_size(sh);
}

void rest_engine_register(rest_engine *e, long max_connections, long max_host_connections) {
  /* Called from create(), before any source is attached to a shard. */
  e->registered++;
  if (max_connections > e->max_total) {
    e->max_total = max_connections;
  }
  if (max_host_connections > e->max_host) {
    e->max_host = max_host_connections;
  }
}

int rest_engine_add(rest_shard *sh, CURL *easy, rest_job *job) {
  rest_engine *e = sh->e;
  if (curl_easy_setopt(easy, CURLOPT_PRIVATE, job) != CURLE_OK ||
      curl_easy_setopt(easy, CURLOPT_SHARE, e->share) != CURLE_OK) {
    return -EINVAL;
  }
  CURLMcode m = curl_multi_add_handle(sh->multi, easy);
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_add_handle: %s", curl_multi_strerror(m));
    return m == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
  }
  return 0;
}

void rest_engine_remove(rest_shard *sh, CURL *easy) {
  rest_engine *e = sh->e;
  /* Finished but not yet handed back: forget it, its owner frees it. */
  for (size_t i = 0; i < e->done_len; i++) {
    if (e->done[i].easy == easy) {
      e->done[i].easy = NULL;
    }
  }
  CURLMcode m = curl_multi_remove_handle(sh->multi, easy);
  if (m != CURLM_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_remove_handle: %s",
                curl_multi_strerror(m));
  }
}

void rest_engine_close(rest_engine *e) {
  e->closing = 1;
  /* Held until every close below is issued, so that the engine is not
   * freed by a callback half-way (none runs before the next loop turn,
   * but the count should not depend on that). */
  e->pending_closes++;
  /* No round is left, so neither is a wait. A parse may still run, for
   * a round cancelled during it: the engine waits for its end. */
  e->wait_head = e->wait_tail = NULL;
  e->parse_head = e->parse_tail = NULL;
  e->pending_closes++;
  uv_close((uv_handle_t *)&e->idle, on_idle_closed);
  for (size_t i = 0; i < e->n_shards; i++) {
    e->pending_closes++;
    uv_close((uv_handle_t *)&e->shards[i]->timer, on_timer_closed);
  }
  rest__socks_close_all(e);
  /* The polls no longer watch any fd; now curl may close its sockets. */
  for (size_t i = 0; i < e->n_shards; i++) {
    CURLMcode m = curl_multi_cleanup(e->shards[i]->multi);
    if (m != CURLM_OK) {
      e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_multi_cleanup: %s", curl_multi_strerror(m));
    }
    e->shards[i]->multi = NULL;
  }
  /* Every easy handle that used the share is gone with the rounds. */
  CURLSHcode sc = curl_share_cleanup(e->share);
  if (sc != CURLSHE_OK) {
    e->api->log(NULL, SIPHON_LOG_ERROR, "rest: curl_share_cleanup: %s", curl_share_strerror(sc));
  }
  e->share = NULL;
  e->pending_closes--;
  rest__engine_maybe_free(e);
}
