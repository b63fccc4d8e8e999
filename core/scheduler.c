/* Every polled source runs on its own uv_timer_t at its interval, plus a
 * random jitter. The rhythm is kept from the due time, not from when a
 * round ended, so a slow round does not drift the schedule; a turn that
 * comes while the last round is held past its timeout is skipped and
 * counted, but one that comes while a blocking round's records are being
 * written, or before the last round's timeout (due with it, or at most
 * the jitter later), waits for that round (one such turn, however many
 * come). A failing
 * source backs off exponentially from its interval up to max_backoff. */
#include "host.h"
#include "log.h"
#include "round.h"
#include "util.h"

static uint64_t jitter_ms(siphon_source *s) {
  uint64_t j = s->conf->jitter_ms;
  if (j == 0 || s->host->mode == SIPHON__MODE_ONCE) {
    return 0;
  }
  /* xorshift: cheap, and good enough to spread sources apart. */
  static uint64_t state = 0x9e3779b97f4a7c15ull;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state % j;
}

static void on_tick(uv_timer_t *t);

/* Durations come from users: a year-long interval must not wrap. */
static uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Due times are rounded up to a grain so that thousands of jittered
 * sources wake the loop in batches, not once per millisecond. */
#define SIPHON__SCHED_GRAIN_MS 10u

static void arm(siphon_source *s, uint64_t delay) {
  uint64_t now = uv_now(s->host->loop);
  uint64_t at = sat_add(now, sat_add(delay, SIPHON__SCHED_GRAIN_MS - 1)) / SIPHON__SCHED_GRAIN_MS *
                SIPHON__SCHED_GRAIN_MS;
  s->tick.data = s;
  uv_timer_start(&s->tick, on_tick, at - now, 0);
}

static void on_tick(uv_timer_t *t) {
  siphon_source *s = t->data;
  siphon__host *h = s->host;
  if (h->stopping) {
    return;
  }
  uint64_t now = uv_now(h->loop);
  if (h->mode == SIPHON__MODE_RUN) {
    s->due_ms = sat_add(s->due_ms, s->conf->interval_ms);
    if (s->due_ms < now) {
      s->due_ms = now; /* missed turns are not made up in a burst */
    }
    arm(s, sat_add(s->due_ms - now, jitter_ms(s)));
  }
  if (s->round != NULL && s->plugin->desc.capability == SIPHON_CAP_BLOCKING &&
      s->round->b->returned) {
    /* Its collect is over and its records are being written, or wait for
     * the output: this turn waits for them, as a turn waits for a paused
     * output, and starts when the round is released. */
    if (!s->pending) {
      siphon__log(SIPHON_LOG_DEBUG, s->name,
                  "turn due while the last round's records are written: it waits for them");
    }
    s->pending = 1;
    return;
  }
  if (s->round != NULL && !s->round->reported && uv_is_active((uv_handle_t *)&s->timeout)) {
    /* A timeout is never longer than the interval, so this round's is due
     * now, or as late as the round started after its own turn: the same
     * loop pass or the next. Its turn waits for it rather than calling
     * the round overdue: a round that times out is not also a skip. */
    if (!s->pending) {
      siphon__log(SIPHON_LOG_DEBUG, s->name,
                  "turn due before the last round's timeout: it waits for the round, at "
                  "most until its timeout");
    }
    s->pending = 1;
    return;
  }
  if (s->round != NULL) {
    s->rounds_skipped++;
    /* Past its timeout (and cancel), a round still held is the plugin's
     * doing: say whose, and what it has not done. */
    const char *why = "";
    if (s->round->reported && s->plugin->desc.capability == SIPHON_CAP_ASYNC) {
      why = s->plugin->desc.cancel != NULL
                ? ": its timeout passed and cancel() was called, but the plugin has not called "
                  "round_done()"
                : ": its timeout passed, and the plugin, which has no cancel(), has not called "
                  "round_done()";
    }
    /* A plugin that never ends its round would say this every turn,
     * forever: the first three, then one a minute (each at debug). */
    uint64_t now_ms = siphon__now_ms();
    int say = s->skips_said < 3 || now_ms - s->skip_said_ms >= 60000;
    if (say) {
      s->skips_said++;
      s->skip_said_ms = now_ms;
    }
    siphon__log(say ? SIPHON_LOG_WARN : SIPHON_LOG_DEBUG, s->name,
                "previous collect still running after %.3f s (interval %.3f s)%s: skipping this "
                "turn (%llu skipped so far)%s",
                (double)(now_ms - s->round->started_ms) / 1000.0,
                (double)s->conf->interval_ms / 1000.0, why, (unsigned long long)s->rounds_skipped,
                say && s->skips_said == 3 ? "; further ones are said once a minute" : "");
    return;
  }
  if (h->paused) {
    s->pending = 1;
    return;
  }
  siphon__round_start(s);
}

