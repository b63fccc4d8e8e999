/* tick: an async polled test plugin. Each round waits `delay` on a
 * uv_timer_t, then emits `count` records {"seq":N,"i":K} and finishes; it
 * fails its first `fail_rounds` rounds (-1: always). With `cancellable`
 * false it ignores cancel() (a hung plugin). With `churn` it also
 * allocates that many bytes in 1 KiB blocks, touches them and frees all
 * but every 64th until the next round: the freed pages then sit between
 * kept blocks, below the heap's top, where only malloc_trim() gives them
 * back, as a round of thousands of transfers leaves them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphon/plugin.h"

typedef struct tick {
  const siphon_host_api *api;
  siphon_source *src;
  uv_timer_t timer;
  siphon_round *round;
  json_int_t count, fail_rounds, delay_ms, fail_errno;
  int cancellable, hang;
  json_int_t rounds;
  json_int_t seq;
  const char *bug; /* the plugin bug to commit, or "none" (see options) */
  size_t churn;
  void **kept; /* churned blocks that outlive the round, until the next */
  size_t kept_len;
  uv_thread_t finisher; /* bug done_from_thread: the thread that ends the round */
  int finisher_started;
  uv_async_t done_async; /* bug emit_from_thread: the loop's round_done() */
  int done_async_ready;
  int open_handles;    /* closed in destroy(); t is freed with the last */
  json_int_t block_ms; /* how long collect() blocks the loop thread */
  json_int_t collect_rc;
} tick;

