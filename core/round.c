#include "round.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "memory.h"
#include "record.h"
#include "util.h"

static void on_timeout(uv_timer_t *t) {
  siphon_source *s = t->data;
  siphon_round *r = s->round;
  if (r == NULL || r->reported) {
    return;
  }
  atomic_store(&r->cancelled, 1);
  int blocking = s->plugin->desc.capability == SIPHON_CAP_BLOCKING;
  if (blocking && r->b->queued) {
    if (s->plugin->busy >= s->plugin->max_busy) {
      siphon__log(SIPHON_LOG_WARN, s->name,
                  "timed out after %.3f s waiting for a worker thread: plugin %s holds all %u "
                  "of its threads",
                  (double)s->conf->timeout_ms / 1000.0, s->plugin->name, s->plugin->max_busy);
    } else {
      unsigned kept = s->host->threads - s->host->blocking_max;
      siphon__log(SIPHON_LOG_WARN, s->name,
                  "timed out after %.3f s waiting for a worker thread: blocking rounds hold "
                  "all %u thread%s they may have (siphon.threads less %u kept for libuv)",
                  (double)s->conf->timeout_ms / 1000.0, s->host->blocking_max,
                  s->host->blocking_max == 1 ? "" : "s", kept);
    }
    siphon__blocking_drop_queued(s, r, SIPHON__ROUND_TIMEOUT,
                                 "timed out waiting for a worker thread");
    return;
  }
  if (s->plugin->desc.capability == SIPHON_CAP_ASYNC && s->plugin->desc.cancel == NULL) {
    siphon__log(SIPHON_LOG_WARN, s->name,
                "collect timed out after %.3f s; plugin \"%s\" has no cancel(), so the round "
                "stays open until it calls round_done() (what it emits until then is discarded)",
                (double)s->conf->timeout_ms / 1000.0, s->plugin->desc.name);
  } else {
    siphon__log(SIPHON_LOG_WARN, s->name, "collect timed out after %.3f s",
                (double)s->conf->timeout_ms / 1000.0);
  }
  char *msg = siphon__asprintf("timed out after %.3f s", (double)s->conf->timeout_ms / 1000.0);
  siphon__round_report(r, SIPHON__ROUND_TIMEOUT, msg);
  free(msg);
  if (s->plugin->desc.capability != SIPHON_CAP_BLOCKING) {
    siphon__async_timeout(s, r);
  }
}

static void on_turn_waited(uv_timer_t *t) {
  siphon_source *s = t->data;
  siphon__host *h = s->host;
  if (s->round == NULL && s->pending && !h->paused && !h->stopping) {
    s->pending = 0;
    siphon__round_start(s);
  }
}

void siphon__round_start(siphon_source *s) {
  siphon__host *h = s->host;
  int blocking = s->plugin->desc.capability == SIPHON_CAP_BLOCKING;
  siphon_round *r = siphon__xcalloc(1, sizeof(*r) + (blocking ? sizeof(siphon__blocking_part) : 0));
  atomic_store(&r->magic, SIPHON__ROUND_LIVE);
  atomic_store(&r->refs, 1);
  r->src = s;
  r->started_ms = siphon__now_ms(); /* the loop's clock is cached per turn */
  /* This round is the turn that waited, if one did: it must not start a
   * second when it is released (a due tick can come before the 1 ms
   * timer of on_turn_waited). */
  s->pending = 0;
  s->round = r;
  s->rounds++;
  h->rounds_in_flight++;
  if (h->rounds_in_flight == 1) {
    siphon__memory_busy(h);
  }
  s->timeout.data = s;
  if (blocking) {
    uv_timer_start(&s->timeout, on_timeout, s->conf->timeout_ms, 0);
    siphon__run_blocking(s, r);
    return;
  }
  siphon__run_async(s, r);
  /* Many async rounds finish inside collect(); only one still in flight
   * needs a deadline (and the timer heap stays small). */
  if (s->round != NULL && !s->round->reported) {
    uv_timer_start(&s->timeout, on_timeout, s->conf->timeout_ms, 0);
  }
}

/* A plugin handed back a round it no longer owns. Logged, never fatal:
 * the host's own state is untouched. */
#define ASYNC_RULE                                                                           \
  "round_done() is called exactly once for every collect() that returned 0, and nothing is " \
  "emitted into a round after it"
