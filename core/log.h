/* The host's log: one line per message on stderr, with time, level and the
 * source's name. Safe from any thread. */
#ifndef SIPHON_CORE_LOG_H
#define SIPHON_CORE_LOG_H

#include <stdarg.h>

#include "siphon/plugin.h"

void siphon__log_set_level(int level);
/* Lines as JSON objects (siphon.log_format "json") instead of text. */
void siphon__log_set_json(int on);
int siphon__log_level(void);

/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int siphon__log_level_parse(const char *s);

/* who: a source's name, "plugin:NAME", or NULL for the host itself. */
void siphon__logv(int level, const char *who, const char *fmt, va_list ap);
void siphon__log(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SLOG_ERROR(...) siphon__log(SIPHON_LOG_ERROR, NULL, __VA_ARGS__)
#define SLOG_WARN(...) siphon__log(SIPHON_LOG_WARN, NULL, __VA_ARGS__)
#define SLOG_INFO(...) siphon__log(SIPHON_LOG_INFO, NULL, __VA_ARGS__)
#define SLOG_DEBUG(...) siphon__log(SIPHON_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
