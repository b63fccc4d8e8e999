/* Record lines: {"ts":..,"source":..,"plugin":..,"tags":{..},"data":..,"meta":{..}}.
 * The part that never changes for a source is serialized once (s->prefix);
 * per record only the time, data and meta are. */
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

static int lb_dump(const char *buffer, size_t size, void *data) {
  lb_put(data, buffer, size);
  return 0;
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
  if (data == NULL || json_dump_callback(data, lb_dump, &b, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
    lb_put(&b, "null", 4);
  }
  if (meta != NULL && json_is_object(meta) && json_object_size(meta) > 0) {
    lb_put(&b, ",\"meta\":", 8);
    json_dump_callback(meta, lb_dump, &b, JSON_COMPACT | JSON_PRESERVE_ORDER);
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