void siphon__source_bug(siphon_source *s, const char *what, const char *rule) {
  if (atomic_fetch_add(&s->plugin_bugs, 1) > 0) {
    return; /* once a source: the plugin does it every round */
  }
  siphon__log(SIPHON_LOG_ERROR, s->name,
              "plugin \"%s\" %s: a bug in the plugin (%s): ignored, and not logged again for "
              "this source",
              s->plugin->desc.name, what, rule);
}

static void plugin_bug(const siphon_round *r, const char *what, const char *rule) {
  siphon__source_bug(r->src, what, rule);
}

int siphon__record_args_bad(siphon_source *s, const char *call, json_t *data, json_t **meta) {
  const char *rule = "a record is a JSON value; its meta an object, or NULL";
  if (data == NULL) {
    char *msg = siphon__asprintf("passed a NULL record (a json_pack() that failed?) to %s()", call);
    siphon__source_bug(s, msg, rule);
    free(msg);
    atomic_fetch_add(&s->discarded, 1);
    json_decref(*meta);
    *meta = NULL;
    return -EINVAL;
  }
  if (*meta != NULL && !json_is_object(*meta)) {
    /* The record is good: it goes, without the meta. */
    char *msg = siphon__asprintf("passed a meta that is not an object to %s()", call);
    siphon__source_bug(s, msg, rule);
    free(msg);
    json_decref(*meta);
    *meta = NULL;
  }
  return 0;
}

static _Atomic uint64_t held_records;

uint64_t siphon__round_held(void) {
  return atomic_load_explicit(&held_records, memory_order_relaxed);
}

void siphon__round_unhold(uint64_t n) {
  atomic_fetch_sub_explicit(&held_records, n, memory_order_relaxed);
}

int siphon__round_emit(siphon_round *r, json_t *data, json_t *meta) {
  siphon_source *s = r->src;
  if (siphon__record_args_bad(s, "round_emit", data, &meta) != 0) {
    return -EINVAL;
  }
  if (atomic_load(&r->magic) != SIPHON__ROUND_LIVE || r->done) {
    plugin_bug(r, "emitted a record into a round that had already finished", ASYNC_RULE);
    atomic_fetch_add(&s->discarded, 1);
    json_decref(data);
    json_decref(meta);
    return -ECANCELED;
  }
  if (atomic_load(&r->cancelled)) {
    atomic_fetch_add(&s->discarded, 1);
    json_decref(data);
    json_decref(meta);
    return -ECANCELED;
  }
  if (s->plugin->desc.capability == SIPHON_CAP_BLOCKING) {
    /* Worker thread: keep it until the round returns to the loop. */
    if (r->b->pending_len == r->b->pending_cap) {
      r->b->pending_cap = r->b->pending_cap ? r->b->pending_cap * 2 : 16;
      r->b->pending = siphon__xrealloc(r->b->pending, r->b->pending_cap * sizeof(*r->b->pending));
    }
    siphon__pending_record *p = &r->b->pending[r->b->pending_len++];
    p->data = data;
    p->meta = meta;
    siphon__record_timestamp(p->ts);
    atomic_fetch_add_explicit(&held_records, 1, memory_order_relaxed);
    return 0;
  }
  r->records++;
  siphon__record_write(s, NULL, data, meta);
  return 0;
}

void siphon__round_done(siphon_round *r, int status, const char *errmsg) {
  if (atomic_load(&r->magic) != SIPHON__ROUND_LIVE || r->done) {
    plugin_bug(r, "called round_done() for a round that had already finished", ASYNC_RULE);
    return;
  }
  if (r->src->plugin->desc.capability == SIPHON_CAP_BLOCKING) {
    plugin_bug(r, "called round_done() for a blocking round",
               "a blocking round ends when collect_blocking() returns; round_done() is for async "
               "plugins");
    return;
  }
  r->done = 1;
  if (errmsg == NULL && status != 0) {
    errmsg = uv_strerror(status);
  }
  siphon__round_report(r, siphon__round_outcome(r, status, errmsg), errmsg);
  if (!r->in_collect) { /* else released when collect() returns */
    siphon__round_release(r);
  }
}

/* How near the round's deadline a plugin's -ETIMEDOUT must come to be
 * that deadline: the loop's and the clocks' jitter. */
#define SIPHON__DEADLINE_SLACK_MS 20u

