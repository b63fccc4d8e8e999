/* The process's memory: what it holds, for the stats record, and giving
 * the pages of freed heap back to the system while the sources are idle
 * (siphon.release_memory_after). */
#ifndef SIPHON_CORE_MEMORY_H
#define SIPHON_CORE_MEMORY_H

#include <jansson.h>

#include "host.h"

/* A NEW object: rss_bytes, peak_rss_bytes (Linux), glibc's heap_in_use_bytes
 * and heap_free_bytes where its allocator is the one in use, and releases
 * and released_bytes once releasing is on. Loop thread. */
json_t *siphon__memory_snapshot(const siphon__host *h);

/* Turns releasing on in a continuous run, when the config asks for it and
 * glibc's allocator is the one in use. Loop thread. */
void siphon__memory_start(siphon__host *h);

/* The first round in flight started: no release while it runs. */
void siphon__memory_busy(siphon__host *h);

/* The last round in flight ended: release after the configured delay,
 * if no round started by then and none is due for as long again. */
void siphon__memory_idle(siphon__host *h);

/* Closes the timer (shutdown). */
void siphon__memory_stop(siphon__host *h);

#endif
