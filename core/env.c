/* ${VAR}, ${VAR:-default} and ${VAR:?message} in config strings, and
 * ${file:PATH}, a secret read from a file. An unset ${VAR} is an error,
 * not an empty string: a silently empty URL or password is worse than a
 * config that refuses to load. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

typedef struct strbuf {
  char *s;
  size_t len;
  size_t cap;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) {
      cap *= 2;
    }
    b->s = siphon__xrealloc(b->s, cap);
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static int is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

/* The '}' closing the expression whose body starts at p, counting nested
 * "${": a default may itself refer to a variable. NULL if unterminated. */
static const char *closing_brace(const char *p) {
  int depth = 1;
  for (; *p != '\0'; p++) {
    if (p[0] == '$' && p[1] == '$') {
      p++;
    } else if (p[0] == '$' && p[1] == '{') {
      depth++;
      p++;
    } else if (*p == '}') {
      depth--;
      if (depth == 0) {
        return p;
      }
    }
  }
  return NULL;
}

static int substitute(const char *in, size_t in_len, strbuf *out, char **err_out, int depth);

/* A secret file holds one value: a password, a token, a key. */
#define SECRET_FILE_MAX (64 * 1024)

/* ${file:PATH}: the file's contents, without the newlines that end it,
 * for secrets mounted as files (Docker and Kubernetes secrets, systemd
 * credentials). PATH may use ${...} itself; a relative one is relative to
 * the config's directory (SIPHON_CONFIG_DIR), as the config's paths are. */
static int expand_file(const char *body, size_t len, strbuf *out, char **err_out, int depth) {
  strbuf path = {NULL, 0, 0};
  sb_add(&path, "", 0);
  if (substitute(body, len, &path, err_out, depth + 1) != 0) {
    free(path.s);
    return -1;
  }
  if (path.len == 0) {
    free(path.s);
    *err_out = siphon__xstrdup("\"${file:}\": expected a file's path after \"file:\"");
    return -1;
  }
  const char *dir = getenv("SIPHON_CONFIG_DIR");
  char *full = path.s[0] != '/' && dir != NULL && dir[0] != '\0'
                   ? siphon__asprintf("%s/%s", dir, path.s)
                   : siphon__xstrdup(path.s);
  free(path.s);
  int rc = -1;
  /* O_NONBLOCK: a FIFO at PATH must not hold --check forever. */
  int fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *err_out = fd < 0 ? siphon__asprintf("cannot read the file %s: %s", full, strerror(errno))
                      : siphon__asprintf("%s is not a file", full);
    if (fd >= 0) {
      close(fd);
    }
    free(full);
    return -1;
  }
  char *buf = siphon__xmalloc(SECRET_FILE_MAX + 1);
  size_t n = 0;
  int read_err = 0;
  while (n < SECRET_FILE_MAX + 1) {
    ssize_t r = read(fd, buf + n, SECRET_FILE_MAX + 1 - n);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      read_err = r < 0 ? errno : 0;
      break;
    }
    n += (size_t)r;
  }
  if (read_err != 0) {
    *err_out = siphon__asprintf("cannot read the file %s: %s", full, strerror(read_err));
  } else if (n > SECRET_FILE_MAX) {
    *err_out = siphon__asprintf("the file %s is over 64 KiB: ${file:...} reads one value", full);
  } else if (memchr(buf, '\0', n) != NULL) {
    *err_out = siphon__asprintf("the file %s holds a NUL byte: expected text", full);
  } else {
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
      n--;
    }
    if (n == 0) {
      /* As an unset ${VAR}: an empty password must not go out unnoticed. */
      *err_out = siphon__asprintf("the file %s is empty", full);
    } else {
      sb_add(out, buf, n);
      rc = 0;
    }
  }
  close(fd);
  free(buf);
  free(full);
  return rc;
}

/* ${file:PATH}; ${file:-x} and ${file:?x} stay a variable named "file". */
static int is_file_ref(const char *body, size_t len) {
  return len >= 5 && strncmp(body, "file:", 5) == 0 &&
         (len == 5 || (body[5] != '-' && body[5] != '?'));
}

