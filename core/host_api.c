/* The table of host services handed to plugins (siphon_host_api). */
#include <errno.h>
#include <stdarg.h>

#include "host.h"
#include "log.h"
#include "round.h"
#include "util.h"

static void api_log(siphon_source *src, siphon_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  siphon__logv((int)level, src ? src->name : NULL, fmt, ap);
  va_end(ap);
}

static int api_round_cancelled(const siphon_round *r) {
  return atomic_load(&((siphon_round *)r)->cancelled);
}

static int api_emit_threadsafe(siphon_source *s, json_t *data, json_t *meta);

/* Whether the caller is a thread other than the loop's (known once the
 * host runs). */
static int off_the_loop(const siphon_source *s) {
  const siphon__host *h = s->host;
  if (!h->ts_ready) {
    return 0;
  }
  uv_thread_t self = uv_thread_self();
  return !uv_thread_equal(&self, &h->loop_thread);
}

/* An async round is the loop thread's: round_emit() or round_done() from
 * another thread would race with the loop on the round, its timer and
 * the output queue. Said once, as emit()'s slip is, and made safe: the
 * call is queued for the loop as emit_threadsafe()'s records are, in
 * order with them. A blocking round's round_emit() belongs on its
 * worker thread, which is not the loop's. */
static int async_round_off_the_loop(const siphon_round *r, const char *call) {
  siphon_source *s = r->src;
  if (s->plugin->desc.capability == SIPHON_CAP_BLOCKING || !off_the_loop(s)) {
    return 0;
  }
  if (atomic_fetch_add(&s->plugin_bugs, 1) == 0) {
    siphon__log(SIPHON_LOG_ERROR, s->name,
                "plugin \"%s\" called %s() from a thread of its own: a bug in the plugin "
                "(an async round's round_emit() and round_done() are the loop thread's; "
                "hand the result to the loop with a uv_async_t): the call is handed to the "
                "loop thread instead, and this is not logged again for this source",
                s->plugin->desc.name, call);
  }
  return 1;
}

static int api_round_emit(siphon_round *r, json_t *data, json_t *meta) {
  if (async_round_off_the_loop(r, "round_emit")) {
    if (siphon__record_args_bad(r->src, "round_emit", data, &meta) != 0) {
      return -EINVAL;
    }
    return siphon__ts_round_emit(r, data, meta);
  }
  return siphon__round_emit(r, data, meta);
}

static void api_round_done(siphon_round *r, int status, const char *errmsg) {
  if (async_round_off_the_loop(r, "round_done")) {
    siphon__ts_round_done(r, status, errmsg);
    return;
  }
  if (atomic_load(&r->refs) > 1) {
    /* A thread of the plugin's handed records to this round (the slip
     * above) that are still queued, as when it wakes the loop with a
     * uv_async_t of its own to end the round: they go first. */
    siphon__ts_drain_round(r->src->host, r);
  }
  siphon__round_done(r, status, errmsg);
}

static int api_emit(siphon_source *s, json_t *data, json_t *meta) {
  if (siphon__record_args_bad(s, "emit", data, &meta) != 0) {
    return -EINVAL;
  }
  if (off_the_loop(s)) {
    /* A data race on the output queue: the record goes the safe way, and
     * the author is told once. Before anything else of the source's is
     * read: a thread started in create() may call before the host has
     * marked the source streaming. */
    if (atomic_fetch_add(&s->plugin_bugs, 1) == 0) {
      siphon__log(SIPHON_LOG_ERROR, s->name,
                  "plugin \"%s\" called emit() from a thread of its own: a bug in the plugin "
                  "(emit() is the loop thread's; other threads use emit_threadsafe()): its "
                  "records go through emit_threadsafe() instead, and this is not logged again "
                  "for this source",
                  s->plugin->desc.name);
    }
    return api_emit_threadsafe(s, data, meta);
  }
  if (!s->streaming) {
    /* Outside any round: no count, no timeout, no table row. */
    siphon__source_bug(s, "called emit() for a polled source",
                       "a polled source emits with round_emit(), inside its round");
    atomic_fetch_add(&s->discarded, 1);
    json_decref(data);
    json_decref(meta);
    return -EINVAL;
  }
  if (s->stopped || atomic_load(&s->closed)) {
    atomic_fetch_add(&s->discarded, 1);
    json_decref(data);
    json_decref(meta);
    return -ECANCELED;
  }
  siphon__record_write(s, NULL, data, meta);
  return 0;
}

static int api_emit_threadsafe(siphon_source *s, json_t *data, json_t *meta) {
  if (siphon__record_args_bad(s, "emit_threadsafe", data, &meta) != 0) {
    return -EINVAL;
  }
  return siphon__emit_threadsafe(s, data, meta);
}

static uv_loop_t *api_loop(siphon_source *s) {
  return s->host->loop;
}

static const char *api_source_name(const siphon_source *s) {
  return s->name;
}

static uint64_t api_source_timeout_ms(const siphon_source *s) {
  return s->conf->timeout_ms;
}

static uint64_t api_source_interval_ms(const siphon_source *s) {
  return s->conf->interval_ms;
}

static const char *api_state_dir(const siphon_source *s) {
  /* Created on first use, so that plugins that keep no state leave no
   * empty directory behind; never by --check, which writes nothing (run
   * as root against /etc/siphon, it would leave /etc/siphon/siphon-state). */
  siphon__host *h = s->host;
  uv_mutex_lock(&h->state_lock);
  if (!h->state_ready && h->config->state_dir != NULL && h->mode != SIPHON__MODE_CHECK) {
    h->state_ready = 1;
    int rc = siphon__mkdir_p(h->config->state_dir);
    if (rc != 0) {
      siphon__log(SIPHON_LOG_ERROR, NULL, "siphon.state_dir: cannot create %s: %s",
                  h->config->state_dir, uv_strerror(rc));
    }
  }
  uv_mutex_unlock(&h->state_lock);
  return h->config->state_dir;
}

static void *api_plugin_data(const siphon_source *s) {
  return s->plugin->plugin_data;
}

static void api_set_streaming(siphon_source *s) {
  s->streaming = 1;
}

void siphon__host_api_init(siphon_host_api *api) {
  api->abi_version = SIPHON_ABI_VERSION;
  api->struct_size = (uint32_t)sizeof(*api);
  api->log = api_log;
  api->round_emit = api_round_emit;
  api->round_done = api_round_done;
  api->round_cancelled = api_round_cancelled;
  api->emit = api_emit;
  api->emit_threadsafe = api_emit_threadsafe;
  api->loop = api_loop;
  api->source_name = api_source_name;
  api->source_timeout_ms = api_source_timeout_ms;
  api->source_interval_ms = api_source_interval_ms;
  api->state_dir = api_state_dir;
  api->plugin_data = api_plugin_data;
  api->set_streaming = api_set_streaming;
}