static const siphon_option tick_options[] = {
    {"count", SIPHON_OPT_INT, 0, "1", NULL, "records per round"},
    {"delay", SIPHON_OPT_DURATION, 0, "0", NULL, "time a round takes"},
    {"fail_rounds", SIPHON_OPT_INT, 0, "0", NULL, "rounds that fail first (-1: all)"},
    {"fail_errno", SIPHON_OPT_INT, 0, "5", NULL, "the errno they fail with (5: EIO)"},
    {"cancellable", SIPHON_OPT_BOOL, 0, "true", NULL, "whether cancel() is honoured"},
    {"hang", SIPHON_OPT_BOOL, 0, "false", NULL, "never finish a round by itself"},
    {"secret", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL, NULL, "never shown"},
    {"shared_key", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, "\"hunter2\"", NULL,
     "a secret with a default: never shown either"},
    {"bug", SIPHON_OPT_STRING, 0, "\"none\"",
     "none|done_twice|done_in_collect_then_fail|fail_then_done|emit_after_done|emit_null|"
     "emit_bad_meta|emit_outside|done_from_thread|emit_from_thread",
     "a plugin bug the host must survive: round_done() twice; round_done() inside collect() "
     "then an error returned; an error returned, then round_done() later; a record emitted "
     "after round_done() inside collect(); round_emit() of NULL (a failed json_pack); a meta "
     "that is no object; emit() from this polled source; round_emit() and round_done() from a "
     "thread of the plugin's own; round_emit() from such a thread, then round_done() on the "
     "loop, woken by a uv_async_t"},
    {"block", SIPHON_OPT_DURATION, 0, "0", NULL,
     "time collect() blocks the loop thread (sleeps) before it starts the round"},
    {"churn", SIPHON_OPT_SIZE, 0, "0", NULL, "bytes allocated and freed each round"},
    {"claim_streaming", SIPHON_OPT_BOOL, 0, "false", NULL,
     "call set_streaming() without having start(): a plugin bug the host must catch"},
    {"collect_rc", SIPHON_OPT_INT, 0, "0", NULL,
     "what collect() returns, starting nothing (not 0: the round fails)"},
    {"create_rc", SIPHON_OPT_INT, 0, "0", NULL,
     "what create() returns, without filling err (not 0: it fails)"},
    {"error_brim", SIPHON_OPT_BOOL, 0, "false", NULL,
     "create() fails with err's path and text filled to the last byte, no NUL"},
    {"leak_timer", SIPHON_OPT_BOOL, 0, "false", NULL,
     "start a repeating timer that destroy() never closes: a plugin bug the host must end"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static void free_kept(tick *t) {
  for (size_t i = 0; t->kept != NULL && i < t->kept_len; i++) {
    free(t->kept[i]);
  }
  free(t->kept);
  t->kept = NULL;
}

static void churn(tick *t) {
  enum { BLOCK = 1024, KEEP_EVERY = 64 };
  size_t n = t->churn / BLOCK;
  if (n == 0) {
    return;
  }
  free_kept(t);
  void **blocks = calloc(n, sizeof(*blocks));
  if (blocks == NULL) {
    return;
  }
  for (size_t i = 0; i < n; i++) {
    blocks[i] = malloc(BLOCK);
    if (blocks[i] != NULL) {
      memset(blocks[i], (int)(i & 0xff), BLOCK);
    }
  }
  /* Every 64th block, the last among them, outlives the round. */
  t->kept = calloc(n / KEEP_EVERY + 1, sizeof(*t->kept));
  t->kept_len = 0;
  for (size_t i = 0; i < n; i++) {
    if (t->kept != NULL && (i % KEEP_EVERY == KEEP_EVERY - 1 || i == n - 1)) {
      t->kept[t->kept_len++] = blocks[i];
    } else {
      free(blocks[i]);
    }
  }
  free(blocks);
}

static void finish_round(tick *t) {
  siphon_round *r = t->round;
  t->round = NULL;
  t->rounds++;
  churn(t);
  if (t->fail_rounds < 0 || t->rounds <= t->fail_rounds) {
    t->api->round_done(r, -(int)t->fail_errno, "tick: failing as configured");
    return;
  }
  if (strcmp(t->bug, "emit_null") == 0) {
    t->api->round_emit(r, NULL, NULL);
  } else if (strcmp(t->bug, "emit_bad_meta") == 0) {
    t->api->round_emit(r, json_pack("{ss}", "bad_meta", "kept"), json_string("not an object"));
  } else if (strcmp(t->bug, "emit_outside") == 0) {
    t->api->emit(t->src, json_pack("{ss}", "late", "yes"), NULL);
  }
  for (json_int_t i = 0; i < t->count; i++) {
    t->api->round_emit(r, json_pack("{sIsI}", "seq", t->seq++, "i", i), NULL);
  }
  t->api->round_done(r, 0, NULL);
  if (strcmp(t->bug, "done_twice") == 0) {
    t->api->round_done(r, 0, NULL);
  }
}

static void on_timer(uv_timer_t *timer) {
  tick *t = timer->data;
  if (t->round != NULL && !t->hang) {
    finish_round(t);
  }
}

/* Bug emit_from_thread: the thread has emitted the round's records. */
static void on_done_async(uv_async_t *a) {
  tick *t = a->data;
  if (t->finisher_started) {
    uv_thread_join(&t->finisher);
    t->finisher_started = 0;
  }
  if (t->round != NULL) {
    siphon_round *r = t->round;
    t->round = NULL;
    t->api->round_done(r, 0, NULL);
  }
}

static void on_leaked_tick(uv_timer_t *timer) {
  (void)timer;
}

static int tick_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                       void **instance, siphon_error *err) {
  tick *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    return -ENOMEM;
  }
  if (json_is_true(json_object_get(options, "error_brim"))) {
    memset(err->path, 'p', sizeof(err->path));
    memset(err->text, 't', sizeof(err->text));
    free(t);
    return -EINVAL;
  }
  json_int_t create_rc = json_integer_value(json_object_get(options, "create_rc"));
  if (create_rc != 0) {
    free(t);
    return (int)create_rc;
  }
  t->api = api;
  t->src = src;
  t->count = json_integer_value(json_object_get(options, "count"));
  t->delay_ms = json_integer_value(json_object_get(options, "delay"));
  t->fail_rounds = json_integer_value(json_object_get(options, "fail_rounds"));
  t->fail_errno = json_integer_value(json_object_get(options, "fail_errno"));
  t->cancellable = json_is_true(json_object_get(options, "cancellable"));
  t->hang = json_is_true(json_object_get(options, "hang"));
  t->churn = (size_t)json_integer_value(json_object_get(options, "churn"));
  t->block_ms = json_integer_value(json_object_get(options, "block"));
  t->collect_rc = json_integer_value(json_object_get(options, "collect_rc"));
  /* Choices are fixed strings, so a static copy outlives options. */
  const char *bug = json_string_value(json_object_get(options, "bug"));
  t->bug = strcmp(bug, "done_twice") == 0                  ? "done_twice"
           : strcmp(bug, "done_in_collect_then_fail") == 0 ? "done_in_collect_then_fail"
           : strcmp(bug, "fail_then_done") == 0            ? "fail_then_done"
           : strcmp(bug, "emit_after_done") == 0           ? "emit_after_done"
           : strcmp(bug, "emit_null") == 0                 ? "emit_null"
           : strcmp(bug, "emit_bad_meta") == 0             ? "emit_bad_meta"
           : strcmp(bug, "emit_outside") == 0              ? "emit_outside"
           : strcmp(bug, "done_from_thread") == 0          ? "done_from_thread"
           : strcmp(bug, "emit_from_thread") == 0          ? "emit_from_thread"
                                                           : "none";
  if (t->count < 0) {
    snprintf(err->path, sizeof(err->path), "count");
    snprintf(err->text, sizeof(err->text), "expected a count >= 0, got %lld", (long long)t->count);
    free(t);
    return -EINVAL;
  }
  if (json_is_true(json_object_get(options, "claim_streaming"))) {
    api->set_streaming(src);
  }
  if (json_is_true(json_object_get(options, "leak_timer"))) {
    /* Static: the host closes it, and nothing is left to free. */
    static uv_timer_t leaked;
    uv_timer_init(api->loop(src), &leaked);
    uv_timer_start(&leaked, on_leaked_tick, 50, 50);
  }
  uv_timer_init(api->loop(src), &t->timer);
  t->timer.data = t;
  if (strcmp(t->bug, "emit_from_thread") == 0) {
    /* In create(), as a plugin sets up its loop side: before the host's
     * own async handle. */
    uv_async_init(api->loop(src), &t->done_async, on_done_async);
    t->done_async.data = t;
    t->done_async_ready = 1;
  }
  *instance = t;
  return 0;
}

