#include "log.h"

#include "record.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int log_level = SIPHON_LOG_INFO;
static atomic_int log_json; /* siphon.log_format "json" */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void siphon__log_set_level(int level) {
  atomic_store(&log_level, level);
}

void siphon__log_set_json(int on) {
  atomic_store(&log_json, on);
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
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
  json_decref(o);
  if (text != NULL) {
    size_t n = strlen(text);
    char *line = malloc(n + 2);
    if (line != NULL) {
      memcpy(line, text, n);
      line[n] = '\n';
      line[n + 1] = '\0';
      fputs(line, stderr); /* one call: lines from different threads stay whole */
      free(line);
    }
    free(text);
  }
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
  /* One fputs per line keeps lines from different threads whole. */
  char line[2048];
  char ts[SIPHON__TS_LEN];
  siphon__record_timestamp(ts);
  if (atomic_load(&log_json)) {
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
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
