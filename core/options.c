/* A source's "options" against its plugin's options table: the plugin's
 * create() then sees a complete object of the types it declared. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_check.h"
#include "util.h"

const char *siphon__opt_type_name(siphon_opt_type t) {
  switch (t) {
    case SIPHON_OPT_STRING:
      return "string";
    case SIPHON_OPT_INT:
      return "integer";
    case SIPHON_OPT_NUMBER:
      return "number";
    case SIPHON_OPT_BOOL:
      return "boolean";
    case SIPHON_OPT_DURATION:
      return "duration";
    case SIPHON_OPT_OBJECT:
      return "object";
    case SIPHON_OPT_ARRAY:
      return "array";
    case SIPHON_OPT_ANY:
      return "any";
    case SIPHON_OPT_SIZE:
      return "size";
  }
  return "unknown";
}

static const char *expectation(siphon_opt_type t) {
  switch (t) {
    case SIPHON_OPT_STRING:
      return "a string";
    case SIPHON_OPT_INT:
      return "an integer";
    case SIPHON_OPT_NUMBER:
      return "a number";
    case SIPHON_OPT_BOOL:
      return "true or false";
    case SIPHON_OPT_DURATION:
      return SIPHON__DURATION_EXPECTED;
    case SIPHON_OPT_OBJECT:
      return "an object";
    case SIPHON_OPT_ARRAY:
      return "an array";
    case SIPHON_OPT_ANY:
      return "any JSON value";
    case SIPHON_OPT_SIZE:
      return "a size such as \"64KiB\", \"16MiB\" or a number of bytes";
  }
  return "a value";
}

static void add_error(siphon__diag *d, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void verror(siphon__diag *d, const char *where, const char *key, int value, const char *fmt,
                   va_list ap) {
  char *at = key != NULL ? siphon__path_key(where, key) : siphon__xstrdup(where);
  siphon__diag_vadd(d, at, value, fmt, ap);
  free(at);
}

static void add_error(siphon__diag *d, const char *where, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(d, where, key, 1, fmt, ap);
  va_end(ap);
}

/* Is `s` one of the '|'-separated `choices`? */
static int in_choices(const char *s, const char *choices) {
  size_t n = strlen(s);
  const char *p = choices;
  for (;;) {
    const char *bar = strchr(p, '|');
    size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
    if (len == n && strncmp(p, s, n) == 0) {
      return 1;
    }
    if (bar == NULL) {
      return 0;
    }
    p = bar + 1;
  }
}

static const char *suggest_choice(const char *s, const char *choices, char *buf, size_t size) {
  size_t count = 1;
  for (const char *p = choices; *p != '\0'; p++) {
    count += *p == '|';
  }
  char *copy = siphon__xstrdup(choices);
  const char **list = siphon__xcalloc(count + 1, sizeof(char *));
  size_t i = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, "|", &save); tok != NULL && i < count;
       tok = strtok_r(NULL, "|", &save)) {
    list[i++] = tok;
  }
  const char *near = siphon__suggest(s, list);
  const char *out = NULL;
  if (near != NULL) {
    snprintf(buf, size, "%s", near);
    out = buf;
  }
  free((void *)list);
  free(copy);
  return out;
}

/* What a wrong value was, for a message: its type alone for a secret
 * option (a token given as a number is still a token), else its text. */
static char *got_text(const siphon_option *o, const json_t *v, int value_form) {
  if (o->flags & SIPHON_OPT_SECRET) {
    return siphon__asprintf("%s (not shown: the option is secret)", siphon__json_kind(v));
  }
  return value_form && (json_is_string(v) || json_is_number(v)) ? siphon__json_value_text(v)
                                                                : siphon__json_show(v);
}

/* Checks one value against its row. Returns a new normalized value, or
 * NULL after describing the problem in *why (a new string). */
