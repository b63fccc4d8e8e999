/* Blocking rounds run on libuv's threadpool through uv_queue_work. All
 * of them together may hold the pool less its reserve (host.c), and each
 * plugin at most max_busy threads at once (a bulkhead), so one hung
 * plugin cannot starve the others; rounds over either bound wait in the
 * plugin's FIFO, and freed threads go to the plugins' queues in turn. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "record.h"
#include "round.h"
#include "util.h"

static void work_cb(uv_work_t *req) {
  siphon_round *r = req->data;
  siphon_source *s = r->src;
  r->b->status = s->plugin->desc.collect_blocking(s->instance, r, &r->b->err);
  siphon__error_end(&r->b->err);
}

/* Whether a round of p may take a pool thread now: within p's share of
 * the pool, and within the threads all blocking plugins may hold. */
static int has_slot(const siphon__host *h, const siphon__plugin *p) {
  return p->busy < p->max_busy && h->blocking_busy < h->blocking_max;
}

static void dispatch_one(siphon__plugin *p);

/* A slot freed: the waiting rounds go, one plugin's at a time in turn.
 * The turn is kept across calls (h->blocking_turn, the plugin after the
 * last one served), so that a plugin that always has rounds waiting
 * takes back no more than its turn of the slots it frees, whatever the
 * number of plugins. */
static void dispatch_all_waiting(siphon__host *h) {
  int moved = 1;
  while (moved && h->blocking_busy < h->blocking_max) {
    moved = 0;
    siphon__plugin *p = h->blocking_turn != NULL ? h->blocking_turn : h->registry.head;
    for (siphon__plugin *stop = p; p != NULL;) {
      siphon__plugin *next = p->next != NULL ? p->next : h->registry.head;
      if (p->waiting != NULL && has_slot(h, p)) {
        h->blocking_turn = next;
        dispatch_one(p);
        moved = 1;
        if (h->blocking_busy >= h->blocking_max) {
          return;
        }
      }
      p = next;
      if (p == stop) {
        break;
      }
    }
  }
}

/* Records a blocking round brought back are written this many at a time,
 * with a loop turn between: 10,000 documents from one query must not
 * stall every other source for the tens of ms writing them takes. */
#define SIPHON__DELIVER_CHUNK 1024

static void deliver_chunk(siphon_round *r, size_t max);

/* SIPHON_DELIVER_CHUNK: records a chunk, for the tests of a stop that
 * comes while a long delivery goes on (1 makes 2,000 records take 2 s). */
static size_t deliver_chunk_size(void) {
  static size_t size;
  if (size == 0) {
    const char *v = getenv("SIPHON_DELIVER_CHUNK");
    long n = v != NULL ? strtol(v, NULL, 10) : 0;
    size = n > 0 ? (size_t)n : SIPHON__DELIVER_CHUNK;
  }
  return size;
}

static void deliver(siphon_round *r) {
  deliver_chunk(r, deliver_chunk_size());
}

static void on_deliver_more(uv_timer_t *t) {
  siphon_source *s = t->data;
  deliver(s->round);
}

int siphon__blocking_deliver_now(siphon_round *r) {
  if (r->src->plugin->desc.capability != SIPHON_CAP_BLOCKING || !r->b->returned) {
    return 0;
  }
  /* Its worker is done with what it emitted: safe to write it all here. */
  uv_timer_stop(&r->src->timeout);
  deliver_chunk(r, SIZE_MAX);
  return 1;
}

static void deliver_chunk(siphon_round *r, size_t max) {
  siphon_source *s = r->src;
  siphon__host *h = s->host;
  size_t left = r->b->pending_len - r->b->delivered;
  size_t end = r->b->delivered + (left < max ? left : max);
  /* Records emitted before any timeout, in order, a chunk at a time.
   * While the output is over buffer_limit the next chunk waits, as a
   * polled source's next round does (a stop writes everything). A whole
   * chunk goes, pause or not: stopping within one would move a few
   * records a writer cycle with a small buffer_limit. */
  for (size_t i = r->b->delivered; i < end; i++) {
    siphon__pending_record *pr = &r->b->pending[i];
    r->records++;
    siphon__record_write(s, pr->ts, pr->data, pr->meta);
  }
  siphon__round_unhold(end - r->b->delivered);
  r->b->delivered = end;
  if (r->reported) {
    /* It timed out, and what it emitted before is written now: the
     * source's count (--once's table) follows. */
    s->last_records = r->records;
  }
  if (r->b->delivered < r->b->pending_len) {
    if (h->paused && !h->stopping) {
      r->b->deferred = 1; /* siphon__blocking_resume() goes on */
      siphon__log(SIPHON_LOG_DEBUG, s->name, "%zu records wait for the output to drain",
                  r->b->pending_len - r->b->delivered);
      return;
    }
    /* The round's deadline no longer matters: reuse its timer. 1 ms, not
     * 0: libuv 1.44 runs a 0 ms timer started in a timer callback in the
     * same pass, so every chunk would go without a loop turn between. */
    s->timeout.data = s;
    uv_timer_start(&s->timeout, on_deliver_more, 1, 0);
    return;
  }
  r->b->pending_len = 0; /* every record was handed on */
  if (r->b->work_status != 0) {
    siphon__round_report(r, SIPHON__ROUND_FAILED, uv_strerror(r->b->work_status));
  } else if (r->b->status > 0) {
    /* No errno, and libuv would call it "Unknown system error 5". */
    char *msg = r->b->err.text[0] != '\0'
                    ? siphon__asprintf(
                          "%s (collect_blocking() returned %d, not 0 or a negative "
                          "errno: a bug in the plugin)",
                          r->b->err.text, r->b->status)
                    : siphon__asprintf(
                          "collect_blocking() returned %d, not 0 or a negative "
                          "errno: a bug in the plugin",
                          r->b->status);
    siphon__round_report(r, SIPHON__ROUND_FAILED, msg);
    free(msg);
  } else if (r->b->status != 0) {
    const char *msg = r->b->err.text[0] != '\0' ? r->b->err.text : uv_strerror(r->b->status);
    siphon__round_report(r, siphon__round_outcome(r, r->b->status, msg), msg);
  } else {
    siphon__round_report(r, SIPHON__ROUND_OK, NULL);
  }
  siphon__round_release(r);
}

