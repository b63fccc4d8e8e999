/* Typed getters for the config reader: each says where the bad value is,
 * what was expected and what was found. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "util.h"

/* Adds "FILE: PATH: TEXT" to d: the errors' list, or the warnings'. */
static void cfg_vadd(siphon__cfgctx *c, siphon__diag *d, const char *path, int value,
                     const char *fmt, va_list ap) {
  char *where = path != NULL && path[0] != '\0' ? siphon__asprintf("%s: %s", c->file, path)
                                                : siphon__xstrdup(c->file);
  siphon__diag_vadd(d, where, value, fmt, ap);
  free(where);
}

static void cfg_verror(siphon__cfgctx *c, const char *path, int value, const char *fmt,
                       va_list ap) {
  cfg_vadd(c, c->d, path, value, fmt, ap);
}

void siphon__cfg_error(siphon__cfgctx *c, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cfg_verror(c, path, 1, fmt, ap);
  va_end(ap);
}

void siphon__cfg_warn(siphon__cfgctx *c, const char *path, const char *fmt, ...) {
  if (c->warn == NULL) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  cfg_vadd(c, c->warn, path, 0, fmt, ap);
  va_end(ap);
}

/* An error about a key, not its value: no "the value came from". */
static void cfg_key_error(siphon__cfgctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfg_key_error(siphon__cfgctx *c, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cfg_verror(c, path, 0, fmt, ap);
  va_end(ap);
}

void siphon__cfg_mark_bad(siphon__cfgctx *c, const json_t *v) {
  if (c->bad_count == c->bad_cap) {
    c->bad_cap = c->bad_cap ? c->bad_cap * 2 : 8;
    c->bad = siphon__xrealloc(c->bad, c->bad_cap * sizeof(*c->bad));
  }
  c->bad[c->bad_count++] = v;
}

int siphon__cfg_is_bad(const siphon__cfgctx *c, const json_t *v) {
  for (size_t i = 0; i < c->bad_count; i++) {
    if (c->bad[i] == v) {
      return 1;
    }
  }
  return 0;
}

static int known_key(const char *key, const char *const *known) {
  for (size_t i = 0; known[i] != NULL; i++) {
    if (strcmp(key, known[i]) == 0) {
      return 1;
    }
  }
  return 0;
}

void siphon__cfg_unknown_keys(siphon__cfgctx *c, const json_t *obj, const char *path,
                              const char *const *known) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    if (known_key(key, known)) {
      continue;
    }
    char *p = siphon__path_key(path, key);
    const char *near = siphon__suggest(key, known);
    if (near != NULL) {
      cfg_key_error(c, p, "unknown key; did you mean \"%s\"?", near);
    } else {
      size_t len = 0;
      for (size_t i = 0; known[i] != NULL; i++) {
        len += strlen(known[i]) + 2;
      }
      char *list = siphon__xcalloc(1, len + 1);
      for (size_t i = 0; known[i] != NULL; i++) {
        if (known[i][0] == '$') {
          continue; /* "$schema" is for editors, not worth suggesting */
        }
        if (list[0] != '\0') {
          strcat(list, ", ");
        }
        strcat(list, known[i]);
      }
      cfg_key_error(c, p, "unknown key; expected one of: %s", list);
      free(list);
    }
    free(p);
  }
}

/* Looks up obj[key]; NULL when absent or already reported as bad. */
static json_t *lookup(siphon__cfgctx *c, const json_t *obj, const char *key, int *bad) {
  json_t *v = json_object_get(obj, key);
  *bad = v != NULL && siphon__cfg_is_bad(c, v);
  return *bad ? NULL : v;
}

static void type_error(siphon__cfgctx *c, const char *parent, const char *key, const char *expected,
                       const json_t *v) {
  char *p = siphon__path_key(parent, key);
  char *got = siphon__json_show(v);
  siphon__cfg_error(c, p, "expected %s, got %s", expected, got);
  free(got);
  free(p);
}

static void value_error(siphon__cfgctx *c, const char *parent, const char *key,
                        const char *expected, const json_t *v) {
  char *p = siphon__path_key(parent, key);
  char *got = siphon__json_value_text(v);
  siphon__cfg_error(c, p, "expected %s, got %s", expected, got);
  free(got);
  free(p);
}

int siphon__cfg_object(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                       json_t **out) {
  int bad;
  json_t *v = lookup(c, obj, key, &bad);
  if (v == NULL) {
    return bad ? -1 : 0;
  }
  if (!json_is_object(v)) {
    type_error(c, parent, key, "an object", v);
    return -1;
  }
  *out = v;
  return 1;
}

int siphon__cfg_string(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                       const char **out) {
  int bad;
  json_t *v = lookup(c, obj, key, &bad);
  if (v == NULL) {
    return bad ? -1 : 0;
  }
  if (!json_is_string(v)) {
    type_error(c, parent, key, "a string", v);
    return -1;
  }
  if (json_string_length(v) == 0) {
    value_error(c, parent, key, "a non-empty string", v);
    return -1;
  }
  *out = json_string_value(v);
  return 1;
}

