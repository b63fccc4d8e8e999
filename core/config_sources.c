/* The "sources" array: one entry per collected source, with its schedule
 * checked against itself (timeout, jitter and backoff against interval). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "util.h"

#define DEFAULT_INTERVAL_MS 10000u
/* A failing source retries at its interval, doubling up to this (or its
 * interval, if longer): a broken endpoint is not hammered, and a fixed one
 * is picked up within minutes. */
#define DEFAULT_MAX_BACKOFF_MS (5u * 60u * 1000u)

const char *const siphon__source_keys[] = {"name",        "plugin", "interval", "timeout", "jitter",
                                           "max_backoff", "tags",   "options",  "enabled", NULL};

static int name_char_ok(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '.' || ch == ':' || ch == '-';
}

/* `seen` maps the names met so far to their index, so that the error
 * names both sources. */
static void check_name(siphon__cfgctx *c, const char *path, const char *name, json_t *seen,
                       size_t index) {
  char *at = siphon__path_key(path, "name");
  const char *p = name;
  while (*p != '\0' && name_char_ok(*p)) {
    p++;
  }
  json_t *first = json_object_get(seen, name);
  if (*p != '\0') {
    /* The whole character (jansson's strings are valid UTF-8), or the
     * code of one that does not print. */
    unsigned char lead = (unsigned char)*p;
    int len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    char shown[16];
    if (lead < 0x20 || lead == 0x7f) {
      snprintf(shown, sizeof(shown), "U+%04X", lead);
    } else {
      snprintf(shown, sizeof(shown), "'%.*s'", len, p);
    }
    siphon__cfg_error(c, at,
                      "\"%s\" has a character not allowed in names (%s); use letters, digits "
                      "and _ . : -",
                      name, shown);
  } else if (strcmp(name, "siphon") == 0) {
    /* siphon.stats_interval writes records with this source name. */
    siphon__cfg_error(c, at,
                      "\"siphon\" is reserved for siphon's own stats records; choose "
                      "another name");
  } else if (first != NULL) {
    siphon__cfg_error(c, at, "\"%s\" is already the name of sources[%lld]; names must be unique",
                      name, (long long)json_integer_value(first));
  } else {
    json_object_set_new(seen, name, json_integer((json_int_t)index));
  }
  free(at);
}

static void check_identity(siphon__cfgctx *c, const json_t *src, const char *path, json_t *seen,
                           siphon__source_conf *sc) {
  const char *name = NULL;
  int rc = siphon__cfg_string(c, src, path, "name", &name);
  if (rc == 0) {
    siphon__cfg_error(c, path,
                      "missing required key \"name\" (a unique name such as \"users-api\")");
  } else if (rc > 0) {
    sc->name = siphon__xstrdup(name);
    check_name(c, path, name, seen, sc->index);
  }
  const char *plugin = NULL;
  rc = siphon__cfg_string(c, src, path, "plugin", &plugin);
  if (rc == 0) {
    siphon__cfg_error(c, path,
                      "missing required key \"plugin\" (the plugin that collects, such as "
                      "\"rest\")");
  } else if (rc > 0) {
    sc->plugin = siphon__xstrdup(plugin);
  }
}

static void not_positive(siphon__cfgctx *c, const json_t *src, const char *path, const char *key) {
  char *at = siphon__path_key(path, key);
  char *got = siphon__json_value_text(json_object_get(src, key));
  siphon__cfg_error(c, at, "expected a duration greater than 0, got %s", got);
  free(got);
  free(at);
}

/* Compares a duration with the interval: "20s is longer than the
 * interval 10s". */
static void against_interval(siphon__cfgctx *c, const char *path, const char *key, uint64_t ms,
                             uint64_t interval, const char *relation, const char *why) {
  char a[32];
  char b[32];
  siphon__duration_format(ms, a, sizeof(a));
  siphon__duration_format(interval, b, sizeof(b));
  char *at = siphon__path_key(path, key);
  siphon__cfg_error(c, at, "%s %s the interval %s%s", a, relation, b, why);
  free(at);
}

