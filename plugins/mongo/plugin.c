/* mongo: documents, aggregations, counts and server statistics from
 * MongoDB. libmongoc is synchronous, so this is a blocking plugin: each
 * round runs on libuv's threadpool, pops a client from the pool its URI
 * shares with other sources, and pushes it back. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mongo.h"

typedef struct mg_source {
  const siphon_host_api *api;
  siphon_source *src;
  mg_pools *pools;
  mongoc_uri_t *uri; /* the source's timeouts applied */
  mg_pool_ref *pool; /* taken on the first round, not in create() */
  mg_query q;
  char *state_path; /* since only */
  bson_value_t last;
  int has_last;
} mg_source;

static const siphon_option mg_options[] = {
    /* SECRET: besides a password in the userinfo (which the host masks
     * anyway), a URI may carry one in its query string
     * (tlsCertificateKeyFilePassword), so it is never shown at all. */
    {"uri", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED | SIPHON_OPT_SECRET, NULL, NULL,
     "MongoDB connection string, e.g. mongodb://user:pass@host:27017/db?tls=true"},
    {"database", SIPHON_OPT_STRING, 0, NULL, NULL,
     "database (default: the URI's, or admin for command)"},
    {"collection", SIPHON_OPT_STRING, 0, NULL, NULL, "collection for find, aggregate and count"},
    {"operation", SIPHON_OPT_STRING, 0, "\"find\"", "find|aggregate|count|command",
     "what each round runs"},
    {"filter", SIPHON_OPT_OBJECT, 0, NULL, NULL, "find/count: query filter (Extended JSON)"},
    {"projection", SIPHON_OPT_OBJECT, 0, NULL, NULL, "find: fields to return"},
    {"sort", SIPHON_OPT_OBJECT, 0, NULL, NULL, "find: sort order, e.g. {\"ts\": -1}"},
    {"limit", SIPHON_OPT_INT, 0, NULL, NULL, "find/count: at most this many documents"},
    {"batch_size", SIPHON_OPT_INT, 0, NULL, NULL, "find/aggregate: documents per batch"},
    {"pipeline", SIPHON_OPT_ARRAY, 0, NULL, NULL, "aggregate: the stages (Extended JSON)"},
    {"command", SIPHON_OPT_OBJECT, 0, NULL, NULL,
     "command: the command document, e.g. {\"serverStatus\": 1}"},
    {"extended_json", SIPHON_OPT_STRING, 0, "\"relaxed\"", "relaxed|canonical",
     "how BSON types appear in the records"},
    {"max_documents", SIPHON_OPT_INT, 0, "10000", NULL,
     "at most this many records per round (a bound on memory)"},
    {"since", SIPHON_OPT_STRING, 0, NULL, NULL,
     "find: only documents whose field is above the last value seen (kept in state_dir)"},
    {NULL, 0, 0, NULL, NULL, NULL}};

/* --- plugin-wide --- */

/* libmongoc parses on past a URI option it does not know, with only a
 * warning ("Unsupported URI option \"replicasett\"") where siphon refuses
 * every other unknown key. While create() parses a URI, the driver's
 * warnings on that thread are collected here: an unknown option becomes
 * create()'s error, the others are logged as the source's. Thread-local:
 * rounds on the pool threads go on logging as usual meanwhile. */
#define MG_URI_UNKNOWN "Unsupported URI option \""
#define MG_URI_NOTES 4

typedef struct mg_uri_notes {
  char unknown[64]; /* the first unknown option, as the driver names it */
  int unknown_count;
  char notes[MG_URI_NOTES][SIPHON_ERROR_TEXT_LENGTH]; /* other warnings */
  int note_count;
} mg_uri_notes;

static _Thread_local mg_uri_notes *uri_notes;

/* Takes a warning of the URI parser; 0 when there is no room left, so
 * that the caller logs it rather than lose it. */
