/* A round's life: started by the scheduler, run by the async or blocking
 * runner, reported once (outcome, counters, backoff) and released once
 * (memory, in-flight count). A timed-out round is reported at its timeout
 * but released only when the plugin lets go of it. */
#ifndef SIPHON_CORE_ROUND_H
#define SIPHON_CORE_ROUND_H

#include "host.h"

typedef struct siphon__pending_record {
  json_t *data;
  json_t *meta;
  char ts[25];
} siphon__pending_record;

/* Records that blocking rounds emitted and the loop has not written yet:
 * kept in their rounds until collect_blocking() returns. Read by the stop
 * paths that cannot wait for those rounds, so that what they leave
 * behind is counted (a signal handler too: a lock-free atomic load). */
uint64_t siphon__round_held(void);

/* n held records were written or dropped (runner_blocking.c). */
void siphon__round_unhold(uint64_t n);

/* Starts a round of s now. */
void siphon__round_start(siphon_source *s);

/* Plugin-facing: see siphon_host_api. */
int siphon__round_emit(siphon_round *r, json_t *data, json_t *meta);
/* The outcome of a round a plugin ended with `status`: ok, failed, or,
 * for -ETIMEDOUT at the round's deadline, timed out (said in the log, as
 * the host's own timeout is). Loop thread. */
siphon__round_status siphon__round_outcome(const siphon_round *r, int status, const char *errmsg);
/* A plugin's record checked: a NULL data (a json_pack() that failed) is
 * the plugin's bug, logged once a source: *meta is released, the record
 * counted as discarded, and -EINVAL returned. A meta that is not an
 * object is logged so too, released and set to NULL, and the record
 * goes (0). Any thread. */
int siphon__record_args_bad(siphon_source *s, const char *call, json_t *data, json_t **meta);
/* Logs a plugin's bug on a source, once a source: "plugin "x" WHAT: a bug
 * in the plugin (RULE) ...". Any thread. */
void siphon__source_bug(siphon_source *s, const char *what, const char *rule);
void siphon__round_done(siphon_round *r, int status, const char *errmsg);

/* Records the outcome (once per round). */
void siphon__round_report(siphon_round *r, siphon__round_status st, const char *errmsg);

/* Ends the round: clears s->round and the in-flight count, and keeps the
 * round dead but allocated as s->dead until the source's next round is
 * released, so that a plugin's late round_done() or round_emit() on it
 * is reported instead of touching freed memory. */
void siphon__round_release(siphon_round *r);

/* Frees the released rounds kept to catch a plugin's late calls
 * (teardown, once no plugin can call any more). */
void siphon__round_free_dead(siphon__host *h);

/* Drops one reference to r (host.h's refs), freeing it with the last.
 * Any thread: a queued call refused on a plugin's thread drops its own. */
void siphon__round_unref(siphon_round *r);

/* Asks a running round to stop (shutdown); async plugins get cancel(). */
void siphon__round_cancel(siphon_round *r);

#endif
