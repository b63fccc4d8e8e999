/* Thread-safe emit: plugin-owned threads queue records here and a
 * uv_async_t wakes the loop to write them, in order per thread (the C
 * twin of asyncio's run_coroutine_threadsafe). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "host.h"
#include "record.h"
#include "round.h"
#include "util.h"

typedef struct siphon__ts_item {
  siphon_source *src;
  /* NULL for a record outside any round (emit_threadsafe); else the async
   * round a plugin's own thread called round_emit() (errmsg unused) or
   * round_done() (data NULL) for, handed to the loop (host_api.c). */
  siphon_round *round;
  int done;
  int status;
  char *errmsg;
  json_t *data;
  json_t *meta;
  char ts[SIPHON__TS_LEN];
  struct siphon__ts_item *next;
} siphon__ts_item;

/* Records a wake-up writes at most, with a loop turn between: a thread
 * emitting millions must not hold off every timer and signal for the
 * seconds writing them takes (as blocking rounds' deliveries are cut). */
#define SIPHON__TS_CHUNK 1024

/* Records the queue holds before a producer thread waits for room, and
 * the level it must fall to before they go on. A bound in records, not
 * bytes: while the output is behind (over buffer_limit) the queue is not
 * written, and a thread emitting a million records would otherwise hold
 * them all in memory. */
#define SIPHON__TS_HIGH 16384
#define SIPHON__TS_LOW (SIPHON__TS_HIGH / 2)

/* A producer waits for room this long at most, then queues its record
 * anyway: backpressure, never a deadlock, should the loop itself wait on
 * that thread in a way siphon cannot see (a plugin's collect() taking a
 * lock the thread holds while it emits). */
#define SIPHON__TS_WAIT_NS (100ull * 1000 * 1000)

/* Records queued and not yet written (not the round_done() calls queued
 * beside them), for the bound and the counts a hard exit gives. */
static _Atomic uint64_t ts_queued;

uint64_t siphon__ts_queued(void) {
  return atomic_load(&ts_queued);
}

/* Frees an item whose data and meta are handed on or dropped. */
static void item_free(siphon__ts_item *it) {
  if (it->round != NULL) {
    siphon__round_unref(it->round);
  }
  free(it->errmsg);
  free(it);
}

/* Does the queued calls of a list taken off the queue, in order. */
static void run_items(siphon__ts_item *it) {
  while (it != NULL) {
    siphon__ts_item *next = it->next;
    if (it->round == NULL) {
      siphon__record_write(it->src, it->ts, it->data, it->meta);
    } else if (it->done) {
      siphon__round_done(it->round, it->status, it->errmsg);
    } else {
      (void)siphon__round_emit(it->round, it->data, it->meta);
    }
    if (!it->done) {
      atomic_fetch_sub(&ts_queued, 1);
    }
    item_free(it);
    it = next;
  }
}

/* Writes up to max queued records (all for SIZE_MAX); 1 if some remain. */
static int drain(siphon__host *h, size_t max) {
  uv_mutex_lock(&h->ts_lock);
  siphon__ts_item *it = h->ts_head;
  siphon__ts_item *last = NULL;
  size_t n = 0;
  for (siphon__ts_item *p = it; p != NULL && n < max; p = p->next) {
    last = p;
    n++;
  }
  if (last != NULL) {
    h->ts_head = last->next;
    if (h->ts_head == NULL) {
      h->ts_tail = NULL;
    }
    last->next = NULL;
  }
  int more = h->ts_head != NULL;
  uint64_t q = atomic_load(&ts_queued);
  if (n > 0 && (q > n ? q - n : 0) < SIPHON__TS_LOW) {
    uv_cond_broadcast(&h->ts_room);
  }
  uv_mutex_unlock(&h->ts_lock);
  /* max >= 1: an empty queue is it == NULL, else last ended the list. */
  run_items(it);
  return more;
}