static int uri_note(mg_uri_notes *n, const char *msg, int len) {
  size_t plen = strlen(MG_URI_UNKNOWN);
  if ((size_t)len > plen && strncmp(msg, MG_URI_UNKNOWN, plen) == 0) {
    const char *key = msg + plen;
    const char *end = memchr(key, '"', (size_t)len - plen);
    int klen = end != NULL ? (int)(end - key) : len - (int)plen;
    if (n->unknown_count++ == 0) {
      snprintf(n->unknown, sizeof(n->unknown), "%.*s", klen, key);
    }
    return 1;
  }
  if (n->note_count == MG_URI_NOTES) {
    return 0;
  }
  snprintf(n->notes[n->note_count++], sizeof(n->notes[0]), "%.*s", len, msg);
  return 1;
}

static void mg_log_handler(mongoc_log_level_t level, const char *domain, const char *message,
                           void *user_data) {
  const siphon_host_api *api = user_data;
  siphon_log_level l = SIPHON_LOG_DEBUG;
  if (level <= MONGOC_LOG_LEVEL_CRITICAL) {
    l = SIPHON_LOG_ERROR;
  } else if (level == MONGOC_LOG_LEVEL_WARNING) {
    l = SIPHON_LOG_WARN;
  } else if (level == MONGOC_LOG_LEVEL_TRACE) {
    return;
  }
  /* Some of the driver's messages end with a newline of their own
   * ("Invalid connecttimeoutms: cannot parse integer\n"); the host adds
   * one, and the line came out followed by a blank one. */
  size_t len = strlen(message);
  while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == '\r')) {
    len--;
  }
  if (len > INT32_MAX) {
    len = INT32_MAX;
  }
  if (uri_notes != NULL && level == MONGOC_LOG_LEVEL_WARNING &&
      uri_note(uri_notes, message, (int)len)) {
    return;
  }
  api->log(NULL, l, "mongoc %s: %.*s", domain, (int)len, message);
}

static int mg_plugin_init(const siphon_host_api *api, uv_loop_t *loop, void **plugin_data,
                          siphon_error *err) {
  mg_pools *pools = mg_pools_new();
  if (pools == NULL) {
    snprintf(err->text, sizeof(err->text), "out of memory");
    return -ENOMEM;
  }
  mongoc_init();
  /* The driver's own messages go to the host's log, with its levels. */
  mongoc_log_set_handler(mg_log_handler, (void *)api);
  *plugin_data = pools;
  return 0;
}

static void mg_plugin_fini(void *plugin_data) {
  mg_pools_free(plugin_data);
  mongoc_log_set_handler(mongoc_log_default_handler, NULL);
  mongoc_cleanup();
}

/* --- create: options to a query --- */

static int bad(siphon_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(siphon_error *err, const char *path, const char *fmt, ...) {
  snprintf(err->path, sizeof(err->path), "%s", path);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->text, sizeof(err->text), fmt, ap);
  va_end(ap);
  return -EINVAL;
}

/* The connection-string options libmongoc 1.23 takes, as its manual
 * spells them: only for a "did you mean" (the driver itself decides what
 * it knows). The deprecated ssl* names are left out, so that a typo is
 * pointed at their tls* successors. */
static const char *const uri_options[] = {"appName",
                                          "authMechanism",
                                          "authMechanismProperties",
                                          "authSource",
                                          "canonicalizeHostname",
                                          "compressors",
                                          "connectTimeoutMS",
                                          "directConnection",
                                          "gssapiServiceName",
                                          "heartbeatFrequencyMS",
                                          "journal",
                                          "loadBalanced",
                                          "localThresholdMS",
                                          "maxIdleTimeMS",
                                          "maxPoolSize",
                                          "maxStalenessSeconds",
                                          "minPoolSize",
                                          "readConcernLevel",
                                          "readPreference",
                                          "readPreferenceTags",
                                          "replicaSet",
                                          "retryReads",
                                          "retryWrites",
                                          "safe",
                                          "serverSelectionTimeoutMS",
                                          "serverSelectionTryOnce",
                                          "socketCheckIntervalMS",
                                          "socketTimeoutMS",
                                          "srvMaxHosts",
                                          "srvServiceName",
                                          "tls",
                                          "tlsAllowInvalidCertificates",
                                          "tlsAllowInvalidHostnames",
                                          "tlsCAFile",
                                          "tlsCertificateKeyFile",
                                          "tlsCertificateKeyFilePassword",
                                          "tlsDisableCertificateRevocationCheck",
                                          "tlsDisableOCSPEndpointCheck",
                                          "tlsInsecure",
                                          "w",
                                          "waitQueueMultiple",
                                          "waitQueueTimeoutMS",
                                          "wTimeoutMS",
                                          "zlibCompressionLevel",
                                          NULL};

