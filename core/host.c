/* The host's life: setup (plugins, options, instances), run (output,
 * signals, streaming sources, scheduler), graceful shutdown and teardown.
 * Shutdown: stop scheduling, stop listeners, let rounds in flight finish
 * within shutdown_grace, cancel the rest, destroy instances, flush the
 * output, close every handle. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "memory.h"
#include "options.h"
#include "record.h"
#include "round.h"
#include "stats.h"
#include "util.h"

static uv_loop_t host_loop;

/* A second stop signal within this long of the first is the same
 * request: `timeout` and process managers send SIGTERM to the process and
 * to its group, so it arrives twice at once. */
#define SIPHON__SIGNAL_ECHO_MS 500

/* The first stop signal and when it came, for on_signal() while the loop
 * runs and late_signal() after (one host a process; lock-free atomics, so
 * async-signal-safe). 0: none yet. */
static _Atomic int echo_signal;
static _Atomic uint64_t echo_since_ms;

/* Milliseconds on the clock uv_hrtime() reads; async-signal-safe. */
static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void note_first_signal(int signum, uint64_t now) {
  atomic_store(&echo_since_ms, now);
  atomic_store(&echo_signal, signum);
}

/* A copy of the first stop signal, arriving within the echo window. */
static int is_echo(int signum, uint64_t now) {
  return signum == atomic_load(&echo_signal) &&
         now - atomic_load(&echo_since_ms) < SIPHON__SIGNAL_ECHO_MS;
}

/* Once the loop's signal handles are closed (the last steps of a stop,
 * flushing the output), libuv has put the default action back, and the
 * echo of a stop signal would kill siphon before its stop line. This
 * handler keeps the loop's rule: a stop signal's copy within 0.5 s is
 * ignored, another signal exits at once. A first stop signal here (a
 * --once run ending by itself) is ignored too: siphon is stopping. */
static void late_signal(int signum) {
  uint64_t now = mono_ms();
  if (atomic_load(&echo_signal) == 0) {
    note_first_signal(signum, now);
    return;
  }
  if (is_echo(signum, now)) {
    return;
  }
  /* What the loop's handler says, without stdio (not async-signal-safe):
   * the count is the last the output's close saw. */
  char msg[128] = "siphon: second signal: exiting at once (";
  size_t n = strlen(msg);
  char digits[24];
  size_t k = 0;
  uint64_t left = siphon__output_unwritten_hint() + siphon__round_held() + siphon__ts_queued();
  const char *tail = left == 1 ? " record unwritten)\n" : " records unwritten)\n";
  do {
    digits[k++] = (char)('0' + left % 10);
    left /= 10;
  } while (left != 0);
  while (k > 0) {
    msg[n++] = digits[--k];
  }
  memcpy(msg + n, tail, strlen(tail));
  n += strlen(tail);
  siphon__log_raw(msg, n);
  _exit(128 + signum);
}

/* Pool threads kept for libuv's own work (see pool_reserve()). */
#define SIPHON__POOL_RESERVE 2u

static unsigned choose_threads(const siphon__host *h) {
  if (h->config->threads > 0) {
    return h->config->threads;
  }
  /* One thread per blocking source up to 64, and the reserve below on
   * top, never under libuv's 4. */
  unsigned blocking = 0;
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon_source *s = &h->sources[i];
    blocking += s->plugin != NULL && s->plugin->desc.capability == SIPHON_CAP_BLOCKING;
  }
  unsigned n = (blocking > 64 ? 64 : blocking) + SIPHON__POOL_RESERVE;
  return n < 4 ? 4 : n;
}

/* Threads no blocking plugin may take: libuv's pool also runs the name
 * lookups of async plugins (uv_getaddrinfo) and any uv_fs call, and a
 * plugin whose rounds all hang would hold them up too. */
static unsigned pool_reserve(unsigned threads) {
  return threads > SIPHON__POOL_RESERVE ? SIPHON__POOL_RESERVE : threads - 1;
}

/* Whether an enabled source uses p (a disabled one's plugin is loaded
 * only to be checked). */
static int plugin_used(const siphon__host *h, const siphon__plugin *p) {
  for (size_t i = 0; i < h->source_count; i++) {
    if (h->sources[i].plugin == p) {
      return 1;
    }
  }
  return 0;
}

static void setup_bulkheads(siphon__host *h) {
  unsigned plugins = 0;
  for (siphon__plugin *p = h->registry.head; p != NULL; p = p->next) {
    plugins += p->desc.capability == SIPHON_CAP_BLOCKING && plugin_used(h, p);
  }
  double share = h->config->max_pool_share;
  if (share <= 0.0) {
    share = plugins <= 1 ? 1.0 : 0.5;
  }
  /* The reserve holds for all blocking plugins together (runner_blocking.c
   * counts their rounds), and each one's share is of what is left. */
  unsigned most = h->threads - pool_reserve(h->threads);
  h->blocking_max = most;
  for (siphon__plugin *p = h->registry.head; p != NULL; p = p->next) {
    /* Rounded up: the global bound keeps the reserve whatever the
     * shares add up to. */
    unsigned n = (unsigned)ceil((double)most * share - 1e-9); /* 0.28 x 25 is 7, not 8 */
    n = n > most ? most : n;
    p->max_busy = n < 1 ? 1 : n;
  }
}

