/* stream: a streaming test plugin on the loop. Every `every` ms it emits
 * `burst` records {"seq":N,"pad":"..."} of about `size` bytes; pause()
 * and resume() stop and restart it (backpressure). stop() logs how many
 * records it emitted, so tests can compare with what was written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "siphon/plugin.h"

typedef struct stream {
  const siphon_host_api *api;
  siphon_source *src;
  uv_timer_t timer;
  json_int_t every, burst, size, limit, flush, start_burst;
  int in_stop;
  int paused;
  json_int_t seq;
  char *pad;
  int pauses;
} stream;

static const siphon_option stream_options[] = {
    {"every", SIPHON_OPT_DURATION, 0, "10", NULL, "time between bursts"},
    {"burst", SIPHON_OPT_INT, 0, "1", NULL, "records per burst"},
    {"size", SIPHON_OPT_INT, 0, "16", NULL, "padding bytes per record"},
    {"limit", SIPHON_OPT_INT, 0, "-1", NULL, "stop after this many records (-1: never)"},
    {"flush", SIPHON_OPT_INT, 0, "0", NULL, "records stop() emits, as a flush of what is held"},
    {"start_burst", SIPHON_OPT_INT, 0, "0", NULL,
     "records start() emits before it returns (a backlog sent on connect)"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static void on_timer(uv_timer_t *timer) {
  stream *s = timer->data;
  for (json_int_t i = 0; i < s->burst; i++) {
    if (s->limit >= 0 && s->seq >= s->limit) {
      uv_timer_stop(&s->timer);
      s->api->log(s->src, SIPHON_LOG_INFO, "limit reached: %lld records", (long long)s->seq);
      return;
    }
    s->api->emit(s->src, json_pack("{sIss}", "seq", s->seq++, "pad", s->pad), NULL);
  }
}

static int stream_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                         void **instance, siphon_error *err) {
  stream *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return -ENOMEM;
  }
  s->api = api;
  s->src = src;
  s->every = json_integer_value(json_object_get(options, "every"));
  s->burst = json_integer_value(json_object_get(options, "burst"));
  s->size = json_integer_value(json_object_get(options, "size"));
  s->limit = json_integer_value(json_object_get(options, "limit"));
  s->flush = json_integer_value(json_object_get(options, "flush"));
  s->start_burst = json_integer_value(json_object_get(options, "start_burst"));
  if (s->size < 0 || s->size > 1 << 20) {
    snprintf(err->path, sizeof(err->path), "size");
    snprintf(err->text, sizeof(err->text), "expected 0 to 1048576 bytes");
    free(s);
    return -EINVAL;
  }
  s->pad = malloc((size_t)s->size + 1);
  memset(s->pad, 'x', (size_t)s->size);
  s->pad[s->size] = '\0';
  uv_timer_init(api->loop(src), &s->timer);
  s->timer.data = s;
  *instance = s;
  return 0;
}

static int stream_start(void *instance, siphon_error *err) {
  stream *s = instance;
  for (json_int_t i = 0; i < s->start_burst; i++) {
    s->api->emit(s->src, json_pack("{sIss}", "seq", s->seq++, "pad", s->pad), NULL);
  }
  return uv_timer_start(&s->timer, on_timer, 0, (uint64_t)(s->every > 0 ? s->every : 1));
}

static void stream_pause(void *instance) {
  stream *s = instance;
  if (s->in_stop) {
    s->api->log(s->src, SIPHON_LOG_ERROR, "pause() called inside stop()");
  }
  s->pauses++;
  s->paused = 1;
  uv_timer_stop(&s->timer);
}

static void stream_resume(void *instance) {
  stream *s = instance;
  if (!s->paused) {
    s->api->log(s->src, SIPHON_LOG_ERROR, "resume() without a pause()");
  }
  s->paused = 0;
  uv_timer_start(&s->timer, on_timer, 0, (uint64_t)(s->every > 0 ? s->every : 1));
}

static void stream_stop(void *instance) {
  stream *s = instance;
  uv_timer_stop(&s->timer);
  s->in_stop = 1;
  for (json_int_t i = 0; i < s->flush; i++) {
    s->api->emit(s->src, json_pack("{sIss}", "seq", s->seq++, "pad", s->pad), NULL);
  }
  s->in_stop = 0;
  s->api->log(s->src, SIPHON_LOG_INFO, "stopped: emitted %lld records, paused %d times",
              (long long)s->seq, s->pauses);
}

static void on_close(uv_handle_t *h) {
  stream *s = h->data;
  free(s->pad);
  free(s);
}

static void stream_destroy(void *instance) {
  stream *s = instance;
  uv_close((uv_handle_t *)&s->timer, on_close);
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "stream",
    .version = "1.0.0",
    .description = "test: a streaming source on the loop",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_STREAMING,
    .options = stream_options,
    .create = stream_create,
    .start = stream_start,
    .stop = stream_stop,
    .pause = stream_pause,
    .resume = stream_resume,
    .destroy = stream_destroy,
};