/* Case-insensitive edit distance between two option names, with an
 * adjacent transposition counting once ("tsl" for "tls"), as the host
 * measures its own keys; names of 64 characters or more are never near. */
static size_t name_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n >= 64 || m >= 64) {
    return SIZE_MAX;
  }
  size_t rows[3][64];
  size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= m; j++) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= n; i++) {
    cur[0] = i;
    int ca = tolower((unsigned char)a[i - 1]);
    for (size_t j = 1; j <= m; j++) {
      int cb = tolower((unsigned char)b[j - 1]);
      size_t best = prev[j - 1] + (ca == cb ? 0 : 1);
      if (prev[j] + 1 < best) {
        best = prev[j] + 1;
      }
      if (cur[j - 1] + 1 < best) {
        best = cur[j - 1] + 1;
      }
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < best) {
        best = prev2[j - 2] + 1;
      }
      cur[j] = best;
    }
    size_t *t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[m];
}

/* The known option nearest to `key`, within one edit for short names and
 * about a third of the letters for long ones (as the host suggests its
 * own keys), and with at least one letter kept ("x" is not a typo of
 * "w"); NULL when none is that near. */
static const char *uri_option_near(const char *key) {
  size_t len = strlen(key);
  if (len == 0) {
    return NULL;
  }
  size_t limit = len / 3 > 1 ? len / 3 : 1;
  if (limit >= len) {
    limit = len - 1;
  }
  const char *best = NULL;
  size_t best_d = limit + 1;
  for (size_t i = 0; uri_options[i] != NULL; i++) {
    size_t d = name_distance(key, uri_options[i]);
    if (d < best_d) {
      best = uri_options[i];
      best_d = d;
    }
  }
  return best;
}

/* The driver names an unknown option in lower case; the user's own
 * spelling is found in the query string (a key there, between '?' or
 * '&' and '='). Only those letters are copied: nothing else of the URI,
 * which may hold a password, reaches the message. */
static void user_spelling(const char *uri, const char *lower, char *out, size_t size) {
  size_t klen = strlen(lower);
  snprintf(out, size, "%s", lower);
  const char *q = strchr(uri, '?');
  for (const char *p = q; p != NULL && klen > 0; p = strpbrk(p + 1, "?&")) {
    if (strncasecmp(p + 1, lower, klen) == 0 && p[1 + klen] == '=') {
      snprintf(out, size, "%.*s", (int)klen, p + 1);
      return;
    }
  }
}

/* The URI of option `uri`, parsed without connecting. Returns 0 or a
 * negative errno with err filled; an option libmongoc does not know is
 * an error, as an unknown key is anywhere else. */
static int parse_uri(const siphon_host_api *api, siphon_source *src, const char *text,
                     mongoc_uri_t **out, siphon_error *err) {
  mg_uri_notes notes;
  memset(&notes, 0, sizeof(notes));
  bson_error_t berr;
  uri_notes = &notes;
  mongoc_uri_t *uri = mongoc_uri_new_with_error(text, &berr);
  uri_notes = NULL;
  /* The driver's other warnings ("Deprecated boolean value for \"tls\"")
   * are the source's: logged with its name. */
  for (int i = 0; i < notes.note_count; i++) {
    api->log(src, SIPHON_LOG_WARN, "options.uri: %s", notes.notes[i]);
  }
  /* The error names what is wrong, never the URI itself. libmongoc's
   * own quotes the user name or password it could not take ("Password
   * \"pa:ss\" must not have unescaped chars"): said without them. */
  if (uri == NULL) {
    if (strstr(berr.message, "must not have unescaped chars") != NULL) {
      return bad(err, "uri",
                 "not a valid MongoDB connection string: its user name or password holds a "
                 "character that must be percent-encoded (: / ? # [ ] @ %% as %%3A %%2F %%3F "
                 "%%23 %%5B %%5D %%40 %%25)");
    }
    return bad(err, "uri", "not a valid MongoDB connection string: %.180s", berr.message);
  }
  if (notes.unknown_count > 0) {
    mongoc_uri_destroy(uri);
    char name[sizeof(notes.unknown)];
    user_spelling(text, notes.unknown, name, sizeof(name));
    const char *near = uri_option_near(name);
    char more[48] = "";
    if (notes.unknown_count > 1) {
      snprintf(more, sizeof(more), " (and %d more)", notes.unknown_count - 1);
    }
    /* The version too: an option of a newer driver's (timeoutMS) is no
     * typo, and the nearest name would mislead on its own. */
    if (near != NULL) {
      return bad(err, "uri",
                 "unknown URI option \"%s\"%s: libmongoc " MONGOC_VERSION_S
                 " does not support it; did you mean \"%s\"?",
                 name, more, near);
    }
    return bad(err, "uri",
               "unknown URI option \"%s\"%s: libmongoc " MONGOC_VERSION_S " does not support it",
               name, more);
  }
  *out = uri;
  return 0;
}

