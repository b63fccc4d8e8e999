/* How config messages show JSON values and paths, shared by the config
 * checks and the plugin options checks so both read alike. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define SHOW_MAX 40

/* `"abc"` with long strings cut, so a pasted certificate does not flood
 * the terminal. */
static char *quoted(const char *s) {
  size_t n = strlen(s);
  if (n > SHOW_MAX) {
    return siphon__asprintf("\"%.*s...\"", SHOW_MAX, s);
  }
  return siphon__asprintf("\"%s\"", s);
}

char *siphon__json_value_text(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_STRING:
      return quoted(json_string_value(v));
    case JSON_INTEGER:
      return siphon__asprintf("%lld", (long long)json_integer_value(v));
    case JSON_REAL: {
      /* jansson keeps the ".0" of 4.0, so the user sees it is not 4. */
      char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
      return text != NULL ? text : siphon__xstrdup("a number");
    }
    case JSON_TRUE:
      return siphon__xstrdup("true");
    case JSON_FALSE:
      return siphon__xstrdup("false");
    case JSON_NULL:
      return siphon__xstrdup("null");
    case JSON_ARRAY:
      return siphon__xstrdup("an array");
    case JSON_OBJECT:
      return siphon__xstrdup("an object");
  }
  return siphon__xstrdup("?");
}

const char *siphon__json_kind(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT:
      return "an object";
    case JSON_ARRAY:
      return "an array";
    case JSON_STRING:
      return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
      return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
      return "a boolean";
    default:
      return "null";
  }
}

char *siphon__json_show(const json_t *v) {
  if (v == NULL) {
    return siphon__xstrdup("nothing");
  }
  char *text = siphon__json_value_text(v);
  if (json_is_string(v) || json_is_number(v) || json_is_boolean(v)) {
    char *out = siphon__asprintf("%s (%s)", siphon__json_kind(v), text);
    free(text);
    return out;
  }
  return text; /* null, "an array", "an object" already say their type */
}

static int plain_key(const char *key) {
  if (key[0] == '\0' || (key[0] >= '0' && key[0] <= '9')) {
    return 0;
  }
  for (const char *p = key; *p != '\0'; p++) {
    char c = *p;
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '$';
    if (!ok) {
      return 0;
    }
  }
  return 1;
}

char *siphon__path_key(const char *parent, const char *key) {
  const char *sep = parent != NULL && parent[0] != '\0' ? "." : "";
  if (parent == NULL) {
    parent = "";
  }
  if (plain_key(key)) {
    return siphon__asprintf("%s%s%s", parent, sep, key);
  }
  /* Keys with dots or spaces in brackets, as jq writes them. */
  json_t *s = json_string(key);
  char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
  json_decref(s);
  char *out = siphon__asprintf("%s[%s]", parent, text ? text : "?");
  free(text);
  return out;
}

char *siphon__path_index(const char *parent, size_t index) {
  return siphon__asprintf("%s[%zu]", parent != NULL ? parent : "", index);
}

const char *siphon__json_digits(const json_t *v) {
  const char *text = json_string_value(v);
  size_t n = text != NULL ? strlen(text) : 0;
  return n > 0 && n < 20 && strspn(text, "0123456789") == n ? text : NULL;
}