siphon__round_status siphon__round_outcome(const siphon_round *r, int status, const char *errmsg) {
  if (status == 0) {
    return SIPHON__ROUND_OK;
  }
  /* The plugin's own deadline for the round (libcurl's total timeout,
   * set to what is left of the round's) came a moment before the host's:
   * the same timeout, counted and said as one. An earlier one (a connect
   * timeout, a driver's budget kept short on purpose) is a failure. A
   * blocking round is timed at its return, not at the end of handing on
   * its records, which may take a while. */
  uint64_t end = r->src->plugin->desc.capability == SIPHON_CAP_BLOCKING && r->b->returned
                     ? r->b->returned_ms
                     : siphon__now_ms();
  uint64_t elapsed = end - r->started_ms;
  if (status != -ETIMEDOUT || r->reported ||
      elapsed + SIPHON__DEADLINE_SLACK_MS < r->src->conf->timeout_ms) {
    return SIPHON__ROUND_FAILED;
  }
  /* At the stop, cancelled rounds are said in one line (scheduler.c). */
  int stop_cancelled = r->src->host->stopping && atomic_load(&r->cancelled);
  siphon__log(stop_cancelled ? SIPHON_LOG_DEBUG : SIPHON_LOG_WARN, r->src->name,
              "collect timed out: %s", errmsg);
  return SIPHON__ROUND_TIMEOUT;
}

void siphon__round_report(siphon_round *r, siphon__round_status st, const char *errmsg) {
  if (r->reported) {
    return;
  }
  r->reported = 1;
  siphon_source *s = r->src;
  uv_timer_stop(&s->timeout);
  s->last_status = st;
  s->last_records = r->records;
  s->last_ms = siphon__now_ms() - r->started_ms;
  free(s->last_error);
  s->last_error = errmsg ? siphon__xstrdup(errmsg) : NULL;
  siphon__scheduler_round_finished(s, st, errmsg);
}

void siphon__round_release(siphon_round *r) {
  siphon_source *s = r->src;
  if (s->plugin->desc.capability == SIPHON_CAP_BLOCKING) {
    if (r->b->pending_len > r->b->delivered) {
      siphon__round_unhold(r->b->pending_len - r->b->delivered);
    }
    for (size_t i = 0; i < r->b->pending_len; i++) {
      json_decref(r->b->pending[i].data);
      json_decref(r->b->pending[i].meta);
    }
    free(r->b->pending);
    r->b->pending = NULL;
    r->b->pending_len = 0;
  }
  if (s->round == r) {
    s->round = NULL;
  }
  if (s->skips_said > 0) {
    /* A later hold is a new episode: it is said three times again. */
    siphon__log(SIPHON_LOG_INFO, s->name, "the collect that held its turns ended after %.3f s",
                (double)(siphon__now_ms() - r->started_ms) / 1000.0);
    s->skips_said = 0;
  }
  siphon__host *h = s->host;
  h->rounds_in_flight--;
  if (h->rounds_in_flight == 0) {
    siphon__memory_idle(h);
  }
  /* Kept until the source's next round is released: a plugin's late call
   * on it, the usual slip, finds it dead rather than freed. */
  atomic_store(&r->magic, SIPHON__ROUND_DEAD);
  if (s->dead != NULL) {
    siphon__round_unref(s->dead);
  }
  s->dead = r;
  if (h->stopping) {
    siphon__host_maybe_finish(h);
  } else if (s->pending && !h->paused) {
    /* Its turn came while this round's records were being written, or
     * with its timeout. It starts on the next loop turn: release may be
     * a plugin's round_done() inside its own cancel(). */
    s->timeout.data = s;
    uv_timer_start(&s->timeout, on_turn_waited, 1, 0);
  }
}

void siphon__round_cancel(siphon_round *r) {
  atomic_store(&r->cancelled, 1);
  siphon_source *s = r->src;
  if (s->plugin->desc.capability == SIPHON_CAP_BLOCKING) {
    if (r->b->queued) {
      siphon__blocking_drop_queued(s, r, SIPHON__ROUND_SKIPPED, "not run: shutting down");
    }
  } else {
    siphon__async_timeout(s, r);
  }
}

void siphon__round_free_dead(siphon__host *h) {
  for (size_t i = 0; i < h->source_count; i++) {
    if (h->sources[i].dead != NULL) {
      siphon__round_unref(h->sources[i].dead);
    }
    h->sources[i].dead = NULL;
  }
}

void siphon__round_unref(siphon_round *r) {
  if (atomic_fetch_sub(&r->refs, 1) == 1) {
    free(r);
  }
}