static int to_bson(const json_t *options, const char *key, bson_t **out, siphon_error *err) {
  const json_t *v = json_object_get(options, key);
  if (v == NULL || json_is_null(v)) {
    return 0;
  }
  char why[160];
  *out = mg_json_to_bson(v, why, sizeof(why));
  return *out != NULL ? 0 : bad(err, key, "%s", why);
}

static const char *opt_str(const json_t *options, const char *key) {
  return json_string_value(json_object_get(options, key));
}

static int has_opt(const json_t *options, const char *key) {
  const json_t *v = json_object_get(options, key);
  return v != NULL && !json_is_null(v);
}

/* What the driver may spend of a round's timeout: a little less than all
 * of it, so that the driver's own error (naming the server and why) ends
 * the round rather than the host's bare "timed out". */
static int32_t driver_budget_ms(uint64_t timeout_ms) {
  uint64_t margin = timeout_ms / 10 > 100 ? timeout_ms / 10 : 100;
  uint64_t b = timeout_ms > 2 * margin ? timeout_ms - margin : timeout_ms / 2;
  if (b == 0) {
    b = 1;
  }
  return b > INT32_MAX ? INT32_MAX : (int32_t)b;
}

/* The budget bounds every wait of the driver: server selection (an
 * unreachable server), connect, and each socket read (a hung one). A
 * smaller value already in the URI is kept. */
static void apply_timeouts(mongoc_uri_t *uri, int32_t budget_ms) {
  /* waitQueueTimeoutMS too: with maxPoolSize reached, a pop would wait
   * for a client as long as the sources holding them keep them. */
  const char *keys[] = {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, MONGOC_URI_SOCKETTIMEOUTMS,
                        MONGOC_URI_CONNECTTIMEOUTMS, MONGOC_URI_WAITQUEUETIMEOUTMS};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    int32_t cur = mongoc_uri_get_option_as_int32(uri, keys[i], 0);
    if (cur <= 0 || cur > budget_ms) {
      mongoc_uri_set_option_as_int32(uri, keys[i], budget_ms);
    }
  }
}

/* Options that only some operations read: one given to another is a
 * mistake worth reporting rather than ignoring. */
static int check_op_options(const json_t *options, mg_op op, siphon_error *err) {
  static const struct {
    const char *key;
    unsigned ops; /* bit per mg_op */
    const char *where;
  } uses[] = {
      {"filter", 1u << MG_OP_FIND | 1u << MG_OP_COUNT, "find and count"},
      {"projection", 1u << MG_OP_FIND, "find"},
      {"sort", 1u << MG_OP_FIND, "find"},
      {"limit", 1u << MG_OP_FIND | 1u << MG_OP_COUNT, "find and count"},
      {"batch_size", 1u << MG_OP_FIND | 1u << MG_OP_AGGREGATE, "find and aggregate"},
      {"since", 1u << MG_OP_FIND, "find"},
      {"pipeline", 1u << MG_OP_AGGREGATE, "aggregate"},
      {"command", 1u << MG_OP_COMMAND, "command"},
      {"collection", 1u << MG_OP_FIND | 1u << MG_OP_AGGREGATE | 1u << MG_OP_COUNT,
       "find, aggregate and count"},
  };
  for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
    if (has_opt(options, uses[i].key) && !(uses[i].ops & (1u << op))) {
      return bad(err, uses[i].key, "only used by operation %s", uses[i].where);
    }
  }
  return 0;
}