static json_t *check_value(const siphon_option *o, const json_t *v, char **why) {
  int ok = 0;
  switch (o->type) {
    case SIPHON_OPT_STRING:
      ok = json_is_string(v);
      break;
    case SIPHON_OPT_INT:
      ok = json_is_integer(v);
      break;
    case SIPHON_OPT_NUMBER:
      ok = json_is_number(v);
      break;
    case SIPHON_OPT_BOOL:
      ok = json_is_boolean(v);
      break;
    case SIPHON_OPT_OBJECT:
      ok = json_is_object(v);
      break;
    case SIPHON_OPT_ARRAY:
      ok = json_is_array(v);
      break;
    case SIPHON_OPT_ANY:
      ok = 1;
      break;
    case SIPHON_OPT_SIZE: {
      uint64_t bytes;
      if (siphon__size_parse(v, &bytes) == 0 && bytes <= (uint64_t)LLONG_MAX) {
        return json_integer((json_int_t)bytes);
      }
      char *got = got_text(o, v, 1);
      *why = siphon__asprintf("expected %s, got %s", expectation(o->type), got);
      free(got);
      return NULL;
    }
    case SIPHON_OPT_DURATION: {
      uint64_t ms;
      int rc = siphon__duration_parse(v, &ms);
      if (rc == 0 && ms <= (uint64_t)LLONG_MAX) {
        return json_integer((json_int_t)ms);
      }
      const char *digits = siphon__json_digits(v);
      if (digits != NULL && !(o->flags & SIPHON_OPT_SECRET)) {
        *why = siphon__asprintf(SIPHON__DURATION_NO_UNIT, digits, digits, digits);
        return NULL;
      }
      char *got = got_text(o, v, 1);
      if (rc == 0 || rc == -ERANGE) {
        *why = siphon__asprintf("%s is " SIPHON__DURATION_TOO_LONG, got);
      } else {
        *why = siphon__asprintf("expected %s, got %s", expectation(o->type), got);
      }
      free(got);
      return NULL;
    }
  }
  if (!ok) {
    char *got = got_text(o, v, 0);
    *why = siphon__asprintf("expected %s, got %s", expectation(o->type), got);
    free(got);
    return NULL;
  }
  if (o->type == SIPHON_OPT_STRING && o->choices != NULL &&
      !in_choices(json_string_value(v), o->choices)) {
    char *got = got_text(o, v, 1);
    char buf[128];
    const char *near = suggest_choice(json_string_value(v), o->choices, buf, sizeof(buf));
    if (near != NULL) {
      *why = siphon__asprintf("expected one of %s, got %s; did you mean \"%s\"?", o->choices, got,
                              near);
    } else {
      *why = siphon__asprintf("expected one of %s, got %s", o->choices, got);
    }
    free(got);
    return NULL;
  }
  return json_deep_copy(v);
}

char *siphon__options_table_fault(const siphon_option *table, int newer) {
  for (size_t i = 0; table != NULL && table[i].key != NULL; i++) {
    const siphon_option *o = &table[i];
    if (o->key[0] == '\0') {
      return siphon__asprintf("options[%zu] has an empty key", i);
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(table[j].key, o->key) == 0) {
        return siphon__asprintf("options[%zu] and options[%zu] are both \"%s\"", j, i, o->key);
      }
    }
    if (o->type < SIPHON_OPT_STRING || o->type > SIPHON_OPT_SIZE) {
      if (newer && o->type > SIPHON_OPT_SIZE) {
        return siphon__asprintf(
            "option \"%s\" has type %d, which this siphon (plugin ABI "
            "%d.%d) does not know: the plugin needs a newer siphon",
            o->key, (int)o->type, SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR);
      }
      return siphon__asprintf("option \"%s\" has type %d, which is no siphon_opt_type", o->key,
                              (int)o->type);
    }
    if (!newer && (o->flags & ~(SIPHON_OPT_REQUIRED | SIPHON_OPT_SECRET)) != 0) {
      return siphon__asprintf(
          "option \"%s\" has flags 0x%x beyond SIPHON_OPT_REQUIRED and "
          "SIPHON_OPT_SECRET",
          o->key, o->flags);
    }
    if (o->default_json == NULL) {
      continue;
    }
    json_error_t jerr;
    json_t *def = json_loads(o->default_json, JSON_DECODE_ANY, &jerr);
    if (def == NULL) {
      return siphon__asprintf("option \"%s\" has the default '%s', which is not JSON (%s)", o->key,
                              o->default_json, jerr.text);
    }
    char *why = NULL;
    json_t *norm = check_value(o, def, &why);
    json_decref(def);
    if (norm == NULL) {
      char *msg =
          siphon__asprintf("option \"%s\" has the default '%s': %s", o->key, o->default_json, why);
      free(why);
      return msg;
    }
    json_decref(norm);
  }
  return NULL;
}

