#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

#include "siphon/plugin.h"

static void siphon__oom(void) {
  fputs("siphon: out of memory\n", stderr);
  abort();
}

void *siphon__xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) {
    siphon__oom();
  }
  return p;
}

void *siphon__xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL) {
    siphon__oom();
  }
  return p;
}

void *siphon__xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (q == NULL) {
    siphon__oom();
  }
  return q;
}

char *siphon__xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = siphon__xmalloc(n);
  memcpy(p, s, n);
  return p;
}

char *siphon__vasprintf(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) {
    return siphon__xstrdup("(format error)");
  }
  char *p = siphon__xmalloc((size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *siphon__asprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = siphon__vasprintf(fmt, ap);
  va_end(ap);
  return p;
}

uint64_t siphon__now_ms(void) {
  return uv_hrtime() / 1000000u;
}

int siphon__mkdir_p(const char *path) {
  char *copy = siphon__xstrdup(path);
  int rc = 0;
  for (char *p = copy + 1; *p != '\0'; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(copy, 0750) != 0 && errno != EEXIST) {
        rc = -errno;
      }
      *p = '/';
    }
  }
  if (rc == 0 && mkdir(copy, 0750) != 0 && errno != EEXIST) {
    rc = -errno;
  }
  free(copy);
  return rc;
}

void siphon__error_end(struct siphon_error *e) {
  e->path[sizeof(e->path) - 1] = '\0';
  e->text[sizeof(e->text) - 1] = '\0';
}