static int parse_op(const char *s, mg_op *op) {
  static const char *names[] = {"find", "aggregate", "count", "command"};
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, names[i]) == 0) {
      *op = (mg_op)i;
      return 0;
    }
  }
  return -1;
}

/* Whether projection key `key` names the since field or a document that
 * holds it: "meta" holds "meta.ts" (but "met" does not). */
static int holds_since(const char *key, const char *since) {
  size_t n = strlen(key);
  return strncmp(key, since, n) == 0 && (since[n] == '\0' || since[n] == '.');
}

/* Whether the projection value at it is a nested projection ({"m": {"t":
 * 0}}, MongoDB's spelling of {"m.t": 0} since 4.4) rather than a value or
 * an operator ({"$slice": 2}, {"$elemMatch": ...}). */
static int nested_projection(const bson_iter_t *it, bson_iter_t *child) {
  if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, child)) {
    return 0;
  }
  bson_iter_t first = *child;
  return bson_iter_next(&first) && bson_iter_key(&first)[0] != '$';
}

/* Looks at each field a projection (or a nested part of it, under
 * prefix) names, by its full dotted path. */
static int scan_projection(bson_iter_t *it, const char *prefix, const char *since, int *inclusion,
                           int *included, siphon_error *err) {
  int rc = 0;
  while (rc == 0 && bson_iter_next(it)) {
    char *k = prefix[0] != '\0' ? bson_strdup_printf("%s.%s", prefix, bson_iter_key(it))
                                : bson_strdup(bson_iter_key(it));
    bson_iter_t child;
    int on = !(BSON_ITER_HOLDS_NUMBER(it) || BSON_ITER_HOLDS_BOOL(it)) || bson_iter_as_bool(it);
    if (nested_projection(it, &child)) {
      rc = scan_projection(&child, k, since, inclusion, included, err);
    } else if (holds_since(k, since) && !on) {
      rc = strcmp(k, since) == 0
               ? bad(err, "projection", "excludes \"%s\", the since field", since)
               : bad(err, "projection", "excludes \"%s\", which holds \"%s\", the since field", k,
                     since);
    } else if (on) {
      *included = *included || holds_since(k, since);
      *inclusion = *inclusion || strcmp(k, "_id") != 0;
    }
    bson_free(k);
  }
  return rc;
}

/* With `since`, the field must come back in every document: an exclusion
 * projection must not drop it, nor the document it is in ("meta": 0 for
 * "meta.ts": every document would come back without it, the value would
 * never move, and each round would read the same documents again); an
 * inclusion projection gets it added, unless it includes it already, as
 * "meta": 1 does (adding "meta.ts" beside it is a path collision, which
 * MongoDB refuses). A nested projection ({"meta": {"ts": 0}}, {"meta":
 * {"x": 1}}) is read by its dotted paths: "meta" there is no field of its
 * own, neither dropped nor included whole. */
static int since_projection(mg_query *q, siphon_error *err) {
  if (q->projection == NULL) {
    return 0;
  }
  bson_iter_t it;
  int inclusion = 0;
  int included = 0;
  if (!bson_iter_init(&it, q->projection)) {
    return bad(err, "projection", "%s", "not a valid document");
  }
  int rc = scan_projection(&it, "", q->since, &inclusion, &included, err);
  if (rc != 0) {
    return rc;
  }
  if (inclusion && !included) {
    BSON_APPEND_INT32(q->projection, q->since, 1);
  }
  return 0;
}

