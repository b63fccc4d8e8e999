/* RFC 6901 JSON Pointers: "" is the whole document, "/a/0/b" walks
 * members and array indexes, "~1" stands for '/' and "~0" for '~'. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"

int rest_jsonptr_check(const char *ptr) {
  if (ptr[0] != '\0' && ptr[0] != '/') {
    return -EINVAL;
  }
  for (const char *p = ptr; *p != '\0'; p++) {
    if (*p == '~' && p[1] != '0' && p[1] != '1') {
      return -EINVAL;
    }
  }
  return 0;
}

/* Decodes one reference token [a, b) into out (at least b - a + 1). */
static void unescape(const char *a, const char *b, char *out) {
  while (a < b) {
    if (*a == '~' && a + 1 < b) {
      *out++ = a[1] == '1' ? '/' : '~';
      a += 2;
    } else {
      *out++ = *a++;
    }
  }
  *out = '\0';
}

/* An array index: "0" or digits without a leading zero. */
static int parse_index(const char *t, size_t *out) {
  size_t n = strlen(t);
  if (n == 0 || n > 18 || (n > 1 && t[0] == '0')) {
    return -1;
  }
  size_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (t[i] < '0' || t[i] > '9') {
      return -1;
    }
    v = v * 10 + (size_t)(t[i] - '0');
  }
  *out = v;
  return 0;
}

json_t *rest_jsonptr_get(json_t *doc, const char *ptr) {
  if (rest_jsonptr_check(ptr) != 0) {
    return NULL;
  }
  char *tok = malloc(strlen(ptr) + 1);
  if (tok == NULL) {
    return NULL;
  }
  json_t *cur = doc;
  const char *p = ptr;
  while (cur != NULL && *p == '/') {
    const char *a = p + 1;
    const char *b = strchr(a, '/');
    if (b == NULL) {
      b = a + strlen(a);
    }
    unescape(a, b, tok);
    if (json_is_object(cur)) {
      cur = json_object_get(cur, tok);
    } else if (json_is_array(cur)) {
      size_t i;
      cur = parse_index(tok, &i) == 0 ? json_array_get(cur, i) : NULL;
    } else {
      cur = NULL;
    }
    p = b;
  }
  free(tok);
  return cur;
}