/* "FILE: sources[N].options.PATH"; "FILE: sources[N].options" for an
 * empty PATH, and "FILE: sources[N]" for none. */
static void where_options(char *buf, size_t size, const siphon__host *h, size_t index,
                          const char *path) {
  if (path != NULL && path[0] != '\0') {
    snprintf(buf, size, "%s: sources[%zu].options.%s", h->config->path, index, path);
  } else if (path != NULL) {
    snprintf(buf, size, "%s: sources[%zu].options", h->config->path, index);
  } else {
    snprintf(buf, size, "%s: sources[%zu]", h->config->path, index);
  }
}

/* Once every source is created, the JSON its options and tags came in is
 * dead weight: with jansson's per-object hash tables, about half a KiB a
 * source kept for the whole run. Only --check prints it afterwards. */
static void release_parsed(siphon__config *cfg) {
  for (size_t i = 0; i < cfg->source_count; i++) {
    json_decref(cfg->sources[i].options);
    cfg->sources[i].options = NULL;
    json_decref(cfg->sources[i].tags);
    cfg->sources[i].tags = NULL;
  }
  /* Checked, and never run: nothing of them is needed again. */
  siphon__source_confs_free(cfg->disabled, cfg->disabled_count);
  cfg->disabled = NULL;
  cfg->disabled_count = 0;
}

/* The plugin a source names, loaded (NULL, with the error in d, if it
 * cannot be). A relative file is relative to the config, as plugin_path
 * is. */
static siphon__plugin *source_plugin(siphon__host *h, const siphon__source_conf *conf,
                                     siphon__diag *d) {
  const siphon__config *cfg = h->config;
  char where[512];
  snprintf(where, sizeof(where), "%s: sources[%zu].plugin", cfg->path, conf->index);
  const char *ref = conf->plugin;
  char *resolved = NULL;
  if (siphon__plugin_ref_is_path(ref) && ref[0] != '/' && cfg->dir != NULL &&
      strcmp(cfg->dir, ".") != 0) {
    const char *rel = strncmp(ref, "./", 2) == 0 ? ref + 2 : ref;
    resolved = siphon__asprintf("%s/%s", cfg->dir, rel);
    ref = resolved;
  }
  siphon__plugin *p = siphon__registry_get(&h->registry, ref, where, d);
  free(resolved);
  return p;
}

/* A disabled source's plugin and options are checked as an enabled
 * one's are, short of the plugin's own create(): enabling it later must
 * not reveal errors that were there all along. */
static void check_disabled(siphon__host *h, const siphon__source_conf *conf, siphon__diag *d) {
  if (conf->plugin == NULL) {
    return; /* the config's check said so */
  }
  siphon__plugin *p = source_plugin(h, conf, d);
  if (p == NULL) {
    return;
  }
  char where[512];
  snprintf(where, sizeof(where), "%s: sources[%zu].options", h->config->path, conf->index);
  json_t *validated = NULL;
  siphon__options_validate(p->desc.options, conf->options, where, &validated, d);
  json_decref(validated);
}