void siphon__ts_drain_round(siphon__host *h, const siphon_round *r) {
  if (!h->ts_ready) {
    return;
  }
  uv_mutex_lock(&h->ts_lock);
  siphon__ts_item *last = NULL;
  size_t n = 0;
  size_t upto = 0;
  for (siphon__ts_item *p = h->ts_head; p != NULL; p = p->next) {
    n++;
    if (p->round == r) {
      last = p;
      upto = n;
    }
  }
  siphon__ts_item *it = NULL;
  if (last != NULL) {
    /* What was queued before it goes first, as it would have. */
    it = h->ts_head;
    h->ts_head = last->next;
    if (h->ts_head == NULL) {
      h->ts_tail = NULL;
    }
    last->next = NULL;
    uint64_t q = atomic_load(&ts_queued);
    if ((q > upto ? q - upto : 0) < SIPHON__TS_LOW) {
      uv_cond_broadcast(&h->ts_room);
    }
  }
  uv_mutex_unlock(&h->ts_lock);
  run_items(it);
}

static void on_ts_async(uv_async_t *a) {
  siphon__host *h = a->data;
  if (h->paused && !h->stopping) {
    return; /* siphon__ts_resume() goes on */
  }
  if (drain(h, SIPHON__TS_CHUNK)) {
    uv_async_send(a); /* the rest on the next turn, after timers and I/O */
  }
}

void siphon__ts_setup(siphon__host *h) {
  uv_mutex_init(&h->ts_lock);
  if (uv_cond_init(&h->ts_room) != 0) {
    abort(); /* as for memory: nothing useful can go on without it */
  }
  h->loop_thread = uv_thread_self();
  h->ts_ready = 1;
}

int siphon__ts_init(siphon__host *h) {
  int rc = uv_async_init(h->loop, &h->ts_async, on_ts_async);
  if (rc != 0) {
    return rc;
  }
  h->ts_async.data = h;
  uv_mutex_lock(&h->ts_lock);
  h->ts_async_ready = 1;
  /* What threads started in create() queued meanwhile. */
  if (h->ts_head != NULL) {
    uv_async_send(&h->ts_async);
  }
  uv_mutex_unlock(&h->ts_lock);
  return 0;
}

void siphon__ts_plugin_call(siphon__host *h, int entering) {
  if (!h->ts_ready) {
    return;
  }
  uv_mutex_lock(&h->ts_lock);
  h->ts_in_plugin += entering ? 1 : -1;
  if (entering) {
    uv_cond_broadcast(&h->ts_room);
  }
  uv_mutex_unlock(&h->ts_lock);
}

void siphon__ts_resume(siphon__host *h) {
  if (h->ts_async_ready) {
    uv_async_send(&h->ts_async);
  }
}

void siphon__ts_unbound(siphon__host *h) {
  if (!h->ts_ready) {
    return;
  }
  uv_mutex_lock(&h->ts_lock);
  h->ts_unbounded = 1;
  uv_cond_broadcast(&h->ts_room);
  if (h->ts_async_ready) {
    uv_async_send(&h->ts_async);
  }
  uv_mutex_unlock(&h->ts_lock);
}

/* Queues it (its src, round, data and meta set) for the loop; frees it
 * and returns -ECANCELED once the host takes no more. */