/* Adds one slip to the list (a new string): "a; b". */
static char *add_slip(char *list, char *slip) {
  if (list == NULL) {
    return slip;
  }
  char *both = siphon__asprintf("%s; %s", list, slip);
  free(list);
  free(slip);
  return both;
}

char *siphon__options_table_advice(const siphon_option *table) {
  /* Every slip at once: fixing one to be told of the next is a build
   * and a run each. */
  char *list = NULL;
  for (size_t i = 0; table != NULL && table[i].key != NULL; i++) {
    const siphon_option *o = &table[i];
    if (o->choices != NULL && o->type != SIPHON_OPT_STRING) {
      /* Only a string is checked against them: anything would pass. */
      list = add_slip(list, siphon__asprintf("option \"%s\" has choices \"%s\", but choices are "
                                             "for SIPHON_OPT_STRING options only",
                                             o->key, o->choices));
    } else if (o->choices != NULL &&
               (o->choices[0] == '\0' || o->choices[0] == '|' || strstr(o->choices, "||") != NULL ||
                o->choices[strlen(o->choices) - 1] == '|')) {
      list = add_slip(list, siphon__asprintf("option \"%s\" has choices \"%s\", with an empty one",
                                             o->key, o->choices));
    }
    if (o->default_json != NULL && (o->flags & SIPHON_OPT_REQUIRED)) {
      list = add_slip(list, siphon__asprintf("option \"%s\" is required and has a default ('%s'): "
                                             "a default is never used on a required option; give "
                                             "one or the other",
                                             o->key, o->default_json));
    }
  }
  return list;
}

char *siphon__options_example_fault(const siphon_option *table, const char *example) {
  if (example == NULL) {
    return NULL;
  }
  json_error_t jerr;
  json_t *v = json_loads(example, 0, &jerr);
  if (v == NULL) {
    return siphon__asprintf("'%s' is not a JSON object (%s)", example, jerr.text);
  }
  siphon__diag d;
  siphon__diag_init(&d);
  json_t *validated = NULL;
  char *fault = NULL;
  if (siphon__options_validate(table, v, "example", &validated, &d) != 0 && d.count > 0) {
    fault = siphon__asprintf("%s: %s", d.entries[0].where, d.entries[0].text);
  }
  json_decref(validated);
  json_decref(v);
  siphon__diag_free(&d);
  return fault;
}

static const siphon_option *find_row(const siphon_option *table, const char *key) {
  for (const siphon_option *o = table; o != NULL && o->key != NULL; o++) {
    if (strcmp(o->key, key) == 0) {
      return o;
    }
  }
  return NULL;
}

