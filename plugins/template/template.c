/*
 * template: the smallest complete siphon source plugin. Copy this file,
 * rename the plugin, and replace collect() with your own I/O.
 *
 * Every round it emits `count` records
 *     {"message": "<message>", "seq": N, "round": R, ...fields}
 * where seq counts records over the life of the source and round counts
 * rounds, so you can watch the host drive it:
 *     siphon --plugin template --options '{"message": "hi", "count": 2}' --once
 *
 * It is an async polled plugin: the host calls collect() on its loop
 * thread once per interval, and the plugin finishes the round with
 * api->round_done(). A real plugin would start I/O in collect() (a
 * uv_tcp_connect, a curl_multi transfer) and call round_done() from that
 * I/O's callback; this one has nothing to wait for, so it finishes at
 * once, which the ABI allows. docs/PLUGINS.md walks through both an
 * async plugin with real I/O and a blocking one.
 *
 * Build out of tree with nothing but the installed SDK:
 *     cc -shared -fPIC $(pkg-config --cflags siphon) template.c -o template.so
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The only header a plugin needs; it brings jansson and libuv along. */
#include "siphon/plugin.h"

/*
 * The options table is the plugin's contract with its users: the host
 * checks every source's options against it (unknown keys, JSON types,
 * required keys, choices) and fills in defaults before create() runs, so
 * create() never re-checks types. `--help-plugin template` prints it.
 */
static const siphon_option template_options[] = {
    /* Required: a config without it is refused at load time, with the
     * JSON path of the source. */
    {"message", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, NULL, "text each record carries"},
    /* Defaults are JSON text, parsed by the host. */
    {"count", SIPHON_OPT_INT, 0, "1", NULL, "records per round (0 to 1000)"},
    /* choices: the host refuses other strings and lists the allowed ones. */
    {"case", SIPHON_OPT_STRING, 0, "\"as-is\"", "as-is|upper|lower", "how to print the message"},
    {"fields", SIPHON_OPT_OBJECT, 0, "{}", NULL, "extra fields copied into every record"},
    {"fail", SIPHON_OPT_BOOL, 0, "false", NULL, "fail every round, to see how errors look"},
    /* A secret is never printed by the host (logs, --check, --help). */
    {"token", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL, NULL,
     "a credential; the template only says whether one is set"},
    {NULL, 0, 0, NULL, NULL, NULL}};

/* Per-source state: one per configured source, made by create(). */
typedef struct template_source {
  const siphon_host_api *api; /* valid until plugin_fini: keep it */
  siphon_source *src;         /* the host's handle, for logging and emits */
  char *message;              /* already cased: work done once, not per round */
  json_int_t count;
  json_t *fields; /* our own reference: the options object is only borrowed */
  int fail;
  json_int_t seq;   /* records emitted so far */
  json_int_t round; /* rounds started so far */
} template_source;

static void apply_case(char *s, const char *mode) {
  for (; *s != '\0'; s++) {
    if (strcmp(mode, "upper") == 0 && *s >= 'a' && *s <= 'z') {
      *s = (char)(*s - 'a' + 'A');
    } else if (strcmp(mode, "lower") == 0 && *s >= 'A' && *s <= 'Z') {
      *s = (char)(*s - 'A' + 'a');
    }
  }
}

static void template_free(template_source *t) {
  json_decref(t->fields);
  free(t->message);
  free(t);
}

/*
 * create: turn validated options into an instance. `siphon --check` calls
 * it too, so it must not connect or start I/O: only parse and allocate.
 * Checks the table cannot express (ranges, formats) go here, reported
 * with err->path relative to the options; the host adds
 * "sources[N].options." in front.
 */
static int template_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                           void **instance, siphon_error *err) {
  json_int_t count = json_integer_value(json_object_get(options, "count"));
  if (count < 0 || count > 1000) {
    snprintf(err->path, sizeof(err->path), "count");
    snprintf(err->text, sizeof(err->text), "expected 0 to 1000 records per round, got %lld",
             (long long)count);
    return -EINVAL;
  }
  template_source *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    return -ENOMEM;
  }
  t->api = api;
  t->src = src;
  t->count = count;
  t->fail = json_is_true(json_object_get(options, "fail"));
  /* Strings inside `options` die with it after create() returns: copy. */
  t->message = strdup(json_string_value(json_object_get(options, "message")));
  /* json_incref, not a copy: we only read it, and jansson's reference
   * count is how a borrowed value is kept. */
  t->fields = json_incref(json_object_get(options, "fields"));
  if (t->message == NULL) {
    template_free(t);
    return -ENOMEM;
  }
  apply_case(t->message, json_string_value(json_object_get(options, "case")));
  /* Log that a secret is set, never its value. */
  api->log(src, SIPHON_LOG_DEBUG, "template: %lld records a round, token %s", (long long)count,
           json_object_get(options, "token") != NULL ? "set" : "not set");
  *instance = t;
  return 0;
}

/*
 * collect: one round, on the loop thread; it must not block. Returning 0
 * promises exactly one round_done() for this round; returning an error
 * means round_done() is never called for it.
 */
static int template_collect(void *instance, siphon_round *round) {
  template_source *t = instance;
  t->round++;
  if (t->fail) {
    /* A failed round: the host logs the text, counts it in the --once
     * summary and backs off before the next round. */
    t->api->round_done(round, -EIO, "template: failing as configured (\"fail\": true)");
    return 0;
  }
  for (json_int_t i = 0; i < t->count; i++) {
    json_t *rec = json_pack("{sssIsI}", "message", t->message, "seq", t->seq, "round", t->round);
    if (rec == NULL) {
      t->api->round_done(round, -ENOMEM, "template: out of memory");
      return 0;
    }
    /* json_object_update copies references, so `fields` stays ours. */
    json_object_update(rec, t->fields);
    /* round_emit steals `rec`, even when it fails: no decref here. It
     * fails with -ECANCELED once the round timed out; stop then. */
    if (t->api->round_emit(round, rec, NULL) != 0) {
      break;
    }
    t->seq++;
  }
  t->api->round_done(round, 0, NULL);
  return 0;
}

/* destroy: no round of this instance is running any more. A plugin with
 * libuv handles would uv_close() them here and free in the close callback. */
static void template_destroy(void *instance) {
  template_free(instance);
}

/*
 * The descriptor: the one symbol the host looks up. abi_version and
 * struct_size come from the header you compile against; the host checks
 * them before reading anything else, which is how an old plugin keeps
 * working with a newer host. Callbacks a polled async plugin does not need
 * (collect_blocking, start/stop, pause/resume) stay NULL.
 */
SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "template",
    .version = "1.0.0",
    .description = "emits `count` records with a message every round: copy me",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .options = template_options,
    .create = template_create,
    .collect = template_collect,
    .destroy = template_destroy,
    .example = "{\"message\": \"hello\", \"count\": 2, \"fields\": {\"env\": \"dev\"}}",
};