int siphon__host_setup(siphon__host *h, siphon__config *cfg, siphon__mode mode, siphon__diag *d) {
  memset(h, 0, sizeof(*h));
  h->config = cfg;
  h->mode = mode;
  h->loop = &host_loop;
  siphon__log_set_level(cfg->log_level);
  siphon__log_set_json(cfg->log_json);
  siphon__registry_init(&h->registry, cfg->dir, cfg->plugin_path, cfg->plugin_path_count);
  siphon__host_api_init(&h->api);
  uv_mutex_init(&h->state_lock);
  siphon__ts_setup(h);
  h->source_count = cfg->source_count;
  h->sources = siphon__xcalloc(cfg->source_count, sizeof(siphon_source));
  json_t **validated = siphon__xcalloc(cfg->source_count, sizeof(json_t *));
  char where[512];

  for (size_t i = 0; i < cfg->source_count; i++) {
    siphon_source *s = &h->sources[i];
    s->host = h;
    s->conf = &cfg->sources[i];
    s->name = siphon__xstrdup(s->conf->name);
    s->plugin = source_plugin(h, s->conf, d);
    if (s->plugin == NULL) {
      continue;
    }
    snprintf(where, sizeof(where), "%s: sources[%zu].options", cfg->path, s->conf->index);
    siphon__options_validate(s->plugin->desc.options, s->conf->options, where, &validated[i], d);
  }
  for (size_t i = 0; i < cfg->disabled_count; i++) {
    check_disabled(h, &cfg->disabled[i], d);
  }

  h->threads = choose_threads(h);
  char num[16];
  snprintf(num, sizeof(num), "%u", h->threads);
  /* libuv reads it once, when the pool is first used. */
  setenv("UV_THREADPOOL_SIZE", num, 1);
  setup_bulkheads(h);

  int rc = uv_loop_init(h->loop);
  if (rc != 0) {
    siphon__diag_add(d, NULL, "cannot create the event loop: %s", uv_strerror(rc));
    h->loop = NULL; /* teardown must not run it */
    free(validated);
    return rc;
  }

  for (size_t i = 0; i < cfg->source_count; i++) {
    siphon_source *s = &h->sources[i];
    if (validated[i] == NULL) {
      continue;
    }
    siphon__plugin *p = s->plugin;
    siphon_error err;
    memset(&err, 0, sizeof(err));
    if (p->init_failed) {
      /* Said once, for its first source; plugin_init runs once. */
      json_decref(validated[i]);
      continue;
    }
    if (!p->initialized && p->desc.plugin_init != NULL) {
      rc = p->desc.plugin_init(&h->api, h->loop, &p->plugin_data, &err);
      siphon__error_end(&err);
      if (rc != 0) {
        p->init_failed = 1;
        snprintf(where, sizeof(where), "%s: sources[%zu].plugin", cfg->path, s->conf->index);
        /* plugin_init(), not the source's start(); a positive return is
         * no errno, as create()'s is not. */
        siphon__diag_add(d, where, "plugin %s: plugin_init() failed: %s%s", p->name,
                         err.text[0] ? err.text
                         : rc > 0    ? "it returned a positive value"
                                     : uv_strerror(rc),
                         rc > 0 ? ", where an error is a negative errno: a bug in the plugin" : "");
        json_decref(validated[i]);
        continue;
      }
    }
    p->initialized = 1;
    memset(&err, 0, sizeof(err));
    rc = p->desc.create(&h->api, s, validated[i], &s->instance, &err);
    siphon__error_end(&err);
    json_decref(validated[i]);
    if (rc != 0) {
      /* create() judges the options: an error there without a path is
       * still theirs, not the whole source's. */
      where_options(where, sizeof(where), h, s->conf->index, err.path);
      if (rc > 0) {
        siphon__diag_add(d, where,
                         "%s (plugin %s's create() returned %d, not 0 or a negative errno: a "
                         "bug in the plugin)",
                         err.text[0] ? err.text : "failed", p->name, rc);
      } else {
        siphon__diag_add(d, where, "%s", err.text[0] ? err.text : uv_strerror(rc));
      }
      continue;
    }
    s->created = 1;
    if (p->desc.kind == SIPHON_KIND_STREAMING) {
      s->streaming = 1;
    }
    if (s->streaming && (p->desc.capability != SIPHON_CAP_ASYNC || p->desc.start == NULL)) {
      /* A plugin fault, but the user must see it before anything runs. */
      snprintf(where, sizeof(where), "%s: sources[%zu].plugin", cfg->path, s->conf->index);
      siphon__diag_add(d, where,
                       "plugin %s made this source streaming (set_streaming) but is %s: a "
                       "streaming source needs an async plugin with start() and stop()",
                       p->name, p->desc.start == NULL ? "without start()" : "blocking");
    }
    /* A key that silently does nothing is worse than an error. */
    static const char *const schedule_keys[] = {"interval", "timeout", "jitter", "max_backoff"};
    for (unsigned k = 0; s->streaming && k < 4; k++) {
      if (s->conf->schedule_set & (1u << k)) {
        snprintf(where, sizeof(where), "%s: sources[%zu].%s", cfg->path, s->conf->index,
                 schedule_keys[k]);
        siphon__diag_add_key(d, where,
                             "not used: this source streams (plugin %s runs it all the time, "
                             "with no rounds); remove it",
                             p->name);
      }
    }
    /* siphon.tags under the source's own: a source may override one. */
    json_t *tags = json_object();
    if (cfg->tags != NULL) {
      json_object_update(tags, cfg->tags);
    }
    if (s->conf->tags != NULL) {
      json_object_update(tags, s->conf->tags);
    }
    s->prefix = siphon__record_prefix(s->name, p->name, tags, &s->prefix_len);
    json_decref(tags);
  }
  free(validated);
  if (mode == SIPHON__MODE_ONCE && d->count == 0) {
    size_t polled = 0;
    for (size_t i = 0; i < h->source_count; i++) {
      polled += !h->sources[i].streaming;
    }
    if (polled == 0) {
      /* It would print an empty round and exit 0, having done nothing. */
      siphon__diag_add(d, "--once",
                       "every source streams (plugin %s%s), and --once starts none: "
                       "it runs each polled source once; run without --once",
                       h->sources[0].plugin->name, h->source_count > 1 ? ", ..." : "");
    }
  }
  if (mode != SIPHON__MODE_CHECK) {
    release_parsed(cfg);
  }
  return d->count > 0 ? -EINVAL : 0;
}

/* --- backpressure --- */

