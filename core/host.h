/* The host: one loop, the loaded plugins, the configured sources and the
 * output. host.c builds and tears it down; scheduler.c, runner_async.c,
 * runner_blocking.c, emit.c and output.c do the work. */
#ifndef SIPHON_CORE_HOST_H
#define SIPHON_CORE_HOST_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "diag.h"
#include "loader.h"
#include "output.h"
#include "siphon/plugin.h"

typedef enum siphon__mode {
  SIPHON__MODE_RUN = 0,  /* forever, until a signal */
  SIPHON__MODE_ONCE = 1, /* one round over all polled sources */
  SIPHON__MODE_CHECK = 2 /* create every instance, run nothing */
} siphon__mode;

/* How the last round of a source ended (for --once and logs). */
typedef enum siphon__round_status {
  SIPHON__ROUND_NONE = 0,
  SIPHON__ROUND_OK,
  SIPHON__ROUND_FAILED,
  SIPHON__ROUND_TIMEOUT,
  SIPHON__ROUND_SKIPPED
} siphon__round_status;

typedef struct siphon__host siphon__host;

struct siphon_source {
  siphon__host *host;
  siphon__plugin *plugin;
  const siphon__source_conf *conf;
  char *name;
  char *prefix; /* pre-serialized record head: ,"source":..,"plugin":..,"tags":{..} */
  size_t prefix_len;
  void *instance;
  int created;
  int streaming;
  int started;       /* streaming: start() succeeded */
  atomic_int closed; /* destroyed: further emits are refused */
  int stopped;       /* stop() returned: emit() is refused */

  uv_timer_t tick;                    /* when the next round is due */
  uv_timer_t timeout;                 /* the running round's deadline */
  uint64_t due_ms;                    /* loop time the current tick was due */
  struct siphon_round *round;         /* the round in flight, or NULL */
  struct siphon_round *dead;          /* the last released, kept to catch late calls */
  int pending;                        /* due while paused by backpressure */
  unsigned failures;                  /* consecutive failed rounds: backoff exponent */
  atomic_uint plugin_bugs;            /* round misuses caught (round.c); the first is logged */
  int loop_block_said;                /* an async collect() that blocked the loop was said */
  struct siphon_source *next_waiting; /* bulkhead FIFO link */

  /* Counters. */
  uint64_t rounds, rounds_ok, rounds_failed, rounds_timeout, rounds_skipped;
  uint64_t rounds_dropped;           /* of rounds_skipped: rounds queued and never run (shutdown) */
  uint64_t skips_said, skip_said_ms; /* "skipping this turn" lines, and the last's time */
  uint64_t records;
  atomic_uint_fast64_t discarded; /* emitted after timeout/cancel */

  /* The last round, for --once's summary. */
  siphon__round_status last_status;
  uint64_t last_records;
  uint64_t last_ms;
  char *last_error;
};

/* A round handle's state, checked where a plugin hands one back, so that a
 * plugin that finishes a round twice gets a message naming it, not a
 * use after free. Each source keeps its last released round (s->dead),
 * which is why an async round is small. */
#define SIPHON__ROUND_LIVE 0x726f756eu /* "roun" */
#define SIPHON__ROUND_DEAD 0x64656164u /* "dead" */

/* What only a blocking round needs, allocated with it alone. */
typedef struct siphon__blocking_part {
  int queued; /* waiting for a bulkhead slot */
  /* Records buffered on the worker thread. */
  struct siphon__pending_record *pending;
  size_t pending_len, pending_cap;
  size_t delivered;     /* pending records already written */
  int deferred;         /* delivery waits for the output to drain */
  int returned;         /* collect_blocking() returned: its records are being written */
  uint64_t returned_ms; /* when it came back to the loop (siphon__now_ms) */
  int work_status;      /* uv_queue_work's status */
  uv_work_t work;
  int status;
  siphon_error err;
} siphon__blocking_part;

