#include "framing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sock_framer_init(sock_framer *f, size_t max) {
  memset(f, 0, sizeof(*f));
  f->max = max;
}

/* A complete line, its '\n' already removed. */
static void deliver(sock_framer *f, const char *line, size_t len, sock_line_fn fn, void *arg) {
  if (len > 0 && line[len - 1] == '\r') {
    len--;
  }
  if (len > f->max) {
    f->dropped++;
    return;
  }
  if (len > 0) {
    fn(arg, line, len);
  }
}

/* Keeps the start of an unfinished line. Up to max + 1 bytes may belong to
 * a line that is still within the limit: its last byte can be the '\r' of
 * a "\r\n" split across reads. */
static int keep(sock_framer *f, const char *data, size_t n) {
  if (f->len + n > f->max + 1) {
    f->dropped++;
    f->skipping = 1;
    f->len = 0;
    return 0;
  }
  if (f->len + n > f->cap) {
    size_t cap = f->cap ? f->cap : 256;
    while (cap < f->len + n) {
      cap *= 2;
    }
    if (cap > f->max + 1) {
      cap = f->max + 1;
    }
    char *p = realloc(f->buf, cap);
    if (p == NULL) {
      f->dropped++;
      f->skipping = 1;
      f->len = 0;
      return -ENOMEM;
    }
    f->buf = p;
    f->cap = cap;
  }
  memcpy(f->buf + f->len, data, n);
  f->len += n;
  return 0;
}

int sock_framer_feed(sock_framer *f, const char *data, size_t n, sock_line_fn fn, void *arg) {
  while (n > 0) {
    const char *nl = memchr(data, '\n', n);
    if (nl == NULL) {
      return f->skipping ? 0 : keep(f, data, n);
    }
    size_t k = (size_t)(nl - data);
    if (f->skipping) {
      f->skipping = 0; /* resynchronised */
    } else if (f->len == 0) {
      /* The common case: the whole line is in this read, no copy. */
      deliver(f, data, k, fn, arg);
    } else if (f->len + k > f->max + 1) {
      f->dropped++;
      f->len = 0;
    } else {
      int rc = keep(f, data, k);
      if (rc == 0 && !f->skipping) {
        deliver(f, f->buf, f->len, fn, arg);
      }
      f->skipping = 0;
      f->len = 0;
    }
    data = nl + 1;
    n -= k + 1;
  }
  return 0;
}

void sock_framer_finish(sock_framer *f, sock_line_fn fn, void *arg) {
  if (!f->skipping && f->len > 0) {
    deliver(f, f->buf, f->len, fn, arg);
  }
  f->len = 0;
  f->skipping = 0;
}

size_t sock_framer_pending(const sock_framer *f) {
  return f->len;
}

void sock_framer_free(sock_framer *f) {
  free(f->buf);
  f->buf = NULL;
  f->len = f->cap = 0;
}