static int build_query(const siphon_host_api *api, siphon_source *src, const json_t *options,
                       const mongoc_uri_t *uri, mg_query *q, siphon_error *err) {
  if (parse_op(opt_str(options, "operation"), &q->op) != 0) {
    return bad(err, "operation", "expected find, aggregate, count or command, got \"%s\"",
               opt_str(options, "operation"));
  }
  int rc = check_op_options(options, q->op, err);
  if (rc != 0) {
    return rc;
  }
  const char *db = opt_str(options, "database");
  if (db == NULL) {
    db = mongoc_uri_get_database(uri);
  }
  if (db == NULL && q->op == MG_OP_COMMAND) {
    db = "admin";
  }
  if (db == NULL || db[0] == '\0') {
    return bad(err, "database", "%s", "required: set it, or name the database in the URI path");
  }
  q->database = strdup(db);
  const char *coll = opt_str(options, "collection");
  if (q->op != MG_OP_COMMAND && (coll == NULL || coll[0] == '\0')) {
    return bad(err, "collection", "required for operation %s", opt_str(options, "operation"));
  }
  q->collection = coll != NULL ? strdup(coll) : NULL;
  if (q->op == MG_OP_AGGREGATE && !has_opt(options, "pipeline")) {
    return bad(err, "pipeline", "%s", "required for operation aggregate");
  }
  if (q->op == MG_OP_COMMAND && !has_opt(options, "command")) {
    return bad(err, "command", "%s", "required for operation command, e.g. {\"dbStats\": 1}");
  }
  rc = to_bson(options, "filter", &q->filter, err);
  rc = rc != 0 ? rc : to_bson(options, "projection", &q->projection, err);
  rc = rc != 0 ? rc : to_bson(options, "sort", &q->sort, err);
  rc = rc != 0 ? rc : to_bson(options, "pipeline", &q->pipeline, err);
  rc = rc != 0 ? rc : to_bson(options, "command", &q->command, err);
  if (rc != 0) {
    return rc;
  }
  if (q->filter == NULL) {
    q->filter = bson_new();
  }
  if (q->command != NULL && bson_count_keys(q->command) == 0) {
    return bad(err, "command", "%s", "expected a command document such as {\"serverStatus\": 1}");
  }
  json_int_t limit = json_integer_value(json_object_get(options, "limit"));
  json_int_t batch = json_integer_value(json_object_get(options, "batch_size"));
  json_int_t maxdoc = json_integer_value(json_object_get(options, "max_documents"));
  if (limit < 0) {
    return bad(err, "limit", "%s", "expected an integer >= 0 (0: no limit)");
  }
  if (batch < 0 || batch > INT32_MAX) {
    return bad(err, "batch_size", "%s", "expected an integer from 0 to 2147483647");
  }
  if (maxdoc < 1) {
    return bad(err, "max_documents", "%s", "expected an integer >= 1");
  }
  q->limit = limit;
  q->batch_size = (int32_t)batch;
  q->max_documents = maxdoc;
  q->max_time_ms = driver_budget_ms(api->source_timeout_ms(src));
  q->ejson = strcmp(opt_str(options, "extended_json"), "canonical") == 0 ? MG_EJSON_CANONICAL
                                                                         : MG_EJSON_RELAXED;
  const char *since = opt_str(options, "since");
  if (since != NULL) {
    if (since[0] == '\0' || since[0] == '$') {
      return bad(err, "since", "expected a field name such as \"_id\", got \"%s\"", since);
    }
    if (q->sort != NULL) {
      return bad(err, "sort", "%s", "cannot be combined with since, which sorts by its field");
    }
    q->since = strdup(since);
    return since_projection(q, err);
  }
  return 0;
}

static void query_free(mg_query *q) {
  free(q->database);
  free(q->collection);
  free(q->since);
  bson_destroy(q->filter);
  bson_destroy(q->projection);
  bson_destroy(q->sort);
  bson_destroy(q->pipeline);
  bson_destroy(q->command);
}

static void mg_destroy(void *instance) {
  mg_source *s = instance;
  if (s->pool != NULL) {
    mg_pools_release(s->pools, s->pool);
  }
  mongoc_uri_destroy(s->uri);
  query_free(&s->q);
  free(s->state_path);
  if (s->has_last) {
    bson_value_destroy(&s->last);
  }
  free(s);
}