struct siphon_round {
  atomic_uint magic; /* SIPHON__ROUND_LIVE, or _DEAD once released */
  /* The host's one reference (its round, then its last dead one), and one
   * for each call a plugin's own thread queued for the loop (emit.c), so
   * that a queued call finds the round dead, not freed. */
  atomic_uint refs;
  siphon_source *src;
  uint64_t started_ms;
  atomic_int cancelled; /* timeout or shutdown asked it to stop */
  int reported;         /* outcome recorded */
  int cancel_sent;      /* cancel() already called */
  int done;             /* async: round_done() called */
  int in_collect;       /* async: collect() has not returned yet */
  uint64_t records;
  siphon__blocking_part b[]; /* blocking rounds only: r->b->... */
};

struct siphon__host {
  uv_loop_t *loop;
  siphon__mode mode;
  siphon__config *config;
  siphon__registry registry;
  siphon_host_api api;
  siphon_source *sources;
  size_t source_count;
  unsigned threads;
  /* Blocking rounds on the pool now, and the most there may be: the pool
   * less the threads kept for libuv's own work (host.c pool_reserve()),
   * whatever each plugin's share. */
  unsigned blocking_busy, blocking_max;
  struct siphon__plugin *blocking_turn; /* whose queue a freed thread tries first */

  siphon__output output;

  /* Thread-safe emit: records from plugin threads wait here. */
  uv_async_t ts_async;
  uv_mutex_t ts_lock;
  struct siphon__ts_item *ts_head, *ts_tail;
  int ts_closed;
  /* Producers wait on ts_room while the queue is full (emit.c), unless
   * ts_unbounded (the stop has begun) or they are the loop thread. */
  uv_cond_t ts_room;
  int ts_unbounded;
  int ts_in_plugin;   /* the loop is in a plugin's start/pause/resume */
  int ts_ready;       /* siphon__ts_setup() done: the lock and the condition */
  int ts_async_ready; /* siphon__ts_init() done, and ts_async not closed */
  uv_thread_t loop_thread;

  uv_signal_t sigint, sigterm, sighup;
  uv_timer_t grace;
  uv_timer_t kick; /* re-evaluates shutdown/--once progress outside callbacks */
  /* Unref'd, from finish(): a handle a plugin left active (a repeating
   * timer) would keep the loop running after the stop line forever. */
  uv_timer_t leftover;
  int leftover_armed;
  int stopping; /* no new rounds */
  int signals;  /* how many stop signals arrived */
  int paused;   /* backpressure: output queue over its limit */
  int fatal;    /* the output failed: exit non-zero */
  int finished; /* instances destroyed, handles closing */
  int kick_ready;
  int reported;          /* --once: summary printed */
  uv_mutex_t state_lock; /* state_dir is created on first use */
  int state_ready;
  int stopping_pending;   /* a listener failed to start */
  uint64_t pauses;        /* times backpressure paused the sources */
  uint64_t pause_said_ms; /* when a pause was last logged at info */
  uint64_t pauses_said;   /* h->pauses then */
  int pause_info;         /* this pause and its resume are logged at info */
  uint64_t paused_ms;     /* when this pause began */
  uv_timer_t stats_timer;
  int stats_on;
  uint64_t stats_records; /* stats records handed to the output */
  char *stats_prefix;
  size_t stats_prefix_len;
  size_t rounds_in_flight;
  uv_timer_t release_timer; /* memory.c: freed pages go back when idle */
  int release_on;           /* the timer is initialized (continuous run, not 0) */
  int release_works;        /* glibc's allocator is in use, so a release does something */
  uint64_t releases, released_bytes;
  size_t once_left; /* --once: rounds still to finish */
  uint64_t started_ms;
  int exit_code;
};

/* host.c */
int siphon__host_setup(siphon__host *h, siphon__config *cfg, siphon__mode mode, siphon__diag *d);
int siphon__host_run(siphon__host *h);
void siphon__host_teardown(siphon__host *h);
void siphon__host_begin_shutdown(siphon__host *h, const char *why);
/* Called when a round ends or a source stops, to finish shutdown/--once. */
void siphon__host_maybe_finish(siphon__host *h);

