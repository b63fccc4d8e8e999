#include "value.h"

#include <stdlib.h>
#include <string.h>

#include "jsonline.h"

size_t sock_utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned cp;
  if (c < 0x80) {
    return 1;
  } else if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len) {
    return 0;
  }
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

json_t *sock_value_string(const char *line, size_t len) {
  /* Valid text, by far the most common, costs one pass inside jansson. */
  json_t *v = json_stringn(line, len);
  if (v != NULL) {
    return v;
  }
  /* Each bad byte grows to the 3 bytes of U+FFFD at most. */
  char *fixed = malloc(len * 3 + 1);
  if (fixed == NULL) {
    return NULL;
  }
  const unsigned char *s = (const unsigned char *)line;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t k = sock_utf8_seq(s + i, len - i);
    if (k == 0) {
      memcpy(fixed + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    } else {
      memcpy(fixed + o, s + i, k);
      o += k;
      i += k;
    }
  }
  v = json_stringn(fixed, o);
  free(fixed);
  return v;
}

json_t *sock_value_json(const char *line, size_t len, json_error_t *err) {
  json_t *v = sock_json_parse(line, len, 0, err);
  if (v == NULL && json_error_code(err) == json_error_numeric_overflow) {
    /* A uint64 counter above 2^63-1 ("bytes_total":18446744073709551615)
     * does not fit json_int_t: rather than drop the whole line, keep it
     * with its integers read as reals. A real out of range, or an error
     * past the integer, fails again, and err then says that. */
    v = sock_json_parse(line, len, JSON_DECODE_INT_AS_REAL, err);
  }
  return v;
}