/* One ${...} expression; `body` is what lies between "${" and "}". */
static int expand(const char *body, size_t len, strbuf *out, char **err_out, int depth) {
  size_t n = 0;
  if (is_file_ref(body, len)) {
    return expand_file(body + 5, len - 5, out, err_out, depth);
  }
  if (len == 0 || !is_name_start(body[0])) {
    *err_out =
        siphon__asprintf("\"${%.*s}\": expected a variable name after \"${\"", (int)len, body);
    return -1;
  }
  while (n < len && is_name_char(body[n])) {
    n++;
  }
  char *name = siphon__asprintf("%.*s", (int)n, body);
  const char *value = getenv(name);
  int rc = 0;
  if (n == len) {
    if (value == NULL) {
      *err_out = siphon__asprintf("environment variable %s is not set", name);
      rc = -1;
    } else {
      sb_add(out, value, strlen(value));
    }
  } else if (len - n >= 2 && body[n] == ':' && body[n + 1] == '-') {
    if (value == NULL || value[0] == '\0') {
      rc = substitute(body + n + 2, len - n - 2, out, err_out, depth + 1);
    } else {
      sb_add(out, value, strlen(value));
    }
  } else if (len - n >= 2 && body[n] == ':' && body[n + 1] == '?') {
    if (value == NULL || value[0] == '\0') {
      if (len - n == 2) {
        *err_out = siphon__asprintf("environment variable %s is not set or empty", name);
      } else {
        *err_out = siphon__asprintf("%s: %.*s", name, (int)(len - n - 2), body + n + 2);
      }
      rc = -1;
    } else {
      sb_add(out, value, strlen(value));
    }
  } else {
    *err_out = siphon__asprintf(
        "\"${%.*s}\": expected ${%s}, ${%s:-default}, ${%s:?message} or ${file:PATH}", (int)len,
        body, name, name, name);
    rc = -1;
  }
  free(name);
  return rc;
}

static int substitute(const char *in, size_t in_len, strbuf *out, char **err_out, int depth) {
  if (depth > 8) {
    *err_out = siphon__xstrdup("${...} nested more than 8 deep");
    return -1;
  }
  const char *end = in + in_len;
  const char *p = in;
  while (p < end) {
    const char *dollar = memchr(p, '$', (size_t)(end - p));
    if (dollar == NULL) {
      sb_add(out, p, (size_t)(end - p));
      break;
    }
    sb_add(out, p, (size_t)(dollar - p));
    if (dollar + 1 < end && dollar[1] == '$') {
      sb_add(out, "$", 1);
      p = dollar + 2;
    } else if (dollar + 1 < end && dollar[1] == '{') {
      const char *body = dollar + 2;
      const char *close = closing_brace(body);
      if (close == NULL || close >= end) {
        *err_out =
            siphon__xstrdup("\"${\" without a closing \"}\" (write \"$$\" for a literal \"$\")");
        return -1;
      }
      if (expand(body, (size_t)(close - body), out, err_out, depth) != 0) {
        return -1;
      }
      p = close + 1;
    } else {
      /* A lone '$' ("costs $5") stays as written. */
      sb_add(out, "$", 1);
      p = dollar + 1;
    }
  }
  return 0;
}

char *siphon__env_substitute(const char *in, char **err_out) {
  strbuf out = {NULL, 0, 0};
  char *err = NULL;
  sb_add(&out, "", 0);
  if (substitute(in, strlen(in), &out, &err, 0) != 0) {
    free(out.s);
    if (err_out != NULL) {
      *err_out = err;
    } else {
      free(err);
    }
    return NULL;
  }
  if (err_out != NULL) {
    *err_out = NULL;
  }
  return out.s;
}

char *siphon__env_names(const char *in) {
  strbuf out = {NULL, 0, 0};
  for (const char *p = in; *p != '\0'; p++) {
    if (p[0] == '$' && p[1] == '$') {
      p++;
      continue;
    }
    if (p[0] != '$' || p[1] != '{') {
      continue;
    }
    const char *body = p + 2;
    const char *end = closing_brace(body);
    if (end == NULL) {
      break;
    }
    /* A file's path is no secret; a variable's default may be one. */
    int file = is_file_ref(body, (size_t)(end - body));
    size_t n = file ? (size_t)(end - body) : strcspn(body, ":}");
    if (out.len > 0) {
      sb_add(&out, ", ", 2);
    }
    sb_add(&out, "${", 2);
    sb_add(&out, body, n);
    sb_add(&out, "}", 1);
    if (!file && strncmp(body + n, ":-", 2) == 0) {
      /* Which of the two the value is: the variable, or its default. */
      char *name = siphon__asprintf("%.*s", (int)n, body);
      const char *v = getenv(name);
      if (v == NULL || v[0] == '\0') {
        const char *tail = " (unset or empty: its default)";
        sb_add(&out, tail, strlen(tail));
      }
      free(name);
    }
    p = end;
  }
  return out.s;
}