/* host_api.c */
void siphon__host_api_init(siphon_host_api *api);

/* scheduler.c */
void siphon__scheduler_start(siphon__host *h);
void siphon__scheduler_stop(siphon__host *h);
void siphon__scheduler_round_finished(siphon_source *s, siphon__round_status st,
                                      const char *errmsg);
void siphon__scheduler_resume(siphon__host *h);

/* runner_async.c / runner_blocking.c */
void siphon__run_async(siphon_source *s, siphon_round *r);
void siphon__async_timeout(siphon_source *s, siphon_round *r);
void siphon__run_blocking(siphon_source *s, siphon_round *r);
/* The output drained, or siphon is stopping: blocking rounds whose
 * records waited (over buffer_limit) go on writing them. */
void siphon__blocking_resume(siphon__host *h);
/* A blocking round that has returned writes every record it still holds
 * now, at once, and ends (may free r): 1. 0, doing nothing, for any other
 * round. For the end of a stop, when no later loop turn may come. */
int siphon__blocking_deliver_now(siphon_round *r);
/* Drops a round still waiting for a bulkhead slot, reporting st/why. */
void siphon__blocking_drop_queued(siphon_source *s, siphon_round *r, siphon__round_status st,
                                  const char *why);

/* host.c: writes one record line of s to the output and pauses the
 * sources when the output queue is full. ts: the record's time, or NULL
 * for now. Steals data and meta. Loop thread. */
void siphon__record_write(siphon_source *s, const char *ts, json_t *data, json_t *meta);

/* emit.c */
int siphon__emit_threadsafe(siphon_source *s, json_t *data, json_t *meta);
/* An async round's round_emit() / round_done() called from a thread of
 * the plugin's own: queued with its records, in order, and done on the
 * loop thread (round.c) when the queue is written. Any thread. */
int siphon__ts_round_emit(siphon_round *r, json_t *data, json_t *meta);
void siphon__ts_round_done(siphon_round *r, int status, const char *errmsg);
/* Does now what is queued up to the last call that names r: the loop's
 * own round_done() for r must not end it before the records a plugin's
 * thread handed over for it (they would be discarded as late). Loop
 * thread. */
void siphon__ts_drain_round(siphon__host *h, const siphon_round *r);
/* The queue's lock, at setup: threads a plugin starts in create() may
 * emit before the run. */
void siphon__ts_setup(siphon__host *h);
/* The loop's wake-up for it, at the run. */
int siphon__ts_init(siphon__host *h);
/* At the stop: writes what is queued, closes the wake-up. */
void siphon__ts_close(siphon__host *h);
/* At teardown, after every destroy(): what is still queued (a run that
 * never began) is counted as discarded; the wake-up is closed. */
void siphon__ts_teardown(siphon__host *h);
/* Last, once the loop has closed every handle: the lock and condition. */
void siphon__ts_free(siphon__host *h);
void siphon__ts_drain(siphon__host *h);
/* The output drained: write what waits (drain() skips while paused). */
void siphon__ts_resume(siphon__host *h);
/* The stop has begun: no producer waits for room from now on, and the
 * queue is written whether the output is behind or not. A no-op before
 * siphon__ts_init(). */
void siphon__ts_unbound(siphon__host *h);
/* The loop calls into a plugin (entering 1) or is back (0): meanwhile no
 * producer waits for room, since the plugin may wait on its own threads
 * (pause() joining them, or taking a lock one holds while it emits). */
void siphon__ts_plugin_call(siphon__host *h, int entering);
/* Records emit_threadsafe() queued and the loop has not written yet. */
uint64_t siphon__ts_queued(void);

/* summary.c */
void siphon__summary_print(const siphon__host *h);
/* "ok", "failed", "timeout", "skipped" or "not run". */
const char *siphon__round_status_name(siphon__round_status st);

#endif