static void pause_sources(siphon__host *h) {
  h->paused = 1;
  h->pauses++;
  /* A slow reader pauses siphon many times a second: the first pause is
   * said, then at most one a minute with the count (each at debug). */
  uint64_t now = siphon__now_ms();
  h->paused_ms = now;
  h->pause_info = h->pauses == 1 || now - h->pause_said_ms >= 60000;
  if (h->pause_info) {
    uint64_t more = h->pauses - 1 - h->pauses_said;
    char since[96] = "";
    if (more > 0) {
      snprintf(since, sizeof(since), " (%llu more pause%s since the last said)",
               (unsigned long long)more, more == 1 ? "" : "s");
    }
    h->pause_said_ms = now;
    h->pauses_said = h->pauses;
    siphon__log(SIPHON_LOG_INFO, NULL,
                "output queue over %llu bytes: pausing sources until it drains%s",
                (unsigned long long)h->output.limit, since);
  } else {
    siphon__log(SIPHON_LOG_DEBUG, NULL, "output queue over %llu bytes: pausing sources",
                (unsigned long long)h->output.limit);
  }
  /* Not while stopping: the queue fills from a source's own stop() (a
   * flush), and a pause then would be a second callback inside it, with
   * no resume() to follow. */
  for (size_t i = 0; i < h->source_count && !h->stopping; i++) {
    siphon_source *s = &h->sources[i];
    if (s->started && s->plugin->desc.pause != NULL) {
      siphon__ts_plugin_call(h, 1);
      s->plugin->desc.pause(s->instance);
      siphon__ts_plugin_call(h, 0);
    }
  }
}

static void resume_sources(siphon__host *h) {
  h->paused = 0;
  /* A long pause is said even between the minutely ones: the last info
   * line must not be a resume while the sources stood still. */
  uint64_t took = siphon__now_ms() - h->paused_ms;
  if (!h->pause_info && took >= 1000) {
    siphon__log(SIPHON_LOG_INFO, NULL,
                "output queue drained after a pause of %.3f s: resuming sources",
                (double)took / 1000.0);
  } else {
    siphon__log(h->pause_info ? SIPHON_LOG_INFO : SIPHON_LOG_DEBUG, NULL,
                "output queue drained: resuming sources");
  }
  /* A resume() that emits at once may fill the queue again: stop there. */
  for (size_t i = 0; i < h->source_count && !h->paused && !h->stopping; i++) {
    siphon_source *s = &h->sources[i];
    if (s->started && s->plugin->desc.resume != NULL) {
      siphon__ts_plugin_call(h, 1);
      s->plugin->desc.resume(s->instance);
      siphon__ts_plugin_call(h, 0);
    }
  }
  if (!h->paused) {
    siphon__blocking_resume(h);
    siphon__ts_resume(h);
  }
  siphon__scheduler_resume(h);
}

void siphon__record_write(siphon_source *s, const char *ts, json_t *data, json_t *meta) {
  siphon__host *h = s->host;
  s->records++;
  int rc = siphon__record_format_write(&h->output, s->prefix, s->prefix_len, ts, data, meta);
  if (rc > 0 && !h->paused) {
    pause_sources(h);
  }
}

static void on_output(siphon__output *o, void *arg) {
  siphon__host *h = arg;
  if (siphon__output_failed(o)) {
    if (!h->fatal) {
      h->fatal = 1;
      h->exit_code = 1;
      siphon__log(SIPHON_LOG_ERROR, NULL, "writing to %s failed: %s: stopping", o->name,
                  strerror(o->err));
      siphon__host_begin_shutdown(h, NULL);
    }
    return;
  }
  if (h->paused && !o->over) {
    resume_sources(h);
  }
}

/* --- shutdown --- */

static void close_cb_noop(uv_handle_t *handle);

/* Destroys every created instance (closing its timers when they were
 * initialized), then finalizes every plugin that was initialized. Emits
 * from plugin threads are refused from here on. */
static void destroy_instances(siphon__host *h, int timers) {
  /* A destroy() joins its threads: none may wait for room. (A stop has
   * done it already; a failed setup has not.) */
  siphon__ts_unbound(h);
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_source *s = &h->sources[i];
    if (!s->created) {
      continue;
    }
    if (timers) {
      uv_close((uv_handle_t *)&s->tick, close_cb_noop);
      uv_close((uv_handle_t *)&s->timeout, close_cb_noop);
    }
    s->plugin->desc.destroy(s->instance);
    s->created = 0;
    atomic_store(&s->closed, 1);
  }
  for (siphon__plugin *p = h->registry.head; p != NULL; p = p->next) {
    if (p->initialized && p->desc.plugin_fini != NULL) {
      p->desc.plugin_fini(p->plugin_data);
    }
    p->initialized = 0;
  }
}

/* --once: the summary table and the exit status, once. */
/* From here to the exit a stop signal is late_signal()'s: it keeps the
 * echo rule where libuv's watchers no longer run (their handles are
 * closing, or the loop is blocked in a close that waits on the output). */
static void install_late_signal(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = late_signal;
  sa.sa_flags = SA_RESTART; /* as libuv's: an ignored echo must not fail a write with EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* Writes what is queued and closes the output; returns the records lost.
 * A failure after the loop stopped (--once, the final flush), where
 * on_output no longer runs, is said here with its cause. */
static uint64_t close_output(siphon__host *h) {
  /* Read before the close frees the name. */
  char *out_name = siphon__xstrdup(h->output.name != NULL ? h->output.name : "the output");
  siphon__output_close(&h->output);
  uint64_t lost = siphon__output_lost(&h->output);
  if (siphon__output_failed(&h->output) && !h->fatal) {
    h->fatal = 1;
    siphon__log(SIPHON_LOG_ERROR, NULL, "writing to %s failed: %s", out_name,
                strerror(h->output.err));
  }
  free(out_name);
  return lost;
}

static void once_report(siphon__host *h) {
  if (h->mode != SIPHON__MODE_ONCE || h->reported) {
    return;
  }
  h->reported = 1;
  siphon__summary_print(h);
  for (size_t i = 0; i < h->source_count; i++) {
    if (!h->sources[i].streaming && h->sources[i].last_status != SIPHON__ROUND_OK) {
      h->exit_code = 1;
    }
  }
}

/* A blocking round timed out whose records emitted before its timeout
 * are still to be written: its collect_blocking() has not returned, or
 * has and they are being written a chunk a turn. */
static int late_records_due(const siphon__host *h) {
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon_source *s = &h->sources[i];
    if (s->round != NULL && s->plugin->desc.capability == SIPHON_CAP_BLOCKING &&
        s->round->reported) {
      return 1;
    }
  }
  return 0;
}

