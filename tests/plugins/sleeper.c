/* sleeper: a blocking polled test plugin. Each round sleeps `sleep` on a
 * threadpool thread, in 10 ms steps that look at the cancel flag unless
 * `ignore_cancel`, then emits `count` records (before it sleeps with
 * `emit_first`); `fail` makes it fail. It
 * records the most rounds it saw running at once, to show the bulkhead. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "siphon/plugin.h"

#ifndef SLEEPER_NAME
#define SLEEPER_NAME "sleeper"
#endif

static atomic_int running;
static atomic_int peak;

typedef struct sleeper {
  const siphon_host_api *api;
  siphon_source *src;
  json_int_t sleep_ms, count;
  int fail, ignore_cancel, emit_first;
  json_int_t seq;
  json_int_t return_rc;
} sleeper;

static const siphon_option sleeper_options[] = {
    {"sleep", SIPHON_OPT_DURATION, 0, "0", NULL, "how long a round blocks"},
    {"count", SIPHON_OPT_INT, 0, "1", NULL, "records per round"},
    {"fail", SIPHON_OPT_BOOL, 0, "false", NULL, "fail every round"},
    {"ignore_cancel", SIPHON_OPT_BOOL, 0, "false", NULL, "sleep on when cancelled"},
    {"emit_first", SIPHON_OPT_BOOL, 0, "false", NULL, "emit before sleeping"},
    {"return_rc", SIPHON_OPT_INT, 0, "0", NULL,
     "what collect_blocking() returns, without filling err (a positive one is a plugin bug)"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static int sleeper_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                          void **instance, siphon_error *err) {
  sleeper *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return -ENOMEM;
  }
  s->api = api;
  s->src = src;
  s->sleep_ms = json_integer_value(json_object_get(options, "sleep"));
  s->count = json_integer_value(json_object_get(options, "count"));
  s->fail = json_is_true(json_object_get(options, "fail"));
  s->ignore_cancel = json_is_true(json_object_get(options, "ignore_cancel"));
  s->emit_first = json_is_true(json_object_get(options, "emit_first"));
  s->return_rc = json_integer_value(json_object_get(options, "return_rc"));
  *instance = s;
  return 0;
}

static int sleeper_collect(void *instance, siphon_round *round, siphon_error *err) {
  sleeper *s = instance;
  int now = atomic_fetch_add(&running, 1) + 1;
  int p = atomic_load(&peak);
  while (now > p && !atomic_compare_exchange_weak(&peak, &p, now)) {
  }
  int rc = 0;
  for (json_int_t i = 0; s->emit_first && i < s->count; i++) {
    s->api->round_emit(round, json_pack("{sIsI}", "seq", s->seq++, "i", i), NULL);
  }
  for (json_int_t slept = 0; slept < s->sleep_ms; slept += 10) {
    if (!s->ignore_cancel && s->api->round_cancelled(round)) {
      snprintf(err->text, sizeof(err->text), "cancelled after %lld ms", (long long)slept);
      rc = -ECANCELED;
      break;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (rc == 0 && s->fail) {
    snprintf(err->text, sizeof(err->text), "sleeper: failing as configured");
    rc = -EIO;
  }
  for (json_int_t i = 0; rc == 0 && !s->emit_first && i < s->count; i++) {
    s->api->round_emit(
        round, json_pack("{sIsIsi}", "seq", s->seq++, "i", i, "peak", atomic_load(&peak)), NULL);
  }
  atomic_fetch_sub(&running, 1);
  return rc == 0 && s->return_rc != 0 ? (int)s->return_rc : rc;
}

static void sleeper_destroy(void *instance) {
  free(instance);
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = SLEEPER_NAME,
    .version = "1.0.0",
    .description = "test: blocking rounds that sleep",
    .capability = SIPHON_CAP_BLOCKING,
    .kind = SIPHON_KIND_POLLED,
    .options = sleeper_options,
    .create = sleeper_create,
    .collect_blocking = sleeper_collect,
    .destroy = sleeper_destroy,
};
