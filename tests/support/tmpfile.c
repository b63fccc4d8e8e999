#define _GNU_SOURCE /* asprintf, vasprintf */
#include "tmpfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tmp_dir(void) {
  const char *base = getenv("TMPDIR");
  char templ[4096];
  snprintf(templ, sizeof(templ), "%s/siphon-test-XXXXXX", base && *base ? base : "/tmp");
  if (mkdtemp(templ) == NULL) {
    return NULL;
  }
  return strdup(templ);
}

int tmp_write_at(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    return -errno;
  }
  size_t n = strlen(text);
  int ok = fwrite(text, 1, n, f) == n;
  if (fclose(f) != 0 || !ok) {
    return -EIO;
  }
  return 0;
}

char *tmp_write(const char *name, const char *fmt, ...) {
  char *dir = tmp_dir();
  if (dir == NULL) {
    return NULL;
  }
  va_list ap;
  va_start(ap, fmt);
  char *text = NULL;
  if (vasprintf(&text, fmt, ap) < 0) {
    text = NULL;
  }
  va_end(ap);
  char *path = NULL;
  if (text != NULL && asprintf(&path, "%s/%s", dir, name) > 0) {
    if (tmp_write_at(path, text) != 0) {
      free(path);
      path = NULL;
    }
  }
  free(text);
  free(dir);
  return path;
}

char *tmp_read(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      buf = realloc(buf, cap);
    }
    size_t got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0) {
      break;
    }
  }
  fclose(f);
  buf[len] = '\0';
  if (len_out != NULL) {
    *len_out = len;
  }
  return buf;
}

void tmp_rmtree(const char *path) {
  if (path == NULL || strncmp(path, "/tmp", 4) != 0) {
    return; /* refuse anything outside a temp dir */
  }
  char *cmd = NULL;
  if (asprintf(&cmd, "rm -rf '%s'", path) > 0) {
    if (system(cmd) != 0) {
      /* best effort */
    }
  }
  free(cmd);
}

size_t count_lines(const char *s) {
  size_t n = 0;
  for (; s != NULL && *s != '\0'; s++) {
    n += *s == '\n';
  }
  return n;
}

void tmp_discard(char *path) {
  char *dir = strdup(path);
  char *slash = dir != NULL ? strrchr(dir, '/') : NULL;
  if (slash != NULL) {
    *slash = '\0';
    tmp_rmtree(dir);
  }
  free(dir);
  free(path);
}