static void close_cb_noop(uv_handle_t *handle) {
  (void)handle;
}

static void close_leftover(uv_handle_t *handle, void *arg);

/* The loop still runs a second after the stop: a plugin left an active
 * handle. Close what is left, naming each, so that siphon exits. */
static void on_leftover(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, close_cb_noop);
  uv_walk(t->loop, close_leftover, t->data);
}

static void finish(siphon__host *h) {
  h->finished = 1;
  /* Every round is released: the table is final, and goes before the
   * instances' destroy(), which may block (joining threads) while a
   * second signal could end siphon. */
  once_report(h);
  uv_close((uv_handle_t *)&h->grace, close_cb_noop);
  uv_close((uv_handle_t *)&h->kick, close_cb_noop);
  uv_close((uv_handle_t *)&h->sigint, close_cb_noop);
  uv_close((uv_handle_t *)&h->sigterm, close_cb_noop);
  uv_close((uv_handle_t *)&h->sighup, close_cb_noop);
  signal(SIGHUP, SIG_IGN); /* libuv restores the default, which kills */
  install_late_signal();
  siphon__stats_stop(h);
  siphon__memory_stop(h);
  destroy_instances(h, 1);
  siphon__ts_close(h);
  uint64_t lost = close_output(h);
  uint64_t discarded = 0;
  for (size_t i = 0; i < h->source_count; i++) {
    discarded += atomic_load(&h->sources[i].discarded);
  }
  if (lost > 0) {
    siphon__log(SIPHON_LOG_ERROR, NULL, "%llu record%s not written", (unsigned long long)lost,
                lost == 1 ? " was" : "s were");
    h->exit_code = 1;
  }
  uint64_t rounds = 0, ok = 0, failed = 0, timeouts = 0, skipped = 0, dropped = 0, records = 0;
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon_source *s = &h->sources[i];
    rounds += s->rounds;
    ok += s->rounds_ok;
    failed += s->rounds_failed;
    timeouts += s->rounds_timeout;
    skipped += s->rounds_skipped;
    dropped += s->rounds_dropped;
    records += s->records;
  }
  if (h->mode == SIPHON__MODE_RUN) {
    /* The stats records are in the same output: say so, or the file's line
     * count and this one disagree. */
    char stats[64] = "";
    if (h->stats_records > 0) {
      snprintf(stats, sizeof(stats), ", and %llu stats record%s",
               (unsigned long long)h->stats_records, h->stats_records == 1 ? "" : "s");
    }
    uint64_t written = records > lost ? records - lost : 0;
    /* The parentheses add up to the rounds: a skipped turn was never a
     * round, a round queued and dropped at the stop was. */
    char not_run[48] = "";
    if (dropped > 0) {
      snprintf(not_run, sizeof(not_run), ", %llu not run", (unsigned long long)dropped);
    }
    uint64_t turns = skipped - dropped;
    siphon__log(SIPHON_LOG_INFO, NULL,
                "stopped after %.3f s: %llu round%s (%llu ok, %llu failed, %llu timed out%s), "
                "%llu turn%s skipped, %llu record%s written%s",
                (double)(siphon__now_ms() - h->started_ms) / 1000.0, (unsigned long long)rounds,
                rounds == 1 ? "" : "s", (unsigned long long)ok, (unsigned long long)failed,
                (unsigned long long)timeouts, not_run, (unsigned long long)turns,
                turns == 1 ? "" : "s", (unsigned long long)written, written == 1 ? "" : "s", stats);
  }
  if (discarded > 0) {
    int bugs = 0;
    for (size_t i = 0; i < h->source_count && !bugs; i++) {
      bugs = atomic_load(&h->sources[i].plugin_bugs) > 0;
    }
    siphon__log(SIPHON_LOG_WARN, NULL,
                "%llu record%s %s discarded: emitted after %s round timed out, was cancelled "
                "or had finished%s",
                (unsigned long long)discarded, discarded == 1 ? "" : "s",
                discarded == 1 ? "was" : "were", discarded == 1 ? "its" : "their",
                bugs ? ", or refused as a plugin's bug (said above)" : "");
  }
  /* Last, from now: destroying the instances and flushing the output
   * above may have taken a while. Unref'd, so it holds nothing open. */
  uv_update_time(h->loop);
  if (uv_timer_init(h->loop, &h->leftover) == 0) {
    h->leftover.data = h;
    h->leftover_armed = 1;
    uv_timer_start(&h->leftover, on_leftover, 1000, 0);
    uv_unref((uv_handle_t *)&h->leftover);
  }
}

