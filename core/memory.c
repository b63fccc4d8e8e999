/* The process's memory. A round of thousands of sources leaves glibc's heap
 * with most of its pages free but kept, among the few chunks that outlive
 * the round (kept connections), where glibc's own trimming of the heap's
 * top cannot reach them; malloc_trim() gives such pages back. It walks the
 * whole heap and the next round faults the pages in again, so it runs only
 * when the sources have been idle for release_memory_after and the next
 * round is at least as far away: a collector polling every minute holds
 * its idle size between rounds, one polling every second keeps its pages. */
#include "memory.h"

#include <stdio.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "log.h"
#include "util.h"

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define HAVE_MALLINFO2 1
#endif

/* The high-water mark of this process's own memory map. Not getrusage's
 * ru_maxrss: exec folds the old map's peak into it, so a siphon spawned
 * by a big process (vfork, posix_spawn) would report its parent's. */
static int peak_rss(size_t *out) {
#if defined(__linux__)
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) {
    return -1;
  }
  char line[256];
  int rc = -1;
  while (fgets(line, sizeof(line), f) != NULL) {
    unsigned long kib = 0;
    if (sscanf(line, "VmHWM: %lu kB", &kib) == 1) {
      *out = (size_t)kib * 1024;
      rc = 0;
      break;
    }
  }
  fclose(f);
  return rc;
#else
  (void)out;
  return -1;
#endif
}

/* Whether glibc's allocator serves this process: another allocator
 * (AddressSanitizer's, valgrind's, an LD_PRELOADed one) leaves glibc's
 * arena unused, and its figures and trimming then mean nothing. Before
 * 2.33 glibc has only mallinfo(), whose int fields can wrap; it is asked
 * only whether the arena is used at all. */
static int glibc_heap(void) {
#if HAVE_MALLINFO2
  struct mallinfo2 mi = mallinfo2();
  return mi.arena + mi.hblkhd > 0;
#elif defined(__GLIBC__)
  struct mallinfo mi = mallinfo();
  return mi.arena != 0 || mi.hblkhd != 0;
#else
  return 0;
#endif
}

/* Taken before the rest of a stats snapshot is built, so that the
 * snapshot's own JSON is not counted. The heap figures are live
 * allocations against what the allocator keeps, which tells a leak (heap
 * in use growing from one steady round to the next) from fragmentation
 * (only RSS grows). */
json_t *siphon__memory_snapshot(const siphon__host *h) {
  json_t *m = json_object();
  size_t rss = 0;
  if (uv_resident_set_memory(&rss) == 0) {
    json_object_set_new(m, "rss_bytes", json_integer((json_int_t)rss));
  }
  size_t peak = 0;
  if (peak_rss(&peak) == 0) {
    json_object_set_new(m, "peak_rss_bytes", json_integer((json_int_t)peak));
  }
#if HAVE_MALLINFO2
  struct mallinfo2 mi = mallinfo2();
  if (mi.arena + mi.hblkhd > 0) {
    json_object_set_new(m, "heap_in_use_bytes",
                        json_integer((json_int_t)(mi.uordblks + mi.hblkhd)));
    json_object_set_new(m, "heap_free_bytes", json_integer((json_int_t)mi.fordblks));
  }
#endif
  if (h->release_on && h->release_works) {
    json_object_set_new(m, "releases", json_integer((json_int_t)h->releases));
    json_object_set_new(m, "released_bytes", json_integer((json_int_t)h->released_bytes));
  }
  return m;
}

/* How soon any polled source's next round is due, in ms (0 for one held
 * back by backpressure, whose round starts once the output drains);
 * UINT64_MAX if none is. */
static uint64_t next_round_in(const siphon__host *h) {
  if (h->paused) {
    return 0;
  }
  uint64_t soonest = UINT64_MAX;
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon_source *s = &h->sources[i];
    if (!s->created || s->streaming) {
      continue;
    }
    if (s->pending) {
      return 0;
    }
    if (!uv_is_active((const uv_handle_t *)&s->tick)) {
      continue;
    }
    uint64_t in = uv_timer_get_due_in(&s->tick);
    if (in < soonest) {
      soonest = in;
    }
  }
  return soonest;
}

static void on_release(uv_timer_t *t) {
  siphon__host *h = t->data;
  uint64_t after = h->config->release_memory_after_ms;
  if (!h->release_works || h->rounds_in_flight > 0 || h->stopping || next_round_in(h) < after) {
    return;
  }
#if defined(__GLIBC__)
  size_t before = 0, now = 0;
  uint64_t t0 = uv_hrtime();
  int rc = uv_resident_set_memory(&before);
  malloc_trim(0);
  if (rc == 0) {
    rc = uv_resident_set_memory(&now);
  }
  size_t freed = (rc == 0 && before > now) ? before - now : 0;
  h->releases++;
  h->released_bytes += freed;
  siphon__log(SIPHON_LOG_DEBUG, NULL, "idle: gave %.1f MiB of freed memory back in %.1f ms",
              (double)freed / 1048576.0, (double)(uv_hrtime() - t0) / 1e6);
#endif
}

/* Under another allocator the timer still runs (so that the memory
 * checkers, which replace the allocator, see its whole life), but a
 * release does nothing and the stats record counts none. */
void siphon__memory_start(siphon__host *h) {
  if (h->config->release_memory_after_ms == 0 || h->mode != SIPHON__MODE_RUN) {
    return;
  }
  h->release_works = glibc_heap();
  if (!h->release_works) {
    siphon__log(SIPHON_LOG_DEBUG, NULL,
                "release_memory_after: not glibc's allocator, so freed memory is left to it");
  }
  uv_timer_init(h->loop, &h->release_timer);
  h->release_timer.data = h;
  h->release_on = 1;
}

void siphon__memory_busy(siphon__host *h) {
  if (h->release_on) {
    uv_timer_stop(&h->release_timer);
  }
}

void siphon__memory_idle(siphon__host *h) {
  if (h->release_on && !h->stopping) {
    uv_timer_start(&h->release_timer, on_release, h->config->release_memory_after_ms, 0);
  }
}

void siphon__memory_stop(siphon__host *h) {
  if (h->release_on) {
    uv_close((uv_handle_t *)&h->release_timer, NULL);
    h->release_on = 0;
  }
}
