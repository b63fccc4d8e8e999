/* Record lines: {"ts":..,"source":..,"plugin":..,"tags":{..},"data":..,"meta":{..}}.
 * The part that never changes for a source is serialized once (s->prefix);
 * per record only the time, data and meta are. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "log.h"
#include "record.h"
#include "util.h"

typedef struct linebuf {
  char *p;
  size_t len, cap;
  char stack[1024];
} linebuf;

static void lb_put(linebuf *b, const char *s, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap * 2;
    while (cap < b->len + n) {
      cap *= 2;
    }
    if (b->p == b->stack) {
      char *heap = siphon__xmalloc(cap);
      memcpy(heap, b->p, b->len);
      b->p = heap;
    } else {
      b->p = siphon__xrealloc(b->p, cap);
    }
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* A serializer of our own: jansson's json_dump_callback tracks visited
 * containers in a hash table keyed by snprintf("%p") to catch cycles, which
 * cost more than the record itself. Records come from plugins as trees
 * (a cycle cannot be built with the steal-reference API without a leak),
 * so a depth bound is enough. */
#define SIPHON__JSON_MAX_DEPTH 512

static void lb_string(linebuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  lb_put(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    lb_put(b, s + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t len = 2;
    switch (c) {
      case '"':
        esc[1] = '"';
        break;
      case '\\':
        esc[1] = '\\';
        break;
      case '\n':
        esc[1] = 'n';
        break;
      case '\r':
        esc[1] = 'r';
        break;
      case '\t':
        esc[1] = 't';
        break;
      case '\b':
        esc[1] = 'b';
        break;
      case '\f':
        esc[1] = 'f';
        break;
      default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        len = 6;
        break;
    }
    lb_put(b, esc, len);
  }
  lb_put(b, s + run, n - run);
  lb_put(b, "\"", 1);
}

static void lb_integer(linebuf *b, json_int_t v) {
  char tmp[24];
  char *end = tmp + sizeof(tmp);
  char *p = end;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) {
    *--p = '-';
  }
  lb_put(b, p, (size_t)(end - p));
}

/* Most reals in records are milliseconds to the microsecond (meta's
 * elapsed_ms and wait_ms, two a rest record): written by hand when v is
 * exactly the double nearest some integer m over 1,000, what %.15g then
 * prints too (|v| < 1e11 leaves 15 digits room for the three decimals),
 * at a tenth of snprintf's and strtod's cost. 0 when v is not one. */
static size_t real_millis(double v, char *out) {
  if (!(v > -1e11 && v < 1e11) || v == 0) {
    return 0; /* and -0.0, which keeps its sign the slow way */
  }
  double scaled = v * 1000.0;
  long long m = (long long)(scaled + (scaled >= 0 ? 0.5 : -0.5));
  if (m == 0 || (double)m / 1000.0 != v) {
    return 0;
  }
  char digits[24];
  char *end = digits + sizeof(digits);
  char *p = end;
  unsigned long long u = m < 0 ? 0ull - (unsigned long long)m : (unsigned long long)m;
  unsigned frac = (unsigned)(u % 1000);
  u /= 1000;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  size_t n = 0;
  if (m < 0) {
    out[n++] = '-';
  }
  memcpy(out + n, p, (size_t)(end - p));
  n += (size_t)(end - p);
  out[n++] = '.';
  out[n++] = (char)('0' + frac / 100);
  if (frac % 100 != 0) {
    out[n++] = (char)('0' + frac / 10 % 10);
    if (frac % 10 != 0) {
      out[n++] = (char)('0' + frac % 10);
    }
  }
  out[n] = '\0';
  return n;
}

size_t siphon__record_real(double v, char out[SIPHON__REAL_LEN]) {
  size_t fast = real_millis(v, out);
  if (fast > 0) {
    return fast;
  }
  /* The shortest of 15, 16 or 17 digits that reads back the same double:
   * 0.903, not 0.90300000000000002. */
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(out, SIPHON__REAL_LEN, "%.*g", prec, v);
    if (prec == 17 || strtod(out, NULL) == v) {
      break;
    }
  }
  if (n <= 0 || (size_t)n >= SIPHON__REAL_LEN - 2 || strpbrk(out, "in") != NULL) {
    out[0] = '\0';
    return 0; /* inf or nan: jansson holds neither, but never print them */
  }
  if (strpbrk(out, ".eE") == NULL) {
    memcpy(out + n, ".0", 3); /* stays a real when read back */
    n += 2;
  }
  return (size_t)n;
}