static void on_kick(uv_timer_t *t) {
  siphon__host *h = t->data;
  if (h->finished) {
    return;
  }
  if (!h->stopping && h->mode == SIPHON__MODE_ONCE && h->once_left == 0) {
    /* Every outcome is known: the table now, unless a blocking round that
     * timed out has yet to return, and write what it emitted before its
     * timeout; then it waits for the stop (finish(), a second signal, or
     * the hard deadline). */
    if (!late_records_due(h)) {
      once_report(h);
    }
    siphon__host_begin_shutdown(h, NULL);
  }
  if (h->stopping && h->rounds_in_flight == 0) {
    finish(h);
  }
}

void siphon__host_maybe_finish(siphon__host *h) {
  if (h->kick_ready && !h->finished) {
    uv_timer_start(&h->kick, on_kick, 0, 0);
  }
}

static void on_hard_deadline(uv_timer_t *t) {
  siphon__host *h = t->data;
  /* The loop may be held a while below (writing held records, or never
   * back): a second signal from now on is late_signal()'s. */
  install_late_signal();
  /* A blocking round that returned is only writing what it emitted, a
   * chunk a loop turn: not hung. What it holds is written now, before
   * anything is judged hung and lost with it. */
  for (size_t i = 0; i < h->source_count; i++) {
    if (h->sources[i].round != NULL) {
      siphon__blocking_deliver_now(h->sources[i].round);
    }
  }
  if (h->rounds_in_flight == 0) {
    return; /* the last release kicked finish() */
  }
  /* Name the holders: the user's next step is that plugin's code. */
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon_source *s = &h->sources[i];
    if (s->round != NULL) {
      siphon__log(SIPHON_LOG_ERROR, s->name,
                  "still running after shutdown_grace and cancellation: plugin \"%s\" %s",
                  s->plugin->desc.name,
                  s->plugin->desc.capability != SIPHON_CAP_BLOCKING
                      ? "has not called round_done()"
                      : "has not returned from collect_blocking(): it is in a call that does "
                        "not look at round_cancelled() (such as a driver's wait on a server), or "
                        "it never looks");
    }
  }
  siphon__log(SIPHON_LOG_ERROR, NULL,
              "%zu collect%s still running after shutdown_grace and cancellation: exiting "
              "without waiting for %s",
              h->rounds_in_flight, h->rounds_in_flight == 1 ? "" : "s",
              h->rounds_in_flight == 1 ? "it" : "them");
  /* --once still owes its table: the held rounds show as running. */
  once_report(h);
  /* Their worker threads still use plugin memory, so nothing can be
   * freed safely: flush what was emitted and leave. The loop is blocked
   * from here on, so its signal watchers would never run. */
  install_late_signal();
  uv_mutex_lock(&h->ts_lock);
  h->ts_closed = 1;
  uv_mutex_unlock(&h->ts_lock);
  siphon__ts_drain(h);
  /* What the hung blocking rounds emitted before they hung stays in
   * them: their threads may still be appending to it. */
  uint64_t held = siphon__round_held();
  if (held > 0) {
    siphon__log(SIPHON_LOG_ERROR, NULL,
                "%llu record%s emitted by the collects still running %s not written",
                (unsigned long long)held, held == 1 ? "" : "s", held == 1 ? "was" : "were");
  }
  uint64_t lost = close_output(h);
  if (lost > 0) {
    siphon__log(SIPHON_LOG_ERROR, NULL, "%llu record%s not written", (unsigned long long)lost,
                lost == 1 ? " was" : "s were");
  }
  _exit(h->exit_code != 0 ? h->exit_code : 1);
}

static void on_grace(uv_timer_t *t) {
  siphon__host *h = t->data;
  if (h->rounds_in_flight == 0) {
    return;
  }
  siphon__log(SIPHON_LOG_WARN, NULL, "shutdown_grace passed: cancelling %zu collect%s",
              h->rounds_in_flight, h->rounds_in_flight == 1 ? "" : "s");
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_round *r = h->sources[i].round;
    if (r != NULL) {
      siphon__round_cancel(r);
    }
  }
  if (!h->finished && h->rounds_in_flight > 0) {
    uv_timer_start(&h->grace, on_hard_deadline, 1000, 0);
  }
}

void siphon__host_begin_shutdown(siphon__host *h, const char *why) {
  if (h->stopping) {
    return;
  }
  h->stopping = 1;
  if (why != NULL) {
    siphon__log(SIPHON_LOG_INFO, NULL, "%s: stopping", why);
  }
  /* Before any stop(): one may join a thread that waits for room. */
  siphon__ts_unbound(h);
  siphon__scheduler_stop(h);
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_source *s = &h->sources[i];
    if (s->round != NULL && s->plugin->desc.capability == SIPHON_CAP_BLOCKING &&
        s->round->b->queued) {
      siphon__round_cancel(s->round); /* never started: nothing to wait for */
    }
    if (s->started) {
      s->plugin->desc.stop(s->instance);
      s->started = 0;
      s->stopped = 1;
    }
  }
  h->grace.data = h;
  uv_timer_start(&h->grace, on_grace, h->config->shutdown_grace_ms, 0);
  siphon__blocking_resume(h); /* a stop writes what waited for the output */
  siphon__host_maybe_finish(h);
}

