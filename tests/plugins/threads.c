/* threads: a streaming test plugin that owns threads. start() spawns
 * `threads` threads that each emit `records` records through the host's
 * thread-safe emit; destroy() joins them. With `pause_lock`, each thread
 * holds the plugin's lock while it emits and pause() takes that lock: a
 * plugin the host's backpressure must not deadlock. */
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
  int pause_lock;
  int wrong_emit;
  int early; /* started in create() */
  uv_mutex_t lock;
} threads;

static const siphon_option threads_options[] = {
    {"threads", SIPHON_OPT_INT, 0, "4", NULL, "threads to start"},
    {"records", SIPHON_OPT_INT, 0, "1000", NULL, "records each thread emits"},
    {"pause_lock", SIPHON_OPT_BOOL, 0, "false", NULL, "emit holding a lock that pause() takes"},
    {"wrong_emit", SIPHON_OPT_BOOL, 0, "false", NULL,
     "emit with the loop thread's emit(): a plugin bug the host must catch"},
    {"start_in_create", SIPHON_OPT_BOOL, 0, "false", NULL,
     "start the threads in create(), before the run (and under --check)"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static void worker_main(void *arg) {
  worker *w = arg;
  threads *t = w->owner;
  for (json_int_t n = 0; n < t->records; n++) {
    if (t->pause_lock) {
      uv_mutex_lock(&t->lock);
    }
    json_t *rec = json_pack("{sisI}", "thread", w->index, "n", n);
    if (t->wrong_emit) {
      t->api->emit(t->src, rec, NULL);
    } else {
      t->api->emit_threadsafe(t->src, rec, NULL);
    }
    if (t->pause_lock) {
      uv_mutex_unlock(&t->lock);
    }
  }
  t->api->log(t->src, SIPHON_LOG_INFO, "thread %d emitted %lld records", w->index,
              (long long)t->records);
}

static int threads_spawn(threads *t, siphon_error *err);

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
  t->pause_lock = json_is_true(json_object_get(options, "pause_lock"));
  t->wrong_emit = json_is_true(json_object_get(options, "wrong_emit"));
  if (t->nthreads < 1 || t->nthreads > 64) {
    snprintf(err->path, sizeof(err->path), "threads");
    snprintf(err->text, sizeof(err->text), "expected 1 to 64 threads");
    free(t);
    return -EINVAL;
  }
  if (uv_mutex_init(&t->lock) != 0) {
    free(t);
    return -ENOMEM;
  }
  *instance = t;
  if (json_is_true(json_object_get(options, "start_in_create"))) {
    t->early = 1;
    return threads_spawn(t, err);
  }
  return 0;
}

static int threads_start(void *instance, siphon_error *err) {
  threads *t = instance;
  return t->early ? 0 : threads_spawn(t, err);
}

static int threads_spawn(threads *t, siphon_error *err) {
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

static void threads_pause(void *instance) {
  threads *t = instance;
  if (t->pause_lock) {
    uv_mutex_lock(&t->lock);
    uv_mutex_unlock(&t->lock);
  }
}

static void threads_resume(void *instance) {
  (void)instance;
}

static void threads_destroy(void *instance) {
  threads *t = instance;
  for (int i = 0; i < t->started; i++) {
    uv_thread_join(&t->workers[i].tid);
  }
  uv_mutex_destroy(&t->lock);
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
    .pause = threads_pause,
    .resume = threads_resume,
    .destroy = threads_destroy,
};
