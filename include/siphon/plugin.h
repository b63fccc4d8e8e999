/*
 * siphon plugin SDK: the only header a source plugin includes.
 *
 * A plugin is a shared object that exports one symbol, `siphon_plugin`, a
 * const siphon_plugin_desc. The host checks its ABI version and size before
 * it reads anything else, validates each source's options against the
 * plugin's options table, and then drives the plugin through the callbacks
 * below. Everything the plugin may ask of the host goes through the
 * siphon_host_api table it is handed: a plugin links to no host symbol.
 *
 * Conventions (libuv's):
 *   - Functions that can fail return 0 or a negative errno value (-EINVAL,
 *     -ENOMEM, -ETIMEDOUT, ...). siphon_strerror() style text is the
 *     caller's business; messages travel in siphon_error.
 *   - A function that takes a completion and fails synchronously never
 *     completes: if collect() returns non-zero, round_done() must not be
 *     called for that round.
 *
 * Ownership of json_t values (jansson's reference rules):
 *   - `const json_t *` arguments are borrowed: valid for the duration of the
 *     call only; json_incref() them to keep them.
 *   - json_t * passed to the host's emit functions is STOLEN: the host owns
 *     the reference afterwards, even when the call fails.
 *
 * Threads: unless a function says otherwise, the host calls a plugin on the
 * loop thread, and a plugin calls the host on the loop thread.
 */
#ifndef SIPHON_PLUGIN_H
#define SIPHON_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI versioning.
 *
 * MAJOR changes when an existing field, callback signature or meaning
 * changes; the host refuses a plugin of another major. MINOR changes when
 * fields are appended at the end of siphon_plugin_desc or siphon_host_api;
 * a plugin built against an older minor still loads (fields it does not
 * have read as NULL/0), and a plugin can test whether the host offers a
 * newer service with SIPHON_HOST_HAS().
 *
 * History:
 *   1.0  the first ABI.
 *   1.1  siphon_plugin_desc.example; siphon_host_api.set_streaming;
 *        SIPHON_OPT_SIZE.
 */
#define SIPHON_ABI_MAJOR 1
#define SIPHON_ABI_MINOR 1
#define SIPHON_ABI_VERSION (((uint32_t)SIPHON_ABI_MAJOR << 16) | SIPHON_ABI_MINOR)
#define SIPHON_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define SIPHON_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* The name of the symbol the host looks up in every plugin. */
#define SIPHON_PLUGIN_SYMBOL "siphon_plugin"

/* Declares the descriptor with the right name, type and visibility. */
#if defined(__GNUC__)
#define SIPHON_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SIPHON_PLUGIN_EXPORT
#endif
/* In C++ a const at namespace scope is file-local, and its name mangled:
 * the descriptor needs extern "C" there to be found by its name. */
#ifdef __cplusplus
#define SIPHON_PLUGIN_DEFINE extern "C" SIPHON_PLUGIN_EXPORT const siphon_plugin_desc siphon_plugin
#else
#define SIPHON_PLUGIN_DEFINE SIPHON_PLUGIN_EXPORT const siphon_plugin_desc siphon_plugin
#endif

/* Opaque handles owned by the host. */
typedef struct siphon_source siphon_source; /* one configured source */
typedef struct siphon_round siphon_round;   /* one collection of a polled source */

/* Where a plugin's work runs. */
typedef enum siphon_capability {
  /* collect() runs on the loop thread, must not block, and finishes later
   * by calling round_done(). */
  SIPHON_CAP_ASYNC = 1,
  /* collect_blocking() runs on libuv's threadpool and may block. */
  SIPHON_CAP_BLOCKING = 2
} siphon_capability;

/* How records arrive. */
typedef enum siphon_kind {
  /* The host calls collect on every interval. */
  SIPHON_KIND_POLLED = 1,
  /* The plugin is started once and emits whenever data arrives (listeners).
   * Only SIPHON_CAP_ASYNC plugins may be streaming. */
  SIPHON_KIND_STREAMING = 2
} siphon_kind;

/* Types in the options table. The host checks each option's JSON type
 * before create() sees it. */