static void on_signal(uv_signal_t *sig, int signum) {
  siphon__host *h = sig->data;
  uint64_t now = mono_ms();
  if (is_echo(signum, now)) {
    return;
  }
  h->signals++;
  if (h->signals == 1) {
    note_first_signal(signum, now);
    siphon__host_begin_shutdown(h, signum == SIGINT ? "SIGINT" : "SIGTERM");
    return;
  }
  once_report(h); /* --once owes its table, whatever is lost */
  /* Records still held by blocking rounds in flight are lost too. */
  uint64_t left = siphon__output_lost(&h->output) + siphon__round_held() + siphon__ts_queued();
  siphon__log(SIPHON_LOG_ERROR, NULL, "second signal: exiting at once (%llu record%s unwritten)",
              (unsigned long long)left, left == 1 ? "" : "s");
  _exit(128 + signum);
}

/* SIGHUP: what logrotate sends after moving the output file or the log
 * file. Telegraf reloads its config on it; siphon does not (a restart
 * does), and says so, rather than dying of the default action. The log
 * is reopened first, so what follows is in the new file. */
static void on_hup(uv_signal_t *sig, int signum) {
  (void)signum;
  siphon__host *h = sig->data;
  char *err = NULL;
  int log_rc = siphon__log_reopen(&err);
  if (log_rc == 0) {
    siphon__log(SIPHON_LOG_INFO, NULL, "SIGHUP: log file %s reopened", siphon__log_file());
  } else if (log_rc < 0) {
    siphon__log(SIPHON_LOG_ERROR, NULL, "SIGHUP: %s; still logging to the old file", err);
    /* The old file may be compressed or removed by the rotation: say it
     * where someone will see it too. */
    fprintf(stderr, "siphon: SIGHUP: %s; still logging to the old file\n", err);
    free(err);
  }
  err = NULL;
  int rc = siphon__output_reopen(&h->output, &err);
  if (rc == 0) {
    siphon__log(SIPHON_LOG_INFO, NULL, "SIGHUP: output file %s reopened", h->output.name);
  } else if (rc == 1 && log_rc == 1) {
    siphon__log(SIPHON_LOG_INFO, NULL,
                "SIGHUP: nothing to reopen (the output is stdout, the log stderr); the config "
                "is not reloaded: restart siphon to apply a new one");
  } else if (rc < 0) {
    siphon__log(SIPHON_LOG_ERROR, NULL,
                "SIGHUP: cannot reopen the output, still writing to the "
                "old file: %s",
                err);
    free(err);
  }
}

/* --- run --- */

int siphon__host_run(siphon__host *h) {
  char *err = NULL;
  const char *path = h->config->output_type == SIPHON__OUTPUT_FILE ? h->config->output_path : NULL;
  int rc = siphon__output_open(&h->output, h->loop, path, h->config->buffer_max_bytes, on_output, h,
                               &err);
  if (rc != 0) {
    siphon__log(SIPHON_LOG_ERROR, NULL, "%s", err);
    free(err);
    return 1;
  }
  rc = siphon__ts_init(h);
  if (rc != 0) {
    /* Nothing ran: no record to flush (teardown counts what threads
     * queued). The output's handles close in teardown's walk. */
    siphon__log(SIPHON_LOG_ERROR, NULL, "cannot set up the thread-safe emit: %s", uv_strerror(rc));
    siphon__output_close(&h->output);
    return 1;
  }
  uv_signal_init(h->loop, &h->sigint);
  uv_signal_init(h->loop, &h->sigterm);
  h->sigint.data = h->sigterm.data = h;
  uv_signal_start(&h->sigint, on_signal, SIGINT);
  uv_signal_start(&h->sigterm, on_signal, SIGTERM);
  uv_signal_init(h->loop, &h->sighup);
  h->sighup.data = h;
  uv_signal_start(&h->sighup, on_hup, SIGHUP);
  uv_timer_init(h->loop, &h->grace);
  uv_timer_init(h->loop, &h->kick);
  h->kick.data = h;
  h->kick_ready = 1;
  h->started_ms = siphon__now_ms();

  size_t running = 0;
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_source *s = &h->sources[i];
    if (!s->created) {
      continue;
    }
    running++;
    uv_timer_init(h->loop, &s->tick);
    uv_timer_init(h->loop, &s->timeout);
    if (!s->streaming) {
      continue;
    }
    if (h->mode != SIPHON__MODE_RUN) {
      siphon__log(SIPHON_LOG_WARN, s->name,
                  "a streaming source (listener) is not started by --once: run without --once");
      continue;
    }
    siphon_error e;
    memset(&e, 0, sizeof(e));
    siphon__ts_plugin_call(h, 1);
    rc = s->plugin->desc.start(s->instance, &e);
    siphon__ts_plugin_call(h, 0);
    siphon__error_end(&e);
    if (rc != 0) {
      /* A listener that cannot listen is a setup error (a port in use, a
       * path not writable): stop with a failure rather than run without. */
      char where[SIPHON_ERROR_PATH_LENGTH + 512];
      where_options(where, sizeof(where), h, s->conf->index, e.path[0] ? e.path : NULL);
      siphon__log(SIPHON_LOG_ERROR, s->name, "cannot start: %s: %s: stopping", where,
                  e.text[0] ? e.text : uv_strerror(rc));
      h->exit_code = 1;
      h->stopping_pending = 1;
      continue;
    }
    s->started = 1;
    if (h->paused && s->plugin->desc.pause != NULL) {
      /* The output went over its limit before this source started (a
       * backlog another start() sent, or this one's): it is paused as the
       * started ones were, so that its resume() has a pause() before it. */
      siphon__ts_plugin_call(h, 1);
      s->plugin->desc.pause(s->instance);
      siphon__ts_plugin_call(h, 0);
    }
  }
  if (h->stopping_pending) {
    siphon__host_begin_shutdown(h, NULL);
  } else {
    siphon__scheduler_start(h);
    siphon__stats_start(h);
    siphon__memory_start(h);
    if (h->mode == SIPHON__MODE_RUN) {
      /* Someone who ran it by hand learns how to stop it; a log learns
       * when the collector came up, and with how many sources. */
      siphon__log(SIPHON_LOG_INFO, NULL, "running %zu source%s: Ctrl-C or SIGTERM stops", running,
                  running == 1 ? "" : "s");
    }
  }
  if (h->mode == SIPHON__MODE_ONCE) {
    siphon__host_maybe_finish(h);
  }
  uv_run(h->loop, UV_RUN_DEFAULT);
  if (h->leftover_armed && !uv_is_closing((uv_handle_t *)&h->leftover)) {
    uv_close((uv_handle_t *)&h->leftover, close_cb_noop); /* nothing was left */
  }
  return h->exit_code;
}

