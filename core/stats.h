/* The host's own stats record (siphon.stats_interval). */
#ifndef SIPHON_CORE_STATS_H
#define SIPHON_CORE_STATS_H

#include <jansson.h>

#include "host.h"

/* A NEW object with the host's and every source's counters. Loop thread. */
json_t *siphon__stats_snapshot(siphon__host *h);

/* Starts the periodic record when siphon.stats_interval is set (run mode). */
void siphon__stats_start(siphon__host *h);

/* Closes the timer (shutdown). */
void siphon__stats_stop(siphon__host *h);

/* Frees what stats_start allocated (teardown). */
void siphon__stats_free(siphon__host *h);

#endif