typedef enum siphon_opt_type {
  SIPHON_OPT_STRING = 1,   /* JSON string */
  SIPHON_OPT_INT = 2,      /* JSON integer */
  SIPHON_OPT_NUMBER = 3,   /* JSON integer or real */
  SIPHON_OPT_BOOL = 4,     /* JSON true/false */
  SIPHON_OPT_DURATION = 5, /* "250ms", "10s", "1m", "1h" or integer ms;
                            * create() always sees an integer of ms */
  SIPHON_OPT_OBJECT = 6,   /* JSON object */
  SIPHON_OPT_ARRAY = 7,    /* JSON array */
  SIPHON_OPT_ANY = 8,      /* any JSON value */
  SIPHON_OPT_SIZE = 9      /* ABI 1.1: "64KiB", "16MiB", "1GB" or integer bytes;
                            * create() always sees an integer of bytes */
} siphon_opt_type;

/* Option flags. */
#define SIPHON_OPT_REQUIRED 0x1u /* the source must set it */
#define SIPHON_OPT_SECRET 0x2u   /* never printed: logs, --check, --help */

/*
 * One row of a plugin's options table. The table ends with a row whose key
 * is NULL. The host rejects keys not in the table (suggesting the nearest),
 * wrong types and missing required options, with the JSON path of the
 * offending value, and fills in defaults, so create() sees a complete
 * object.
 */
typedef struct siphon_option {
  const char *key;          /* option name, e.g. "url" */
  siphon_opt_type type;     /* expected JSON type */
  unsigned flags;           /* SIPHON_OPT_REQUIRED | SIPHON_OPT_SECRET */
  const char *default_json; /* default as JSON text ("16777216", "\"GET\""),
                             * or NULL for none */
  const char *choices;      /* for strings: allowed values separated by '|'
                             * ("GET|POST"), or NULL for any; on another
                             * type the loader warns: nothing is restricted */
  const char *description;  /* one line, shown by --help-plugin */
} siphon_option;

/* Error detail filled by a plugin for the host (jansson's json_error_t
 * idea). `path` is relative to the source's options ("url",
 * "basic.user"); the host prefixes it with "sources[N].options.". */
#define SIPHON_ERROR_TEXT_LENGTH 256
#define SIPHON_ERROR_PATH_LENGTH 128
typedef struct siphon_error {
  char path[SIPHON_ERROR_PATH_LENGTH];
  char text[SIPHON_ERROR_TEXT_LENGTH];
} siphon_error;

/* Log levels, most severe first. */
typedef enum siphon_log_level {
  SIPHON_LOG_ERROR = 0,
  SIPHON_LOG_WARN = 1,
  SIPHON_LOG_INFO = 2,
  SIPHON_LOG_DEBUG = 3
} siphon_log_level;

/*
 * Services the host offers to plugins. Valid from plugin_init() until
 * plugin_fini() returns. Check SIPHON_HOST_HAS(api, member) before using
 * a member added after ABI 1.0.
 */
