/* Thread-safe emit: plugin-owned threads queue records here and a
 * uv_async_t wakes the loop to write them, in order per thread (the C
 * twin of asyncio's run_coroutine_threadsafe). */
#include <errno.h>
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

static void on_ts_async(uv_async_t *a) {
  siphon__ts_drain(a->data);
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
  /* Sent under the lock so that ts_close cannot close the handle between
   * our check of ts_closed and the send. */
  uv_async_send(&h->ts_async);
  uv_mutex_unlock(&h->ts_lock);
  return 0;
}

void siphon__ts_drain(siphon__host *h) {
  uv_mutex_lock(&h->ts_lock);
  siphon__ts_item *it = h->ts_head;
  h->ts_head = h->ts_tail = NULL;
  uv_mutex_unlock(&h->ts_lock);
  while (it != NULL) {
    siphon__ts_item *next = it->next;
    siphon__record_write(it->src, it->ts, it->data, it->meta);
    free(it);
    it = next;
  }
}

void siphon__ts_close(siphon__host *h) {
  uv_mutex_lock(&h->ts_lock);
  h->ts_closed = 1;
  uv_mutex_unlock(&h->ts_lock);
  siphon__ts_drain(h);
  uv_close((uv_handle_t *)&h->ts_async, NULL);
  uv_mutex_destroy(&h->ts_lock);
}