void siphon__scheduler_start(siphon__host *h) {
  uint64_t now = uv_now(h->loop);
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_source *s = &h->sources[i];
    if (!s->created || s->streaming) {
      continue;
    }
    s->due_ms = now;
    arm(s, jitter_ms(s));
    if (h->mode == SIPHON__MODE_ONCE) {
      h->once_left++;
    }
  }
}

void siphon__scheduler_stop(siphon__host *h) {
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_source *s = &h->sources[i];
    if (s->created && !s->streaming) {
      uv_timer_stop(&s->tick);
    }
  }
}

void siphon__scheduler_resume(siphon__host *h) {
  for (size_t i = 0; i < h->source_count && !h->paused && !h->stopping; i++) {
    siphon_source *s = &h->sources[i];
    /* One still writing its last round's records starts when that round
     * is released (siphon__round_release). */
    if (s->pending && s->round == NULL) {
      s->pending = 0;
      siphon__round_start(s);
    }
  }
}

static uint64_t backoff_ms(const siphon_source *s) {
  uint64_t interval = s->conf->interval_ms;
  uint64_t cap = s->conf->max_backoff_ms > interval ? s->conf->max_backoff_ms : interval;
  unsigned shift = s->failures < 30 ? s->failures : 30;
  uint64_t d = interval << shift;
  if (d / interval != (1ull << shift) || d > cap) {
    d = cap;
  }
  return d;
}

void siphon__scheduler_round_finished(siphon_source *s, siphon__round_status st,
                                      const char *errmsg) {
  siphon__host *h = s->host;
  switch (st) {
    case SIPHON__ROUND_OK:
      s->rounds_ok++;
      break;
    case SIPHON__ROUND_TIMEOUT:
      s->rounds_timeout++;
      break;
    case SIPHON__ROUND_SKIPPED:
      s->rounds_skipped++;
      s->rounds_dropped++;
      break;
    default:
      s->rounds_failed++;
      break;
  }
  if (st == SIPHON__ROUND_SKIPPED) {
    /* Dropped before it ran (shutdown): not the source's failure. */
  } else if (st == SIPHON__ROUND_OK) {
    if (s->failures > 0) {
      siphon__log(SIPHON_LOG_INFO, s->name, "collect succeeded again after %u failure%s",
                  s->failures, s->failures == 1 ? "" : "s");
      s->failures = 0;
    }
  } else {
    s->failures++;
    /* Rounds the stop cancelled past shutdown_grace were said in one
     * line ("cancelling N collects"): not one warning each, which for
     * thousands of sources would bury the stop. */
    int stop_cancelled = h->stopping && s->round != NULL && atomic_load(&s->round->cancelled);
    if (st == SIPHON__ROUND_FAILED) {
      siphon__log(stop_cancelled ? SIPHON_LOG_DEBUG : SIPHON_LOG_WARN, s->name,
                  "collect failed: %s", errmsg ? errmsg : "unknown error");
    }
    if (h->mode == SIPHON__MODE_RUN && !h->stopping) {
      uint64_t d = backoff_ms(s);
      if (d > s->conf->interval_ms) {
        uint64_t now = uv_now(h->loop);
        s->due_ms = sat_add(now, d);
        arm(s, d);
        s->pending = 0; /* a turn that waited for this round yields to the backoff */
        siphon__log(SIPHON_LOG_INFO, s->name, "%u failure%s in a row: next try in %.3f s",
                    s->failures, s->failures == 1 ? "" : "s", (double)d / 1000.0);
      }
    }
  }
  if (h->mode == SIPHON__MODE_ONCE && h->once_left > 0) {
    h->once_left--;
    siphon__host_maybe_finish(h);
  }
}