static void finisher_main(void *arg) {
  finish_round(arg);
}

/* Bug emit_from_thread: the records from the thread, the end on the loop. */
static void emitter_main(void *arg) {
  tick *t = arg;
  for (json_int_t i = 0; i < t->count; i++) {
    t->api->round_emit(t->round, json_pack("{sIsI}", "seq", t->seq++, "i", i), NULL);
  }
  uv_async_send(&t->done_async);
}

static void join_finisher(tick *t) {
  if (t->finisher_started) {
    uv_thread_join(&t->finisher);
    t->finisher_started = 0;
  }
}

static int tick_collect(void *instance, siphon_round *round) {
  tick *t = instance;
  if (t->block_ms > 0) {
    uv_sleep((unsigned)t->block_ms); /* the bug: a blocking call on the loop */
  }
  join_finisher(t); /* the last round's, done with it */
  if (t->collect_rc != 0) {
    return (int)t->collect_rc;
  }
  t->round = round;
  if (strcmp(t->bug, "done_from_thread") == 0 || strcmp(t->bug, "emit_from_thread") == 0) {
    int rc = uv_thread_create(
        &t->finisher, strcmp(t->bug, "done_from_thread") == 0 ? finisher_main : emitter_main, t);
    t->finisher_started = rc == 0;
    return rc;
  }
  if (strcmp(t->bug, "done_in_collect_then_fail") == 0) {
    finish_round(t);
    return -EIO;
  }
  if (strcmp(t->bug, "emit_after_done") == 0) {
    finish_round(t);
    t->api->round_emit(round, json_pack("{ss}", "late", "yes"), NULL);
    return 0;
  }
  if (strcmp(t->bug, "fail_then_done") == 0) {
    /* The timer still fires and finishes the round that failed. */
    uv_timer_start(&t->timer, on_timer, (uint64_t)t->delay_ms, 0);
    return -EIO;
  }
  if (t->delay_ms == 0 && !t->hang) {
    finish_round(t);
    return 0;
  }
  return uv_timer_start(&t->timer, on_timer, (uint64_t)t->delay_ms, 0);
}

static void tick_cancel(void *instance, siphon_round *round) {
  tick *t = instance;
  /* A round a thread of its own ends (bugs done_from_thread and
   * emit_from_thread) is the thread's: a cancel here would race it. */
  if (t->finisher_started || !t->cancellable || t->round != round) {
    return;
  }
  uv_timer_stop(&t->timer);
  t->round = NULL;
  t->api->round_done(round, -ECANCELED, "tick: cancelled");
}

static void on_close(uv_handle_t *h) {
  tick *t = h->data;
  if (--t->open_handles > 0) {
    return;
  }
  free_kept(t);
  free(t);
}

static void tick_destroy(void *instance) {
  tick *t = instance;
  join_finisher(t);
  t->open_handles = 1 + t->done_async_ready;
  uv_close((uv_handle_t *)&t->timer, on_close);
  if (t->done_async_ready) {
    uv_close((uv_handle_t *)&t->done_async, on_close);
  }
}

/* With SIPHON_TEST_TICK_INIT_FAIL set, plugin_init fails, and says how
 * often it was called: the host promises once. */
static int tick_plugin_init(const siphon_host_api *api, uv_loop_t *loop, void **plugin_data,
                            siphon_error *err) {
  (void)api;
  (void)loop;
  (void)plugin_data;
  static int calls;
  calls++;
  if (getenv("SIPHON_TEST_TICK_INIT_FAIL") != NULL) {
    snprintf(err->text, sizeof(err->text), "failing as asked (call %d)", calls);
    return -EIO;
  }
  return 0;
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "tick",
    .plugin_init = tick_plugin_init,
    .version = "1.0.0",
    .description = "test: async rounds on a timer",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .options = tick_options,
    .create = tick_create,
    .collect = tick_collect,
    .cancel = tick_cancel,
    .destroy = tick_destroy,
    .example = "{\"count\": 3, \"delay\": \"10ms\", \"shared_key\": \"s3cr3t\"}",
};