/* An error about a key, not its value: no "the value came from". */
static void add_key_error(siphon__diag *d, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_key_error(siphon__diag *d, const char *where, const char *key, const char *fmt,
                          ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(d, where, key, 0, fmt, ap);
  va_end(ap);
}

static void unknown_key(const siphon_option *table, const char *key, const char *where,
                        siphon__diag *d) {
  /* "timeout" inside "options" is the likeliest slip of all: say where
   * it goes rather than list every option. */
  for (const char *const *k = siphon__source_keys; *k != NULL; k++) {
    if (strcmp(key, *k) == 0) {
      add_key_error(d, where, key,
                    "unknown option; \"%s\" is a key of the source itself: put it beside "
                    "\"options\", not inside",
                    key);
      return;
    }
  }
  size_t n = 0;
  size_t len = 0;
  for (const siphon_option *o = table; o != NULL && o->key != NULL; o++) {
    n++;
    len += strlen(o->key) + 2;
  }
  if (n == 0) {
    add_key_error(d, where, key, "unknown option; this plugin takes no options");
    return;
  }
  const char **known = siphon__xcalloc(n + 1, sizeof(char *));
  char *list = siphon__xcalloc(1, len + 1);
  for (size_t i = 0; i < n; i++) {
    known[i] = table[i].key;
    if (i > 0) {
      strcat(list, ", ");
    }
    strcat(list, table[i].key);
  }
  const char *near = siphon__suggest(key, known);
  if (near != NULL) {
    add_key_error(d, where, key, "unknown option; did you mean \"%s\"?", near);
  } else {
    add_key_error(d, where, key, "unknown option; this plugin's options are: %s", list);
  }
  free(list);
  free((void *)known);
}

int siphon__options_validate(const siphon_option *table, const json_t *options, const char *where,
                             json_t **validated_out, siphon__diag *d) {
  *validated_out = NULL;
  size_t errors_before = d->count;
  json_t *empty = NULL;
  if (options == NULL) {
    empty = json_object();
    options = empty;
  }
  if (!json_is_object(options)) {
    char *got = siphon__json_show(options);
    add_error(d, where, NULL, "expected an object of options, got %s", got);
    free(got);
    return -EINVAL;
  }
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)options, key, v) {
    if (find_row(table, key) == NULL) {
      unknown_key(table, key, where, d);
    }
  }
  json_t *out = json_object();
  for (const siphon_option *o = table; o != NULL && o->key != NULL; o++) {
    if (find_row(table, o->key) != o) {
      continue; /* a plugin listing a key twice: the first row rules */
    }
    json_t *given = json_object_get(options, o->key);
    char *why = NULL;
    if (given != NULL) {
      json_t *norm = check_value(o, given, &why);
      if (norm == NULL) {
        add_error(d, where, o->key, "%s", why);
        free(why);
      } else {
        json_object_set_new(out, o->key, norm);
      }
      continue;
    }
    if (o->flags & SIPHON_OPT_REQUIRED) {
      add_error(d, where, NULL, "missing required option \"%s\" (%s%s%s)", o->key,
                siphon__opt_type_name(o->type), o->description ? ": " : "",
                o->description ? o->description : "");
      continue;
    }
    if (o->default_json == NULL) {
      continue;
    }
    json_error_t jerr;
    json_t *def = json_loads(o->default_json, JSON_DECODE_ANY, &jerr);
    if (def == NULL) {
      add_error(d, where, o->key,
                "the plugin's default '%s' is not valid JSON (%s); this is a bug in the plugin",
                o->default_json, jerr.text);
      continue;
    }
    json_t *norm = check_value(o, def, &why);
    json_decref(def);
    if (norm == NULL) {
      add_error(d, where, o->key,
                "the plugin's default '%s' is wrong: %s; this is a bug in the plugin",
                o->default_json, why);
      free(why);
      continue;
    }
    json_object_set_new(out, o->key, norm);
  }
  json_decref(empty);
  if (d->count > errors_before) {
    json_decref(out);
    return -EINVAL;
  }
  *validated_out = out;
  return 0;
}

/* "scheme://user:secret@host/..." -> "scheme://user:****@host/...".
 * Without a scheme, "user:secret@host:port" is masked too: libcurl takes
 * a proxy written so, and a value that only looks like one is better
 * shown masked than a password shown. */
static json_t *mask_userinfo(const char *s) {
  const char *scheme_end = strstr(s, "://");
  const char *auth = scheme_end != NULL ? scheme_end + 3 : s;
  size_t auth_len = strcspn(auth, scheme_end != NULL ? "/?#" : "/?# \t\r\n");
  const char *at = NULL;
  for (size_t i = 0; i < auth_len; i++) {
    if (auth[i] == '@') {
      at = auth + i; /* the last '@': passwords may contain one unescaped */
    }
  }
  if (at == NULL) {
    return NULL;
  }
  const char *colon = memchr(auth, ':', (size_t)(at - auth));
  if (colon == NULL) {
    return NULL;
  }
  char *masked = siphon__asprintf("%.*s****%s", (int)(colon + 1 - s), s, at);
  json_t *out = json_string(masked);
  free(masked);
  return out;
}

static json_t *redact_value(const json_t *v) {
  if (json_is_string(v)) {
    json_t *m = mask_userinfo(json_string_value(v));
    return m != NULL ? m : json_deep_copy(v);
  }
  if (json_is_object(v)) {
    json_t *out = json_object();
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
      json_object_set_new(out, key, redact_value(child));
    }
    return out;
  }
  if (json_is_array(v)) {
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(v); i++) {
      json_array_append_new(out, redact_value(json_array_get(v, i)));
    }
    return out;
  }
  return json_deep_copy(v);
}

json_t *siphon__options_redact(const siphon_option *table, const json_t *options) {
  if (options == NULL) {
    return json_object();
  }
  json_t *out = redact_value(options);
  if (!json_is_object(out)) {
    return out;
  }
  for (const siphon_option *o = table; o != NULL && o->key != NULL; o++) {
    json_t *v = json_object_get(out, o->key);
    if ((o->flags & SIPHON_OPT_SECRET) && v != NULL && !json_is_null(v)) {
      json_object_set_new(out, o->key, json_string("********"));
    }
  }
  return out;
}