static void check_schedule(siphon__cfgctx *c, const json_t *src, const char *path,
                           siphon__source_conf *sc) {
  uint64_t interval = DEFAULT_INTERVAL_MS;
  static const char *const keys[] = {"interval", "timeout", "jitter", "max_backoff"};
  for (unsigned k = 0; k < 4; k++) {
    if (json_object_get(src, keys[k]) != NULL) {
      sc->schedule_set |= 1u << k;
    }
  }
  int rc = siphon__cfg_duration(c, src, path, "interval", &interval);
  /* Comparisons with a bad interval would only repeat its error. */
  int interval_ok = rc >= 0 && interval > 0;
  if (rc > 0 && interval == 0) {
    not_positive(c, src, path, "interval");
  }
  const json_t *iv = json_object_get(src, "interval");
  if (rc > 0 && json_is_integer(iv) && interval > 0 && interval < 1000) {
    /* "interval": 10 is 10 ms to siphon and 10 s to a collectd user: a
     * source polled 100 times a second, which works, and hammers the
     * server. Valid, so said, not refused. */
    char *at = siphon__path_key(path, "interval");
    siphon__cfg_warn(c, at,
                     "%" PRIu64 " is %" PRIu64
                     " milliseconds (a bare number is milliseconds): "
                     "write \"%" PRIu64 "s\" for seconds, or \"%" PRIu64 "ms\" to keep it",
                     interval, interval, interval, interval);
    free(at);
  }
  sc->interval_ms = interval;

  uint64_t timeout = interval;
  rc = siphon__cfg_duration(c, src, path, "timeout", &timeout);
  if (rc > 0 && timeout == 0) {
    not_positive(c, src, path, "timeout");
  } else if (rc > 0 && interval_ok && timeout > interval) {
    /* Say why, so the user knows which of the two to change. */
    against_interval(c, path, "timeout", timeout, interval, "is longer than",
                     "; a round must end before the next one is due");
  }
  sc->timeout_ms = timeout;

  uint64_t jitter = 0;
  rc = siphon__cfg_duration(c, src, path, "jitter", &jitter);
  if (rc > 0 && interval_ok && jitter >= interval) {
    against_interval(c, path, "jitter", jitter, interval, "must be shorter than", "");
  }
  sc->jitter_ms = jitter;

  uint64_t backoff = interval > DEFAULT_MAX_BACKOFF_MS ? interval : DEFAULT_MAX_BACKOFF_MS;
  rc = siphon__cfg_duration(c, src, path, "max_backoff", &backoff);
  if (rc > 0 && interval_ok && backoff < interval) {
    against_interval(c, path, "max_backoff", backoff, interval, "is shorter than", "");
  }
  sc->max_backoff_ms = backoff;
}

/* Tags end up in every record; they are strings there, whatever the
 * config wrote (as in Telegraf and Prometheus labels). */
json_t *siphon__cfg_tags(siphon__cfgctx *c, const json_t *src, const char *path) {
  json_t *tags = NULL;
  json_t *out = json_object();
  if (siphon__cfg_object(c, src, path, "tags", &tags) <= 0) {
    return out;
  }
  char *tags_path = siphon__path_key(path, "tags");
  const char *key;
  json_t *v;
  json_object_foreach(tags, key, v) {
    json_t *s = NULL;
    if (siphon__cfg_is_bad(c, v)) {
      continue;
    }
    if (json_is_string(v)) {
      s = json_incref(v);
    } else if (json_is_number(v)) {
      char *text = siphon__json_value_text(v);
      s = json_string(text);
      free(text);
    } else if (json_is_boolean(v)) {
      s = json_string(json_is_true(v) ? "true" : "false");
    } else {
      char *at = siphon__path_key(tags_path, key);
      char *got = siphon__json_show(v);
      siphon__cfg_error(c, at, "expected a string, number or boolean tag value, got %s", got);
      free(got);
      free(at);
    }
    if (s != NULL) {
      json_object_set_new(out, key, s);
    }
  }
  free(tags_path);
  return out;
}