static int enqueue(siphon__ts_item *it) {
  siphon_source *s = it->src;
  siphon__host *h = s->host;
  json_t *data = it->data;
  json_t *meta = it->meta;
  it->next = NULL;
  if (atomic_load(&s->closed)) {
    if (!it->done) {
      atomic_fetch_add(&s->discarded, 1); /* a round_done() is no record */
    }
    json_decref(data);
    json_decref(meta);
    item_free(it);
    return -ECANCELED;
  }
  uv_thread_t self = uv_thread_self();
  int may_wait = !uv_thread_equal(&self, &h->loop_thread);
  uv_mutex_lock(&h->ts_lock);
  /* Backpressure for the plugin's thread, as a blocking write gives: the
   * loop writes the queue as fast as the output takes it. Never the loop
   * thread, which is the one that makes room, and never while the loop
   * is in one of the plugin's calls (siphon__ts_plugin_call). */
  uint64_t deadline = may_wait ? uv_hrtime() + SIPHON__TS_WAIT_NS : 0;
  while (may_wait && !h->ts_closed && !h->ts_unbounded && h->ts_in_plugin == 0 &&
         atomic_load(&ts_queued) >= SIPHON__TS_HIGH) {
    /* A deadline, not a wait each: a thread woken and beaten to the room
     * by others still waits 100 ms in all. */
    uint64_t now = uv_hrtime();
    if (now >= deadline || uv_cond_timedwait(&h->ts_room, &h->ts_lock, deadline - now) != 0) {
      break; /* UV_ETIMEDOUT */
    }
  }
  /* After the wait: the record's time is when it went in. */
  siphon__record_timestamp(it->ts);
  if (h->ts_closed) {
    uv_mutex_unlock(&h->ts_lock);
    if (!it->done) {
      atomic_fetch_add(&s->discarded, 1); /* a round_done() is no record */
    }
    json_decref(data);
    json_decref(meta);
    item_free(it);
    return -ECANCELED;
  }
  if (h->ts_tail != NULL) {
    h->ts_tail->next = it;
  } else {
    h->ts_head = it;
  }
  h->ts_tail = it;
  if (!it->done) {
    atomic_fetch_add(&ts_queued, 1); /* records: a round_done() is none */
  }
  /* Sent under the lock so that ts_close cannot close the handle between
   * our check of ts_closed and the send. Before the run (a thread started
   * in create()), siphon__ts_init() sends it. */
  if (h->ts_async_ready) {
    uv_async_send(&h->ts_async);
  }
  uv_mutex_unlock(&h->ts_lock);
  return 0;
}

int siphon__emit_threadsafe(siphon_source *s, json_t *data, json_t *meta) {
  siphon__ts_item *it = siphon__xcalloc(1, sizeof(*it));
  it->src = s;
  it->data = data;
  it->meta = meta;
  return enqueue(it);
}

int siphon__ts_round_emit(siphon_round *r, json_t *data, json_t *meta) {
  siphon__ts_item *it = siphon__xcalloc(1, sizeof(*it));
  it->src = r->src;
  it->round = r;
  atomic_fetch_add(&r->refs, 1);
  it->data = data;
  it->meta = meta;
  return enqueue(it);
}

void siphon__ts_round_done(siphon_round *r, int status, const char *errmsg) {
  siphon__ts_item *it = siphon__xcalloc(1, sizeof(*it));
  it->src = r->src;
  it->round = r;
  atomic_fetch_add(&r->refs, 1);
  it->done = 1;
  it->status = status;
  it->errmsg = errmsg != NULL ? siphon__xstrdup(errmsg) : NULL;
  (void)enqueue(it);
}

void siphon__ts_drain(siphon__host *h) {
  (void)drain(h, SIZE_MAX);
}

void siphon__ts_close(siphon__host *h) {
  uv_mutex_lock(&h->ts_lock);
  h->ts_closed = 1;
  uv_cond_broadcast(&h->ts_room);
  uv_mutex_unlock(&h->ts_lock);
  siphon__ts_drain(h);
  if (h->ts_async_ready) {
    uv_close((uv_handle_t *)&h->ts_async, NULL);
    h->ts_async_ready = 0;
  }
}

void siphon__ts_teardown(siphon__host *h) {
  if (!h->ts_ready) {
    return;
  }
  uv_mutex_lock(&h->ts_lock);
  h->ts_closed = 1;
  uv_cond_broadcast(&h->ts_room);
  siphon__ts_item *it = h->ts_head;
  h->ts_head = h->ts_tail = NULL;
  uv_mutex_unlock(&h->ts_lock);
  /* Queued by threads of a run that never began (--check, a failed
   * setup): no output to write them to. Counted, as every refusal is. */
  while (it != NULL) {
    siphon__ts_item *next = it->next;
    if (!it->done) {
      atomic_fetch_add(&it->src->discarded, 1);
      atomic_fetch_sub(&ts_queued, 1);
    }
    json_decref(it->data);
    json_decref(it->meta);
    item_free(it);
    it = next;
  }
  if (h->ts_async_ready) {
    uv_close((uv_handle_t *)&h->ts_async, NULL);
    h->ts_async_ready = 0;
  }
}

void siphon__ts_free(siphon__host *h) {
  if (!h->ts_ready) {
    return;
  }
  uv_cond_destroy(&h->ts_room);
  uv_mutex_destroy(&h->ts_lock);
  h->ts_ready = 0;
}