/* The duration forms siphon__duration_parse_str accepts, as in
 * config/siphon.schema.json. */
#define DURATION_PATTERN "^((([0-9]+(\\.[0-9]+)?|\\.[0-9]+)(ms|s|m|h))+|0)$"
#define SIZE_PATTERN \
  "^(([0-9]+(\\.0+)?|\\.0+) ?[bB]?|([0-9]+(\\.[0-9]+)?|\\.[0-9]+) ?[kKmMgGtT][iI]?[bB])$"
#define ENV_PATTERN "\\$\\{([A-Za-z_][A-Za-z0-9_]*(:[-?][^}]*)?|file:[^}]+)\\}"

static json_t *env_string_schema(void) {
  return json_pack("{s:s, s:s}", "type", "string", "pattern", ENV_PATTERN);
}

static json_t *option_schema(const siphon_option *o) {
  json_t *s = json_object();
  switch (o->type) {
    case SIPHON_OPT_STRING:
      if (o->choices != NULL) {
        json_t *values = json_array();
        char *copy = siphon__xstrdup(o->choices);
        char *save = NULL;
        for (char *tok = strtok_r(copy, "|", &save); tok != NULL;
             tok = strtok_r(NULL, "|", &save)) {
          json_array_append_new(values, json_string(tok));
        }
        free(copy);
        /* ${MODE} is a string the schema cannot see through. */
        json_object_set_new(s, "anyOf",
                            json_pack("[{s:o}, o]", "enum", values, env_string_schema()));
      } else {
        json_object_set_new(s, "type", json_string("string"));
      }
      break;
    case SIPHON_OPT_INT:
      json_object_set_new(s, "type", json_string("integer"));
      break;
    case SIPHON_OPT_NUMBER:
      json_object_set_new(s, "type", json_string("number"));
      break;
    case SIPHON_OPT_BOOL:
      json_object_set_new(s, "type", json_string("boolean"));
      break;
    case SIPHON_OPT_DURATION:
      json_object_set_new(
          s, "anyOf",
          json_pack("[{s:s, s:i}, {s:s, s:s}, o]", "type", "integer", "minimum", 0, "type",
                    "string", "pattern", DURATION_PATTERN, env_string_schema()));
      break;
    case SIPHON_OPT_OBJECT:
      json_object_set_new(s, "type", json_string("object"));
      break;
    case SIPHON_OPT_ARRAY:
      json_object_set_new(s, "type", json_string("array"));
      break;
    case SIPHON_OPT_SIZE:
      json_object_set_new(
          s, "anyOf",
          json_pack("[{s:s, s:i}, {s:s, s:s}, o]", "type", "integer", "minimum", 0, "type",
                    "string", "pattern", SIZE_PATTERN, env_string_schema()));
      break;
    case SIPHON_OPT_ANY:
      break;
  }
  if (o->description != NULL) {
    json_object_set_new(s, "description", json_string(o->description));
  }
  /* A secret's default stays out of the schema, as its value stays out
   * of every listing. */
  if (o->default_json != NULL && !(o->flags & SIPHON_OPT_SECRET)) {
    json_t *def = json_loads(o->default_json, JSON_DECODE_ANY, NULL);
    if (def != NULL) {
      json_object_set_new(s, "default", def);
    }
  }
  if (o->flags & SIPHON_OPT_SECRET) {
    json_object_set_new(s, "writeOnly", json_true());
  }
  return s;
}

json_t *siphon__options_schema(const siphon_option *table) {
  json_t *props = json_object();
  json_t *required = json_array();
  for (const siphon_option *o = table; o != NULL && o->key != NULL; o++) {
    if (json_object_get(props, o->key) != NULL) {
      continue;
    }
    json_object_set_new(props, o->key, option_schema(o));
    if (o->flags & SIPHON_OPT_REQUIRED) {
      json_array_append_new(required, json_string(o->key));
    }
  }
  json_t *s = json_pack("{s:s, s:b, s:o}", "type", "object", "additionalProperties", 0,
                        "properties", props);
  if (json_array_size(required) > 0) {
    json_object_set_new(s, "required", required);
  } else {
    json_decref(required);
  }
  return s;
}
