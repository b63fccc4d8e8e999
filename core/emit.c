/* Thread-safe emit: plugin-owned threads queue records here and a
 * uv_async_t wakes the loop to write them, in order per thread (the C
 * twin of asyncio's run_coroutine_threadsafe). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "host.h"
#include "record.h"
#include "util.h"

typedef struct siphon__ts_item {
  siphon_source *src;
  json_t *data;
  json_t *meta;
  char ts[SIPHON__TS_LEN];
  struct siphon__ts_item *next;
} siphon__ts_item;

/* Records a wake-up writes at most, with a loop turn between: a thread
 * emitting millions must not hold off every timer and signal for the
 * seconds writing them takes (as blocking rounds' deliveries are cut). */
#define SIPHON__TS_CHUNK 1024

/* Queued and not yet written, for the counts a hard exit gives. */
static _Atomic uint64_t ts_queued;

uint64_t siphon__ts_queued(void) {
  return atomic_load(&ts_queued);
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
  uv_mutex_unlock(&h->ts_lock);
  /* max >= 1: an empty queue is it == NULL, else last ended the list. */
  while (it != NULL) {
    siphon__ts_item *next = it->next;
    siphon__record_write(it->src, it->ts, it->data, it->meta);
    atomic_fetch_sub(&ts_queued, 1);
    free(it);
    it = next;
  }
  return more;
}

static void on_ts_async(uv_async_t *a) {
  siphon__host *h = a->data;
  if (drain(h, SIPHON__TS_CHUNK)) {
    uv_async_send(a); /* the rest on the next turn, after timers and I/O */
  }
}

int siphon__ts_init(siphon__host *h) {
  uv_mutex_init(&h->ts_lock);
  int rc = uv_async_init(h->loop, &h->ts_async, on_ts_async);
  if (rc != 0) {
    uv_mutex_destroy(&h->ts_lock);
    return rc;
  }
  h->ts_async.data = h;
  return 0;
}

int siphon__emit_threadsafe(siphon_source *s, json_t *data, json_t *meta) {
  siphon__host *h = s->host;
  if (atomic_load(&s->closed)) {
    atomic_fetch_add(&s->discarded, 1);
    json_decref(data);
    json_decref(meta);
    return -ECANCELED;
  }
  siphon__ts_item *it = siphon__xmalloc(sizeof(*it));
  it->src = s;
  it->data = data;
  it->meta = meta;
  it->next = NULL;
  siphon__record_timestamp(it->ts);
  uv_mutex_lock(&h->ts_lock);
  if (h->ts_closed) {
    uv_mutex_unlock(&h->ts_lock);
    atomic_fetch_add(&s->discarded, 1);
    json_decref(data);
    json_decref(meta);
    free(it);
    return -ECANCELED;
  }
  if (h->ts_tail != NULL) {
    h->ts_tail->next = it;
  } else {
    h->ts_head = it;
  }
  h->ts_tail = it;
  atomic_fetch_add(&ts_queued, 1);
  /* Sent under the lock so that ts_close cannot close the handle between
   * our check of ts_closed and the send. */
  uv_async_send(&h->ts_async);
  uv_mutex_unlock(&h->ts_lock);
  return 0;
}

void siphon__ts_drain(siphon__host *h) {
  (void)drain(h, SIZE_MAX);
}

void siphon__ts_close(siphon__host *h) {
  uv_mutex_lock(&h->ts_lock);
  h->ts_closed = 1;
  uv_mutex_unlock(&h->ts_lock);
  siphon__ts_drain(h);
  uv_close((uv_handle_t *)&h->ts_async, NULL);
  uv_mutex_destroy(&h->ts_lock);
}
