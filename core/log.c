#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int log_level = SIPHON_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void siphon__log_set_level(int level) {
  atomic_store(&log_level, level);
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

int siphon__format_now(char *buf, unsigned size) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000000);
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
  /* One fputs per line keeps lines from different threads whole. */
  char line[2048];
  char ts[40];
  siphon__format_now(ts, sizeof(ts));
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
    len = sizeof(line) - 2;
  }
  line[len] = '\n';
  line[len + 1] = '\0';
  fputs(line, stderr);
}

void siphon__log(int level, const char *who, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  siphon__logv(level, who, fmt, ap);
  va_end(ap);
}