static int load_state(mg_source *s, siphon_error *err) {
  const char *dir = s->api->state_dir(s->src);
  if (dir == NULL) {
    return bad(err, "since", "%s", "needs siphon.state_dir");
  }
  s->state_path = mg_since_path(dir, s->api->source_name(s->src));
  if (s->state_path == NULL) {
    return -ENOMEM;
  }
  int rc = mg_since_load(s->state_path, s->q.since, &s->last, err);
  if (rc < 0) {
    snprintf(err->path, sizeof(err->path), "since");
    return rc;
  }
  s->has_last = rc == 1;
  return 0;
}

static int mg_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                     void **instance, siphon_error *err) {
  mg_source *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return -ENOMEM;
  }
  s->api = api;
  s->src = src;
  s->pools = api->plugin_data(src);
  /* Parsing only: create() also serves --check, which must not connect. */
  int rc = parse_uri(api, src, opt_str(options, "uri"), &s->uri, err);
  if (rc == 0) {
    apply_timeouts(s->uri, driver_budget_ms(api->source_timeout_ms(src)));
    rc = build_query(api, src, options, s->uri, &s->q, err);
  }
  if (rc == 0 && s->q.since != NULL) {
    rc = load_state(s, err);
  }
  if (rc != 0) {
    mg_destroy(s);
    return rc;
  }
  *instance = s;
  return 0;
}

/* --- rounds --- */

static int mg_collect_blocking(void *instance, siphon_round *round, siphon_error *err) {
  mg_source *s = instance;
  const siphon_host_api *api = s->api;
  if (s->pool == NULL) {
    int rc = mg_pools_acquire(s->pools, s->uri, &s->pool, err);
    if (rc != 0) {
      return rc;
    }
  }
  mongoc_client_pool_t *pool = mg_pool_get(s->pool);
  mongoc_client_t *client = mongoc_client_pool_pop(pool);
  if (client == NULL) {
    /* Every client of the pool is in use past waitQueueTimeoutMS: the
     * URI's maxPoolSize is below the sources that share it. */
    snprintf(err->text, sizeof(err->text),
             "no client free in the pool within %d ms (waitQueueTimeoutMS): more sources "
             "share this uri than its maxPoolSize allows",
             (int)mongoc_uri_get_option_as_int32(s->uri, MONGOC_URI_WAITQUEUETIMEOUTMS, 0));
    return -ETIMEDOUT;
  }
  if (api->round_cancelled(round)) {
    /* Timed out while waiting for that client: the round is over. */
    mongoc_client_pool_push(pool, client);
    snprintf(err->text, sizeof(err->text), "%s", "cancelled while waiting for a client");
    return -ECANCELED;
  }
  mg_run run = {.api = api, .src = s->src, .round = round, .q = &s->q};
  /* The run owns the last value while it runs; it comes back below. */
  run.last = s->last;
  run.has_last = s->has_last;
  int rc = mg_ops_run(&run, client, err);
  mongoc_client_pool_push(pool, client);
  s->last = run.last;
  s->has_last = run.has_last;
  if (run.truncated) {
    api->log(s->src, SIPHON_LOG_WARN, "max_documents (%lld) reached: %s",
             (long long)s->q.max_documents,
             s->q.since != NULL ? "the next round continues from there"
                                : "the rest of the result was not read");
  }
  if (run.advanced) {
    siphon_error serr = {{0}, {0}};
    int src_rc = mg_since_save(s->state_path, s->q.since, &s->last, &serr);
    if (src_rc != 0 && rc == 0) {
      rc = src_rc;
      *err = serr;
    } else if (src_rc != 0) {
      api->log(s->src, SIPHON_LOG_ERROR, "%s", serr.text);
    }
  }
  return rc;
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "mongo",
    .version = "1.0.0",
    .description = "MongoDB: find, aggregate, count, commands (serverStatus...), incremental reads",
    .capability = SIPHON_CAP_BLOCKING,
    .kind = SIPHON_KIND_POLLED,
    .options = mg_options,
    .plugin_init = mg_plugin_init,
    .plugin_fini = mg_plugin_fini,
    .create = mg_create,
    .collect_blocking = mg_collect_blocking,
    .destroy = mg_destroy,
    .example =
        "{\"uri\": \"mongodb://127.0.0.1:27017\", \"database\": \"shop\", "
        "\"collection\": \"orders\", \"operation\": \"find\", "
        "\"filter\": {\"status\": \"paid\"}, \"since\": \"_id\"}",
};