static void lb_real(linebuf *b, double v) {
  char tmp[SIPHON__REAL_LEN];
  size_t n = siphon__record_real(v, tmp);
  if (n == 0) {
    lb_put(b, "null", 4);
    return;
  }
  lb_put(b, tmp, n);
}

static void lb_json(linebuf *b, const json_t *v, int depth) {
  if (v == NULL || depth > SIPHON__JSON_MAX_DEPTH) {
    lb_put(b, "null", 4);
    return;
  }
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      int first = 1;
      lb_put(b, "{", 1);
      /* Keys may hold NUL (json_object_setn): use their length. */
      for (void *it = json_object_iter((json_t *)v); it != NULL;
           it = json_object_iter_next((json_t *)v, it)) {
        if (!first) {
          lb_put(b, ",", 1);
        }
        first = 0;
        lb_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
        lb_put(b, ":", 1);
        lb_json(b, json_object_iter_value(it), depth + 1);
      }
      lb_put(b, "}", 1);
      break;
    }
    case JSON_ARRAY: {
      size_t i;
      json_t *val;
      lb_put(b, "[", 1);
      json_array_foreach(v, i, val) {
        if (i > 0) {
          lb_put(b, ",", 1);
        }
        lb_json(b, val, depth + 1);
      }
      lb_put(b, "]", 1);
      break;
    }
    case JSON_STRING:
      lb_string(b, json_string_value(v), json_string_length(v));
      break;
    case JSON_INTEGER:
      lb_integer(b, json_integer_value(v));
      break;
    case JSON_REAL:
      lb_real(b, json_real_value(v));
      break;
    case JSON_TRUE:
      lb_put(b, "true", 4);
      break;
    case JSON_FALSE:
      lb_put(b, "false", 5);
      break;
    case JSON_NULL:
      lb_put(b, "null", 4);
      break;
  }
}

void siphon__record_timestamp(char out[SIPHON__TS_LEN]) {
  /* gmtime_r is the costly part; redo it only when the second changes. */
  static _Thread_local time_t cached_sec = -1;
  static _Thread_local char cached[24];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != cached_sec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_sec = ts.tv_sec;
  }
  memcpy(out, cached, 19);
  int ms = (int)(ts.tv_nsec / 1000000);
  out[19] = '.';
  out[20] = (char)('0' + ms / 100);
  out[21] = (char)('0' + ms / 10 % 10);
  out[22] = (char)('0' + ms % 10);
  out[23] = 'Z';
  out[24] = '\0';
}

char *siphon__record_prefix(const char *source, const char *plugin, const json_t *tags,
                            size_t *len_out) {
  json_t *head = json_object();
  json_object_set_new(head, "source", json_string(source));
  json_object_set_new(head, "plugin", json_string(plugin));
  json_object_set_new(head, "tags", tags ? json_incref((json_t *)tags) : json_object());
  char *s = json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(head);
  /* Keep the members only: strip the braces. */
  size_t n = strlen(s);
  memmove(s, s + 1, n - 2);
  s[n - 2] = '\0';
  *len_out = n - 2;
  return s;
}

int siphon__record_format_write(siphon__output *out, const char *prefix, size_t prefix_len,
                                const char *ts, json_t *data, json_t *meta) {
  linebuf b = {.len = 0, .cap = sizeof(b.stack)};
  b.p = b.stack;
  char now[SIPHON__TS_LEN];
  if (ts == NULL) {
    siphon__record_timestamp(now);
    ts = now;
  }
  lb_put(&b, "{\"ts\":\"", 7);
  lb_put(&b, ts, strlen(ts));
  lb_put(&b, "\",", 2);
  lb_put(&b, prefix, prefix_len);
  lb_put(&b, ",\"data\":", 8);
  lb_json(&b, data, 0);
  if (meta != NULL && json_is_object(meta) && json_object_size(meta) > 0) {
    lb_put(&b, ",\"meta\":", 8);
    lb_json(&b, meta, 0);
  }
  lb_put(&b, "}\n", 2);
  int rc = siphon__output_write(out, b.p, b.len);
  if (b.p != b.stack) {
    free(b.p);
  }
  json_decref(data);
  json_decref(meta);
  return rc;
}
