/* The host's log: one line per message on stderr (or siphon.log_file),
 * with time, level and the source's name. Safe from any thread. */
#ifndef SIPHON_CORE_LOG_H
#define SIPHON_CORE_LOG_H

#include <stdarg.h>

#include "siphon/plugin.h"

void siphon__log_set_level(int level);
/* Lines as JSON objects (siphon.log_format "json") instead of text. */
void siphon__log_set_json(int on);
int siphon__log_level(void);

/* Sends every line from now on to the file at path (appended to, created
 * with mode 0640) instead of stderr. Returns 0, or a negative errno with
 * *err_out set to a message the caller frees. Call from the main thread. */
int siphon__log_open_file(const char *path, char **err_out);

/* Opens the log file's path again (SIGHUP, after logrotate moved it).
 * Returns 0 when reopened, 1 when the log is stderr, or a negative errno
 * with *err_out set (lines keep going to the old file). */
int siphon__log_reopen(char **err_out);

/* The log file's path, or NULL while the log is stderr. */
const char *siphon__log_file(void);

/* Writes text as it is (no time, no level) where the log goes, in one
 * write(). Async-signal-safe: for a signal handler's last words. */
void siphon__log_raw(const char *text, size_t n);

/* Back to stderr; closes the file. */
void siphon__log_close_file(void);

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