static void after_work_cb(uv_work_t *req, int status) {
  siphon_round *r = req->data;
  siphon_source *s = r->src;
  siphon__plugin *p = s->plugin;
  siphon__host *h = s->host;
  p->busy--;
  h->blocking_busy--;
  r->b->work_status = status;
  r->b->returned = 1;
  r->b->returned_ms = siphon__now_ms();
  uv_timer_stop(&s->timeout);
  /* The slot goes to a waiting round first: delivering may start this
   * source's next round, which would take it back before others. */
  dispatch_all_waiting(h);
  deliver(r); /* may free r */
}

static void dispatch(siphon_source *s, siphon_round *r) {
  siphon__plugin *p = s->plugin;
  p->busy++;
  s->host->blocking_busy++;
  r->b->work.data = r;
  int rc = uv_queue_work(s->host->loop, &r->b->work, work_cb, after_work_cb);
  if (rc != 0) {
    p->busy--;
    s->host->blocking_busy--;
    siphon__round_report(r, SIPHON__ROUND_FAILED, uv_strerror(rc));
    siphon__round_release(r);
  }
}

/* The round at the head of p's queue takes a slot. */
static void dispatch_one(siphon__plugin *p) {
  siphon_source *s = p->waiting;
  p->waiting = s->next_waiting;
  if (p->waiting == NULL) {
    p->waiting_tail = NULL;
  }
  s->next_waiting = NULL;
  siphon_round *r = s->round;
  r->b->queued = 0;
  dispatch(s, r);
}

void siphon__blocking_resume(siphon__host *h) {
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_source *s = &h->sources[i];
    siphon_round *r = s->round;
    if (r != NULL && s->plugin->desc.capability == SIPHON_CAP_BLOCKING && r->b->deferred) {
      r->b->deferred = 0;
      s->timeout.data = s;
      uv_timer_start(&s->timeout, on_deliver_more, 0, 0);
    }
  }
}

void siphon__run_blocking(siphon_source *s, siphon_round *r) {
  siphon__plugin *p = s->plugin;
  siphon__host *h = s->host;
  /* A round of another plugin that waits is at its own plugin's bound:
   * slots freed go to the queues before anything else can start
   * (after_work_cb), so a free slot here is p's to take. */
  if (has_slot(h, p) && p->waiting == NULL) {
    dispatch(s, r);
    return;
  }
  r->b->queued = 1;
  s->next_waiting = NULL;
  if (p->waiting_tail != NULL) {
    p->waiting_tail->next_waiting = s;
  } else {
    p->waiting = s;
  }
  p->waiting_tail = s;
  if (p->busy >= p->max_busy) {
    siphon__log(SIPHON_LOG_DEBUG, s->name, "waiting: plugin %s holds %u of its %u threads", p->name,
                p->busy, p->max_busy);
  } else {
    siphon__log(SIPHON_LOG_DEBUG, s->name,
                "waiting: blocking rounds hold %u of the %u thread%s they may have",
                h->blocking_busy, h->blocking_max, h->blocking_max == 1 ? "" : "s");
  }
}

static void unqueue(siphon__plugin *p, siphon_source *s) {
  siphon_source *prev = NULL;
  for (siphon_source *it = p->waiting; it != NULL; it = it->next_waiting) {
    if (it == s) {
      if (prev != NULL) {
        prev->next_waiting = it->next_waiting;
      } else {
        p->waiting = it->next_waiting;
      }
      if (p->waiting_tail == it) {
        p->waiting_tail = prev;
      }
      it->next_waiting = NULL;
      return;
    }
    prev = it;
  }
}

void siphon__blocking_drop_queued(siphon_source *s, siphon_round *r, siphon__round_status st,
                                  const char *why) {
  /* It never started, so nothing else holds it. (A round in the pool
   * keeps its thread until collect_blocking() returns; it sees the cancel
   * flag, and what it emits from then on is discarded.) */
  unqueue(s->plugin, s);
  r->b->queued = 0;
  siphon__round_report(r, st, why);
  siphon__round_release(r);
}