int siphon__cfg_choice(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                       const char *const *choices, size_t *index_out) {
  const char *s;
  int rc = siphon__cfg_string(c, obj, parent, key, &s);
  if (rc <= 0) {
    return rc;
  }
  for (size_t i = 0; choices[i] != NULL; i++) {
    if (strcmp(s, choices[i]) == 0) {
      *index_out = i;
      return 1;
    }
  }
  size_t len = 0;
  for (size_t i = 0; choices[i] != NULL; i++) {
    len += strlen(choices[i]) + 1;
  }
  char *list = siphon__xcalloc(1, len + 1);
  for (size_t i = 0; choices[i] != NULL; i++) {
    if (i > 0) {
      strcat(list, "|");
    }
    strcat(list, choices[i]);
  }
  char *p = siphon__path_key(parent, key);
  char *got = siphon__json_value_text(json_object_get(obj, key));
  const char *near = siphon__suggest(s, choices);
  if (near != NULL) {
    siphon__cfg_error(c, p, "expected one of %s, got %s; did you mean \"%s\"?", list, got, near);
  } else {
    siphon__cfg_error(c, p, "expected one of %s, got %s", list, got);
  }
  free(got);
  free(p);
  free(list);
  return -1;
}

int siphon__cfg_bool(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                     int *out) {
  int bad;
  json_t *v = lookup(c, obj, key, &bad);
  if (v == NULL) {
    return bad ? -1 : 0;
  }
  if (!json_is_boolean(v)) {
    type_error(c, parent, key, "true or false", v);
    return -1;
  }
  *out = json_is_true(v);
  return 1;
}

/* The text of a string of digits alone ("10", "8"), else NULL: a
 * number written in quotes, or given by ${VAR}. */

int siphon__cfg_int(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                    long long min, long long max, long long *out) {
  int bad;
  json_t *v = lookup(c, obj, key, &bad);
  if (v == NULL) {
    return bad ? -1 : 0;
  }
  char *expected = siphon__asprintf("an integer from %lld to %lld", min, max);
  int rc = 1;
  const char *text = siphon__json_digits(v);
  if (text != NULL) {
    /* "threads": "${N}" gives a string whatever N holds. */
    char *p = siphon__path_key(parent, key);
    siphon__cfg_error(c, p,
                      "expected %s, got a string (\"%s\"): write %s without quotes (a ${VAR} "
                      "in quotes is always a string)",
                      expected, text, text);
    free(p);
    rc = -1;
  } else if (!json_is_integer(v)) {
    type_error(c, parent, key, expected, v);
    rc = -1;
  } else if (json_integer_value(v) < min || json_integer_value(v) > max) {
    value_error(c, parent, key, expected, v);
    rc = -1;
  } else {
    *out = (long long)json_integer_value(v);
  }
  free(expected);
  return rc;
}

int siphon__cfg_duration(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                         uint64_t *out) {
  int bad;
  json_t *v = lookup(c, obj, key, &bad);
  if (v == NULL) {
    return bad ? -1 : 0;
  }
  int rc = siphon__duration_parse(v, out);
  if (rc == -ERANGE) {
    char *p = siphon__path_key(parent, key);
    char *got = json_is_string(v) ? siphon__asprintf("\"%s\"", json_string_value(v))
                                  : json_dumps(v, JSON_ENCODE_ANY);
    siphon__cfg_error(c, p, "%s is " SIPHON__DURATION_TOO_LONG, got != NULL ? got : "it");
    free(got);
    free(p);
    return -1;
  }
  if (rc != 0) {
    const char *expected = SIPHON__DURATION_EXPECTED;
    const char *text = siphon__json_digits(v);
    if (text != NULL) {
      /* "10": seconds to a collectd user, milliseconds as a JSON number
       * here. Neither is guessed. */
      char *p = siphon__path_key(parent, key);
      siphon__cfg_error(c, p, SIPHON__DURATION_NO_UNIT, text, text, text);
      free(p);
      return -1;
    }
    if (json_is_string(v) || json_is_number(v)) {
      value_error(c, parent, key, expected, v);
    } else {
      type_error(c, parent, key, expected, v);
    }
    return -1;
  }
  return 1;
}

int siphon__cfg_size(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                     uint64_t *out) {
  int bad;
  json_t *v = lookup(c, obj, key, &bad);
  if (v == NULL) {
    return bad ? -1 : 0;
  }
  if (siphon__size_parse(v, out) != 0) {
    const char *expected = "a size such as \"64MiB\", \"512KiB\", \"100MB\" or a number of bytes";
    if (json_is_string(v) || json_is_number(v)) {
      value_error(c, parent, key, expected, v);
    } else {
      type_error(c, parent, key, expected, v);
    }
    return -1;
  }
  return 1;
}
