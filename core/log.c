#ifdef __linux__
#define _GNU_SOURCE /* dup3 */
#endif
#include "log.h"

#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static atomic_int log_level = SIPHON_LOG_INFO;
static atomic_int log_json; /* siphon.log_format "json" */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Where lines go: stderr, or siphon.log_file. A reopen dup3()s the new
 * file onto this same descriptor, so a thread writing meanwhile writes a
 * whole line to one file or the other, never to a closed descriptor. */
static atomic_int log_fd = STDERR_FILENO;
static char *log_path; /* the file's name, NULL for stderr; loop thread only */

/* Like the output file: appended to, mode 0640, not inherited. */
static int open_log(const char *path, char **err_out) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    int e = errno;
    *err_out = siphon__asprintf("cannot open the log file %s: %s", path, strerror(e));
    return -e;
  }
  return fd;
}

int siphon__log_open_file(const char *path, char **err_out) {
  *err_out = NULL;
  int fd = open_log(path, err_out);
  if (fd < 0) {
    return fd;
  }
  siphon__log_close_file();
  log_path = siphon__xstrdup(path);
  atomic_store(&log_fd, fd);
  return 0;
}

/* dup2() that keeps the target close-on-exec, as open_log() made it: a
 * plugin's child process must not hold the log file open after a
 * rotation. dup3() sets it in the same step. */
static int move_fd(int from, int to) {
#ifdef __linux__
  return dup3(from, to, O_CLOEXEC);
#else
  if (dup2(from, to) < 0) {
    return -1;
  }
  return fcntl(to, F_SETFD, FD_CLOEXEC);
#endif
}

int siphon__log_reopen(char **err_out) {
  *err_out = NULL;
  if (log_path == NULL) {
    return 1;
  }
  int fd = open_log(log_path, err_out);
  if (fd < 0) {
    return fd;
  }
  int rc = 0;
  if (move_fd(fd, atomic_load(&log_fd)) < 0) {
    int e = errno;
    *err_out = siphon__asprintf("cannot reopen the log file %s: %s", log_path, strerror(e));
    rc = -e;
  }
  close(fd);
  return rc;
}

const char *siphon__log_file(void) {
  return log_path;
}

void siphon__log_close_file(void) {
  if (log_path == NULL) {
    return;
  }
  /* At teardown, when no other thread logs: one that still did could
   * write to the closed descriptor, and its line would be lost. */
  int fd = atomic_exchange(&log_fd, STDERR_FILENO);
  close(fd);
  free(log_path);
  log_path = NULL;
}

void siphon__log_raw(const char *text, size_t n) {
  ssize_t w = write(atomic_load(&log_fd), text, n);
  (void)w; /* a signal handler's last words: nothing to do if they fail */
}

/* One write() a line: with O_APPEND, lines from different threads stay
 * whole and in the order they were written. */
static void put_line(const char *line, size_t n) {
  int fd = atomic_load(&log_fd);
  while (n > 0) {
    ssize_t w = write(fd, line, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return; /* nowhere left to say so */
    }
    line += w;
    n -= (size_t)w;
  }
}

void siphon__log_set_level(int level) {
  atomic_store(&log_level, level);
}

void siphon__log_set_json(int on) {
  atomic_store(&log_json, on);
}

/* A message cut at the buffer's end may end inside a UTF-8 character:
 * drop that partial character, so the rest stays readable (and, in JSON,
 * valid UTF-8 rather than all '?'). */
static size_t trim_partial_utf8(const char *s, size_t len) {
  size_t i = len;
  while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
    i--;
  }
  if (i == 0) {
    return len;
  }
  unsigned char lead = (unsigned char)s[i - 1];
  size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return need > 1 && len - (i - 1) < need ? i - 1 : len;
}

/* {"ts":..,"level":..,"source":..,"msg":..}: for a pipeline that reads
 * logs as it reads records (Fluent Bit's, Loki's). */
static void write_json(const char *ts, int level, const char *who, const char *msg) {
  json_t *o = json_pack("{ssss}", "ts", ts, "level", level_names[level]);
  if (o == NULL) {
    return;
  }
  if (who != NULL) {
    json_object_set_new(o, "source", json_string(who));
  }
  json_t *m = json_string(msg);
  if (m == NULL) {
    /* Not UTF-8 (a plugin's bytes): keep the line, '?' for each byte
     * outside ASCII, rather than lose it. */
    char safe[2048];
    size_t k = 0;
    for (; msg[k] != '\0' && k < sizeof(safe) - 1; k++) {
      safe[k] = (unsigned char)msg[k] < 0x80 ? msg[k] : '?';
    }
    safe[k] = '\0';
    m = json_string(safe);
  }
  json_object_set_new(o, "msg", m);
  /* Into the stack when it fits (nearly always): a line costs no more
   * allocations than its JSON object's. */
  const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII;
  char buf[4096];
  size_t n = json_dumpb(o, buf, sizeof(buf) - 1, flags);
  if (n > 0 && n < sizeof(buf) - 1) {
    buf[n] = '\n';
    put_line(buf, n + 1);
  } else {
    char *text = json_dumps(o, flags);
    size_t len = text != NULL ? strlen(text) : 0;
    char *line = text != NULL ? malloc(len + 1) : NULL;
    if (line != NULL) {
      memcpy(line, text, len);
      line[len] = '\n';
      put_line(line, len + 1);
    }
    free(line);
    free(text);
  }
  json_decref(o);
}

int siphon__log_level(void) {
  return atomic_load(&log_level);
}

int siphon__log_level_parse(const char *s) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      return i;
    }
  }
  if (strcmp(s, "warning") == 0) {
    return SIPHON_LOG_WARN;
  }
  return -1;
}

void siphon__logv(int level, const char *who, const char *fmt, va_list ap) {
  if (level > atomic_load(&log_level)) {
    return;
  }
  if (level < 0) {
    level = 0;
  }
  if (level > 3) {
    level = 3;
  }
  char line[2048];
  char ts[SIPHON__TS_LEN];
  siphon__record_timestamp(ts);
  if (atomic_load(&log_json)) {
    char msg[2048];
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (m >= (int)sizeof(msg)) {
      msg[trim_partial_utf8(msg, sizeof(msg) - 1)] = '\0';
    }
    write_json(ts, level, who, msg);
    return;
  }
  int n;
  if (who != NULL) {
    n = snprintf(line, sizeof(line), "%s %-5s [%s] ", ts, level_names[level], who);
  } else {
    n = snprintf(line, sizeof(line), "%s %-5s ", ts, level_names[level]);
  }
  if (n < 0 || (size_t)n >= sizeof(line)) {
    n = 0;
  }
  int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof(line) - 2) {
    len = trim_partial_utf8(line, sizeof(line) - 2);
  }
  line[len] = '\n';
  put_line(line, len + 1);
}

void siphon__log(int level, const char *who, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  siphon__logv(level, who, fmt, ap);
  va_end(ap);
}
