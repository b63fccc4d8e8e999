#include "jsonline.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

typedef struct jp {
  const char *start, *p, *end;
  size_t flags; /* 0 or JSON_DECODE_INT_AS_REAL */
  int depth;
  char *scratch; /* decoded strings; never longer than the line */
  json_error_t *err;
} jp;

/* The first error wins. Its code goes where jansson keeps it, the last
 * byte of text, so that json_error_code() reads it: a caller retries on
 * json_error_numeric_overflow. */
static json_t *fail_code(jp *j, enum json_error_code code, const char *what) {
  if (j->err->text[0] == '\0') {
    snprintf(j->err->text, sizeof(j->err->text) - 1, "%s", what);
    j->err->text[sizeof(j->err->text) - 1] = (char)code;
    j->err->column = (int)(j->p - j->start) + 1;
    j->err->position = (int)(j->p - j->start);
  }
  return NULL;
}

static json_t *fail(jp *j, const char *what) {
  return fail_code(j, json_error_invalid_syntax, what);
}

static void ws(jp *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) {
    j->p++;
  }
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= (unsigned)(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= (unsigned)(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= (unsigned)(c - 'A' + 10);
    } else {
      return -1;
    }
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* After an escape's backslash: decodes it into *o. Returns bytes written,
 * or 0 on error. */
static size_t escape(jp *j, char *o) {
  if (j->p >= j->end) {
    return 0;
  }
  char c = *j->p++;
  switch (c) {
    case '"':
    case '\\':
    case '/':
      *o = c;
      return 1;
    case 'b':
      *o = '\b';
      return 1;
    case 'f':
      *o = '\f';
      return 1;
    case 'n':
      *o = '\n';
      return 1;
    case 'r':
      *o = '\r';
      return 1;
    case 't':
      *o = '\t';
      return 1;
    case 'u':
      break;
    default:
      j->p--;
      return 0;
  }
  unsigned cp, lo;
  if (j->end - j->p < 4 || hex4(j->p, &cp) != 0) {
    return 0;
  }
  j->p += 4;
  if (cp >= 0xdc00 && cp <= 0xdfff) {
    return 0; /* a low surrogate alone */
  }
  if (cp >= 0xd800 && cp <= 0xdbff) {
    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) != 0 ||
        lo < 0xdc00 || lo > 0xdfff) {
      return 0;
    }
    j->p += 6;
    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
  }
  return put_utf8(o, cp);
}

/* A string after its opening quote. Sets *s and *len to its decoded
 * bytes (in the line itself when it has no escapes, else in scratch). */
static int string_body(jp *j, const char **s, size_t *len) {
  const char *begin = j->p;
  /* Fast path: plain ASCII up to the closing quote, no copy. */
  while (j->p < j->end) {
    unsigned char c = (unsigned char)*j->p;
    if (c == '"') {
      *s = begin;
      *len = (size_t)(j->p - begin);
      j->p++;
      return 0;
    }
    if (c == '\\' || c < 0x20 || c >= 0x80) {
      break;
    }
    j->p++;
  }
  if (j->scratch == NULL) {
    j->scratch = malloc((size_t)(j->end - j->start) + 4);
    if (j->scratch == NULL) {
      fail_code(j, json_error_out_of_memory, "out of memory");
      return -1;
    }
  }
  size_t o = (size_t)(j->p - begin);
  memcpy(j->scratch, begin, o);
  while (j->p < j->end) {
    unsigned char c = (unsigned char)*j->p;
    if (c == '"') {
      j->p++;
      *s = j->scratch;
      *len = o;
      return 0;
    }
    if (c < 0x20) {
      fail(j, "control character in a string");
      return -1;
    }
    if (c == '\\') {
      j->p++;
      size_t k = escape(j, j->scratch + o);
      if (k == 0) {
        fail(j, "invalid escape in a string");
        return -1;
      }
      o += k;
    } else if (c >= 0x80) {
      size_t k = sock_utf8_seq((const unsigned char *)j->p, (size_t)(j->end - j->p));
      if (k == 0) {
        fail_code(j, json_error_invalid_utf8, "invalid UTF-8 in a string");
        return -1;
      }
      memcpy(j->scratch + o, j->p, k);
      o += k;
      j->p += k;
    } else {
      j->scratch[o++] = (char)c;
      j->p++;
    }
  }
  fail_code(j, json_error_premature_end_of_input, "unterminated string");
  return -1;
}