/* Fills sc from one entry of "sources"; returns 1 if the source is
 * enabled, 0 if it is disabled, -1 if it is not a source at all. Errors
 * go to c. */
static int check_source(siphon__cfgctx *c, json_t *src, json_t *seen, siphon__source_conf *sc) {
  char *path = siphon__path_index("sources", sc->index);
  siphon__cfg_substitute(c, src, path);
  if (siphon__cfg_is_bad(c, src)) {
    free(path);
    return -1;
  }
  if (!json_is_object(src)) {
    char *got = siphon__json_show(src);
    siphon__cfg_error(c, path,
                      "expected an object with \"name\" and \"plugin\" describing a source, got %s",
                      got);
    free(got);
    free(path);
    return -1;
  }
  siphon__cfg_unknown_keys(c, src, path, siphon__source_keys);
  check_identity(c, src, path, seen, sc);
  check_schedule(c, src, path, sc);
  sc->tags = siphon__cfg_tags(c, src, path);
  json_t *options = NULL;
  int rc = siphon__cfg_object(c, src, path, "options", &options);
  sc->options = rc > 0 ? json_deep_copy(options) : json_object();
  int enabled = 1;
  siphon__cfg_bool(c, src, path, "enabled", &enabled);
  free(path);
  return enabled;
}

static void source_conf_free(siphon__source_conf *sc) {
  free(sc->name);
  free(sc->plugin);
  json_decref(sc->tags);
  json_decref(sc->options);
  memset(sc, 0, sizeof(*sc));
}

void siphon__source_confs_free(siphon__source_conf *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    source_conf_free(&v[i]);
  }
  free(v);
}

void siphon__cfg_sources(siphon__cfgctx *c, const json_t *root, siphon__config *cfg) {
  json_t *sources = json_object_get(root, "sources");
  if (sources == NULL) {
    siphon__cfg_error(c, NULL,
                      "missing required key \"sources\" (an array such as [{\"name\": \"x\", "
                      "\"plugin\": \"rest\"}])");
    return;
  }
  if (!json_is_array(sources)) {
    siphon__cfg_substitute(c, sources, "sources");
    if (!siphon__cfg_is_bad(c, sources)) {
      char *got = siphon__json_show(sources);
      siphon__cfg_error(c, "sources", "expected an array of sources, got %s", got);
      free(got);
    }
    return;
  }
  size_t n = json_array_size(sources);
  if (n == 0) {
    siphon__cfg_error(c, "sources", "expected at least one source");
    return;
  }
  cfg->sources = siphon__xcalloc(n, sizeof(siphon__source_conf));
  cfg->disabled = siphon__xcalloc(n, sizeof(siphon__source_conf)); /* trimmed below */
  size_t errors_before = c->d->count;
  json_t *seen = json_object();
  for (size_t i = 0; i < n; i++) {
    siphon__source_conf sc = {.index = i};
    /* Disabled sources are checked too (the host checks their plugin and
     * options): enabling one later must not reveal errors that were
     * there all along. */
    int enabled = check_source(c, json_array_get(sources, i), seen, &sc);
    if (enabled > 0) {
      cfg->sources[cfg->source_count++] = sc;
    } else if (enabled == 0) {
      cfg->disabled[cfg->disabled_count++] = sc;
    } else {
      source_conf_free(&sc);
    }
  }
  json_decref(seen);
  if (cfg->disabled_count == 0) {
    free(cfg->disabled);
    cfg->disabled = NULL;
  }
  if (cfg->source_count == 0 && c->d->count == errors_before) {
    /* Telegraf refuses a config with no input too: a run would idle. */
    siphon__cfg_error(c, "sources",
                      "every source is disabled (\"enabled\": false): nothing would be "
                      "collected; enable one");
  }
}
