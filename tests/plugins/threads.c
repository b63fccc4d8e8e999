/* threads: a streaming test plugin that owns threads. start() spawns
 * `threads` threads that each emit `records` records through the host's
 * thread-safe emit; destroy() joins them. */
#include <errno.h>
#include <stdlib.h>

#include "siphon/plugin.h"

typedef struct worker {
  struct threads *owner;
  uv_thread_t tid;
  int index;
} worker;

typedef struct threads {
  const siphon_host_api *api;
  siphon_source *src;
  json_int_t nthreads, records;
  worker *workers;
  int started;
} threads;

static const siphon_option threads_options[] = {
    {"threads", SIPHON_OPT_INT, 0, "4", NULL, "threads to start"},
    {"records", SIPHON_OPT_INT, 0, "1000", NULL, "records each thread emits"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static void worker_main(void *arg) {
  worker *w = arg;
  threads *t = w->owner;
  for (json_int_t n = 0; n < t->records; n++) {
    t->api->emit_threadsafe(t->src, json_pack("{sisI}", "thread", w->index, "n", n), NULL);
  }
  t->api->log(t->src, SIPHON_LOG_INFO, "thread %d emitted %lld records", w->index,
              (long long)t->records);
}

static int threads_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                          void **instance, siphon_error *err) {
  threads *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    return -ENOMEM;
  }
  t->api = api;
  t->src = src;
  t->nthreads = json_integer_value(json_object_get(options, "threads"));
  t->records = json_integer_value(json_object_get(options, "records"));
  if (t->nthreads < 1 || t->nthreads > 64) {
    snprintf(err->path, sizeof(err->path), "threads");
    snprintf(err->text, sizeof(err->text), "expected 1 to 64 threads");
    free(t);
    return -EINVAL;
  }
  *instance = t;
  return 0;
}

static int threads_start(void *instance, siphon_error *err) {
  threads *t = instance;
  t->workers = calloc((size_t)t->nthreads, sizeof(worker));
  if (t->workers == NULL) {
    return -ENOMEM;
  }
  for (int i = 0; i < t->nthreads; i++) {
    t->workers[i].owner = t;
    t->workers[i].index = i;
    int rc = uv_thread_create(&t->workers[i].tid, worker_main, &t->workers[i]);
    if (rc != 0) {
      snprintf(err->text, sizeof(err->text), "cannot start thread: %s", uv_strerror(rc));
      return rc;
    }
    t->started++;
  }
  return 0;
}

static void threads_stop(void *instance) {
  (void)instance; /* the threads end by themselves; destroy joins them */
}

static void threads_destroy(void *instance) {
  threads *t = instance;
  for (int i = 0; i < t->started; i++) {
    uv_thread_join(&t->workers[i].tid);
  }
  free(t->workers);
  free(t);
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "threads",
    .version = "1.0.0",
    .description = "test: emits from threads of its own",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_STREAMING,
    .options = threads_options,
    .create = threads_create,
    .start = threads_start,
    .stop = threads_stop,
    .destroy = threads_destroy,
};