typedef struct siphon_host_api {
  uint32_t abi_version; /* the host's SIPHON_ABI_VERSION */
  uint32_t struct_size; /* sizeof(siphon_host_api) in the host */

  /*
   * log: writes one line to the host's log, prefixed with the time, the
   * level and the source's name (src may be NULL for plugin-wide messages).
   * Lines below the configured log level are dropped. Any thread.
   */
  void (*log)(siphon_source *src, siphon_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;

  /*
   * round_emit: adds a record to a round in progress.
   * data: the record's payload; STOLEN. meta: extra envelope fields
   * (e.g. HTTP status) as an object, or NULL; STOLEN.
   * Thread: the loop thread for async rounds; the worker thread running
   * collect_blocking() for blocking rounds (records are then delivered on
   * the loop thread after collect_blocking() returns).
   * Returns 0, or -ECANCELED when the round has timed out or been
   * cancelled: the record is then discarded and counted, not written;
   * -EINVAL for a NULL data (what a failed json_pack() returns), counted
   * so too and logged once as the plugin's bug. A meta that is not an
   * object is logged so, and dropped: the record goes without it.
   * Called for an async round from a thread other than the loop's, it is
   * logged once as the plugin's bug and the record handed to the loop
   * (returning 0), in order with the thread's round_done().
   */
  int (*round_emit)(siphon_round *round, json_t *data, json_t *meta);

  /*
   * round_done: finishes an async round. Must be called exactly once for
   * every collect() that returned 0, also after cancel(); never for a
   * blocking round. status: 0 or a negative errno value. errmsg: what went
   * wrong (copied), or NULL. The round handle is invalid afterwards (the
   * host logs and ignores a second call it can still recognize, but the
   * call is a bug). Thread: loop; called from another thread, it is
   * logged once as the plugin's bug and handed to the loop thread, which
   * ends the round (wake the loop with a uv_async_t instead).
   */
  void (*round_done)(siphon_round *round, int status, const char *errmsg);

  /*
   * round_cancelled: non-zero once the host wants the round to stop (its
   * timeout passed, or siphon is stopping and shutdown_grace has passed:
   * rounds in flight get the grace to finish first). Blocking collects
   * poll it between steps. Any thread.
   */
  int (*round_cancelled)(const siphon_round *round);

  /*
   * emit: a record from a streaming source, outside any round.
   * data and meta as in round_emit (STOLEN). Thread: loop. Allowed
   * until stop() returns (stop() itself may emit what it buffered).
   * Returns 0, -ECANCELED once stop() has returned, or -EINVAL for a NULL
   * data or from a polled source (its records belong in its rounds), each
   * counted and logged once as the plugin's bug. Called from a thread
   * other than the loop's, it is logged once so, and the record handed
   * to emit_threadsafe().
   */
  int (*emit)(siphon_source *src, json_t *data, json_t *meta);

  /*
   * emit_threadsafe: a record from any thread the plugin owns (the C twin
   * of asyncio's run_coroutine_threadsafe). The record is queued and
   * written on the loop thread, in order per calling thread. data and meta
   * are STOLEN. While 16,384 records (of every plugin's threads) wait in
   * the queue, the calling thread waits until the loop has written half
   * of them, or 100 ms at most: backpressure, as a blocking write gives;
   * while the output is behind (over siphon.buffer_limit) the queue is
   * not written. It never waits on the loop thread, while the host is in
   * the plugin's start(), pause() or resume() (which may join the thread
   * or take a lock it holds), nor once the stop has begun. Returns 0, -ECANCELED once the host
   * takes no more (it is leaving without waiting for the plugin, past shutdown_grace; the record is
   * counted as discarded), or -EINVAL for a NULL data. From a polled source it is written outside
   * any round (no round counts it), as a plugin's background thread may want. Any thread, including
   * the loop, but only until the source's destroy() returns: join your threads in stop() or
   * destroy(), since the source may be freed after it.
   */
  int (*emit_threadsafe)(siphon_source *src, json_t *data, json_t *meta);

  /*
   * loop: the host's event loop, for async plugins to start handles on.
   * Handles a plugin starts are the plugin's: it closes them (in stop(),
   * destroy() or plugin_fini()) and frees their memory in the close
   * callback; the host runs the loop until every handle is closed before
   * it exits. Thread: loop.
   */
  uv_loop_t *(*loop)(siphon_source *src);

  /* source_name: the source's configured name; valid while src lives. */
  const char *(*source_name)(const siphon_source *src);

  /* source_timeout_ms: the source's timeout in ms (its interval when the
   * config sets none). Any thread. Like every duration siphon accepts
   * (the interval's, and SIPHON_OPT_DURATION options'), at most 100 years
   * (3,155,760,000,000 ms): adding it to a time in ms cannot overflow. */
  uint64_t (*source_timeout_ms)(const siphon_source *src);

  /* source_interval_ms: the source's interval in ms. Any thread. */
  uint64_t (*source_interval_ms)(const siphon_source *src);

  /* state_dir: a directory where the plugin may keep small state files
   * across restarts (siphon.state_dir). The host creates it the first
   * time a plugin asks for it (so plugins that keep no state leave no
   * empty directory behind), but not under --check, which writes nothing:
   * there it may not exist, and a missing file reads as a first run.
   * Any thread. */
  const char *(*state_dir)(const siphon_source *src);

  /* plugin_data: what plugin_init() stored, or NULL. Any thread. */
  void *(*plugin_data)(const siphon_source *src);

  /* --- ABI 1.1 --- */

  /*
   * set_streaming: called from create() by a plugin whose instances may be
   * either polled or streaming (a socket plugin that listens in one mode
   * and probes in another): this instance is streaming, so the host calls
   * start()/stop() for it and never schedules collect(). Only an async
   * plugin with start() and stop() may call it (the host refuses the
   * source otherwise). Plugins whose descriptor says
   * SIPHON_KIND_STREAMING need not call it. Thread: loop.
   */
  void (*set_streaming)(siphon_source *src);
} siphon_host_api;

/* True when the host's table is long enough to hold `member`. */
#define SIPHON_HOST_HAS(api, member) \
  ((api)->struct_size >= offsetof(siphon_host_api, member) + sizeof((api)->member))

/*
 * The descriptor a plugin exports as `siphon_plugin` (use
 * SIPHON_PLUGIN_DEFINE). Fields are read only after abi_version and
 * struct_size pass the host's checks.
 */
typedef struct siphon_plugin_desc {
  uint32_t abi_version; /* SIPHON_ABI_VERSION the plugin was built with */
  uint32_t struct_size; /* sizeof(siphon_plugin_desc) the plugin was built with */

  const char *name;        /* unique plugin name used in configs: [a-z0-9_-]+ */
  const char *version;     /* the plugin's own version, e.g. "1.2.0" */
  const char *description; /* one line */
  siphon_capability capability;
  siphon_kind kind;
  const siphon_option *options; /* table ending with {NULL}; may be NULL */

  /*
   * plugin_init (optional): called once, on the loop thread, before the
   * first create(). Store plugin-wide state (a shared connection pool,
   * a library's global init) in *plugin_data. Return 0 or a negative errno
   * and fill err.
   */
  int (*plugin_init)(const siphon_host_api *api, uv_loop_t *loop, void **plugin_data,
                     siphon_error *err);

  /* plugin_fini (optional): called once after the last destroy(); close
   * what plugin_init opened. Handles may still be closing: the host runs
   * the loop after this returns. */
  void (*plugin_fini)(void *plugin_data);

  /*
   * create (required): makes an instance for one source.
   * options: the validated options with defaults filled in and durations
   *   as integer ms; BORROWED (incref or copy what you keep).
   * *instance: set to the plugin's per-source state.
   * Returns 0, or a negative errno with err filled (err->path relative to
   * the options). Called by `siphon --check` too, so it must not connect
   * or start I/O: do that in start() or collect(). Thread: loop.
   */
  int (*create)(const siphon_host_api *api, siphon_source *src, const json_t *options,
                void **instance, siphon_error *err);

  /*
   * collect (async polled plugins): starts one round. Must not block.
   * Returns 0 and later calls api->round_done(round, ...) exactly once;
   * or returns a negative errno and never calls round_done for it.
   * Thread: loop.
   */
  int (*collect)(void *instance, siphon_round *round);

  /*
   * collect_blocking (blocking polled plugins): one whole round, on a
   * libuv threadpool thread. May block; should poll
   * api->round_cancelled(round). Emits with api->round_emit().
   * Returns 0 or a negative errno with err->text filled.
   * Two rounds of one source never run at once, but rounds of different
   * sources of the same plugin do: guard shared state.
   */
  int (*collect_blocking)(void *instance, siphon_round *round, siphon_error *err);

  /*
   * cancel (optional, async polled plugins): the round's timeout passed
   * or the host is shutting down. Abort the round's I/O and call
   * round_done(round, -ECANCELED or -ETIMEDOUT, ...), now or later.
   * Without cancel the host waits for round_done but discards records
   * emitted after the timeout. Thread: loop.
   */
  void (*cancel)(void *instance, siphon_round *round);

  /*
   * start (streaming plugins, or instances that called set_streaming):
   * begin listening. Return 0, or a negative
   * errno with err filled: the host logs it with the source's name and
   * stops siphon (exit 1), as a listener that cannot listen is a broken
   * deployment, not a round to retry. Thread: loop.
   */
  int (*start)(void *instance, siphon_error *err);

  /*
   * stop (streaming plugins): stop accepting data, emit what is already
   * buffered (partial lines at close, say) with api->emit(), and begin
   * closing handles. Called once, at shutdown. Thread: loop.
   */
  void (*stop)(void *instance);

  /*
   * pause / resume (optional, streaming plugins): the output queue is
   * full / has drained; stop / restart reading from peers so that memory
   * stays bounded (backpressure). Thread: loop.
   */
  void (*pause)(void *instance);
  void (*resume)(void *instance);

  /*
   * destroy (required): frees the instance. No round of it is running.
   * Handles may be closed here with their memory freed in close
   * callbacks; the host runs the loop afterwards. Thread: loop.
   */
  void (*destroy)(void *instance);

  /* --- ABI 1.1 --- */

  /* example (optional): a JSON object of example options, shown by
   * `siphon --help-plugin NAME`. The loader checks it against the options
   * table, and warns when the table refuses it. */
  const char *example;
} siphon_plugin_desc;

/* The smallest descriptor size the host accepts for ABI 1.x: every field
 * of 1.0. A descriptor from an older minor is smaller than
 * sizeof(siphon_plugin_desc), one from a newer minor may be larger; the
 * host reads only the fields both know. */
#define SIPHON_PLUGIN_DESC_MIN_SIZE \
  (offsetof(siphon_plugin_desc, destroy) + sizeof(void (*)(void *)))

#ifdef __cplusplus
}
#endif

#endif /* SIPHON_PLUGIN_H */