static int is_digit(const jp *j) {
  return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static json_t *number(jp *j) {
  const char *begin = j->p;
  int is_real = 0;
  if (*j->p == '-') {
    j->p++;
  }
  if (!is_digit(j)) {
    return fail(j, "invalid number");
  }
  if (*j->p == '0') {
    j->p++;
    if (is_digit(j)) {
      return fail(j, "invalid number: leading zero");
    }
  } else {
    while (is_digit(j)) {
      j->p++;
    }
  }
  if (j->p < j->end && *j->p == '.') {
    is_real = 1;
    j->p++;
    if (!is_digit(j)) {
      return fail(j, "invalid number: no digit after '.'");
    }
    while (is_digit(j)) {
      j->p++;
    }
  }
  if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
    is_real = 1;
    j->p++;
    if (j->p < j->end && (*j->p == '+' || *j->p == '-')) {
      j->p++;
    }
    if (!is_digit(j)) {
      return fail(j, "invalid number: no digit in the exponent");
    }
    while (is_digit(j)) {
      j->p++;
    }
  }
  /* strtoll/strtod need a terminator. */
  size_t n = (size_t)(j->p - begin);
  char small[64];
  char *text = n < sizeof(small) ? small : malloc(n + 1);
  if (text == NULL) {
    return fail_code(j, json_error_out_of_memory, "out of memory");
  }
  memcpy(text, begin, n);
  text[n] = '\0';
  json_t *v = NULL;
  errno = 0;
  if (!is_real && !(j->flags & JSON_DECODE_INT_AS_REAL)) {
    long long i = strtoll(text, NULL, 10);
    if (errno == ERANGE) {
      j->p = begin;
      fail_code(j, json_error_numeric_overflow, "too big integer");
    } else {
      v = json_integer((json_int_t)i);
    }
  } else {
    double d = strtod(text, NULL);
    if (isinf(d)) {
      j->p = begin;
      fail_code(j, json_error_numeric_overflow, "real number overflow");
    } else {
      v = json_real(d);
    }
  }
  if (text != small) {
    free(text);
  }
  return v;
}

static json_t *value(jp *j);

static json_t *object(jp *j) {
  json_t *obj = json_object();
  ws(j);
  if (j->p < j->end && *j->p == '}') {
    j->p++;
    return obj;
  }
  for (;;) {
    ws(j);
    if (j->p >= j->end || *j->p != '"') {
      json_decref(obj);
      return fail(j, "string or '}' expected");
    }
    j->p++;
    const char *key;
    size_t klen;
    if (string_body(j, &key, &klen) != 0) {
      json_decref(obj);
      return NULL;
    }
    if (memchr(key, '\0', klen) != NULL) {
      json_decref(obj);
      return fail_code(j, json_error_null_byte_in_key, "NUL byte in object key not supported");
    }
    /* The key may sit in scratch, which the value's strings reuse. */
    char kbuf[128];
    char *kcopy = klen < sizeof(kbuf) ? kbuf : malloc(klen + 1);
    if (kcopy == NULL) {
      json_decref(obj);
      return fail_code(j, json_error_out_of_memory, "out of memory");
    }
    memcpy(kcopy, key, klen);
    ws(j);
    json_t *v = NULL;
    if (j->p >= j->end || *j->p != ':') {
      fail(j, "':' expected");
    } else {
      j->p++;
      v = value(j);
    }
    if (v != NULL) {
      json_object_setn_new_nocheck(obj, kcopy, klen, v);
    }
    if (kcopy != kbuf) {
      free(kcopy);
    }
    if (v == NULL) {
      json_decref(obj);
      return NULL;
    }
    ws(j);
    if (j->p < j->end && *j->p == ',') {
      j->p++;
      continue;
    }
    if (j->p < j->end && *j->p == '}') {
      j->p++;
      return obj;
    }
    json_decref(obj);
    return fail(j, "',' or '}' expected");
  }
}

static json_t *array(jp *j) {
  json_t *arr = json_array();
  ws(j);
  if (j->p < j->end && *j->p == ']') {
    j->p++;
    return arr;
  }
  for (;;) {
    json_t *v = value(j);
    if (v == NULL) {
      json_decref(arr);
      return NULL;
    }
    json_array_append_new(arr, v);
    ws(j);
    if (j->p < j->end && *j->p == ',') {
      j->p++;
      continue;
    }
    if (j->p < j->end && *j->p == ']') {
      j->p++;
      return arr;
    }
    json_decref(arr);
    return fail(j, "',' or ']' expected");
  }
}

static json_t *literal(jp *j, const char *word, json_t *v) {
  size_t n = strlen(word);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) {
    return fail(j, "invalid token");
  }
  j->p += n;
  return v;
}

static json_t *value(jp *j) {
  ws(j);
  if (j->p >= j->end) {
    return fail_code(j, json_error_premature_end_of_input, "unexpected end of input");
  }
  json_t *v;
  switch (*j->p) {
    case '{':
    case '[':
      if (++j->depth > JSON_PARSER_MAX_DEPTH) {
        return fail_code(j, json_error_stack_overflow, "maximum parsing depth reached");
      }
      j->p++;
      v = j->p[-1] == '{' ? object(j) : array(j);
      j->depth--;
      return v;
    case '"': {
      j->p++;
      const char *s;
      size_t len;
      if (string_body(j, &s, &len) != 0) {
        return NULL;
      }
      return json_stringn_nocheck(s, len);
    }
    case 't':
      return literal(j, "true", json_true());
    case 'f':
      return literal(j, "false", json_false());
    case 'n':
      return literal(j, "null", json_null());
    default:
      if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
        return number(j);
      }
      return fail(j, "invalid token");
  }
}

json_t *sock_json_parse(const char *s, size_t n, size_t flags, json_error_t *err) {
  jp j = {s, s, s + n, flags, 0, NULL, err};
  err->text[0] = '\0';
  err->text[sizeof(err->text) - 1] = (char)json_error_unknown;
  err->line = 1;
  err->source[0] = '\0';
  json_t *v = value(&j);
  if (v != NULL) {
    ws(&j);
    if (j.p != j.end) {
      json_decref(v);
      v = fail_code(&j, json_error_end_of_input_expected, "end of input expected");
    }
  }
  free(j.scratch);
  return v;
}