/* Who may have left a handle: the plugins of the sources that were
 * created (destroyed ones are closed), since the host's own handles are
 * closed by now. */
static int was_created(const siphon_source *s) {
  return s->created || atomic_load(&s->closed);
}

static void suspects(const siphon__host *h, char *buf, size_t size) {
  size_t len = 0;
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon_source *s = &h->sources[i];
    int seen = !was_created(s);
    for (size_t j = 0; j < i && !seen; j++) {
      seen = was_created(&h->sources[j]) && h->sources[j].plugin == s->plugin;
    }
    if (seen) {
      continue;
    }
    int w = snprintf(buf + len, size - len, "%s\"%s\"", n > 0 ? ", " : "", s->plugin->name);
    if (w < 0 || (size_t)w >= size - len) {
      buf[len] = '\0';
      break; /* the names that fit */
    }
    len += (size_t)w;
    n++;
  }
}

static void close_leftover(uv_handle_t *handle, void *arg) {
  const siphon__host *h = arg;
  if (!uv_is_closing(handle)) {
    char names[256];
    suspects(h, names, sizeof(names));
    const char *type = uv_handle_type_name(uv_handle_get_type(handle));
    if (strchr(names, ',') != NULL) {
      siphon__log(SIPHON_LOG_WARN, NULL, "one of the plugins %s left a %s handle open: closing it",
                  names, type);
    } else if (names[0] != '\0') {
      siphon__log(SIPHON_LOG_WARN, NULL, "plugin %s left a %s handle open: closing it", names,
                  type);
    } else {
      siphon__log(SIPHON_LOG_WARN, NULL, "a plugin left a %s handle open: closing it", type);
    }
    uv_close(handle, NULL);
  }
}

void siphon__host_teardown(siphon__host *h) {
  if (h->loop != NULL) {
    if (!h->finished) {
      /* --check, or setup failed: instances exist but never ran, and
       * their timers were never initialized. */
      destroy_instances(h, 0);
      /* A handle a plugin left active in create() would hold the run
       * below forever: closed after a second, as after a run. */
      uv_update_time(h->loop); /* the setup may have taken a while */
      if (uv_timer_init(h->loop, &h->leftover) == 0) {
        h->leftover.data = h;
        h->leftover_armed = 1;
        uv_timer_start(&h->leftover, on_leftover, 1000, 0);
        uv_unref((uv_handle_t *)&h->leftover);
      }
    }
    siphon__ts_teardown(h); /* every destroy() has joined its threads */
    uv_run(h->loop, UV_RUN_DEFAULT);
    if (h->leftover_armed && !uv_is_closing((uv_handle_t *)&h->leftover)) {
      uv_close((uv_handle_t *)&h->leftover, close_cb_noop); /* nothing was left */
      uv_run(h->loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(h->loop) == UV_EBUSY) {
      uv_walk(h->loop, close_leftover, h);
      uv_run(h->loop, UV_RUN_DEFAULT);
      uv_loop_close(h->loop);
    }
  }
  for (size_t i = 0; i < h->source_count; i++) {
    free(h->sources[i].name);
    free(h->sources[i].prefix);
    free(h->sources[i].last_error);
  }
  siphon__round_free_dead(h);
  free(h->sources);
  siphon__ts_free(h);
  uv_mutex_destroy(&h->state_lock);
  siphon__stats_free(h);
  siphon__registry_free(&h->registry);
  memset(h, 0, sizeof(*h));
}
