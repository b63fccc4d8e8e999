/* Small allocation and string helpers shared by the host. Allocation
 * failure aborts: the host cannot do anything useful without memory. */
#ifndef SIPHON_CORE_UTIL_H
#define SIPHON_CORE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *siphon__xmalloc(size_t n);
void *siphon__xcalloc(size_t n, size_t size);
void *siphon__xrealloc(void *p, size_t n);
char *siphon__xstrdup(const char *s);
char *siphon__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *siphon__vasprintf(const char *fmt, va_list ap);

/* Creates a directory and its parents (mode 0750). Returns 0 or -errno. */
int siphon__mkdir_p(const char *path);

/* Milliseconds on a monotonic clock. */
uint64_t siphon__now_ms(void);

struct siphon_error;
/* Ends a plugin's error path and text with a NUL at their last byte: a
 * plugin that fills either to the brim (a memcpy, strncpy) must not make
 * the host read past them. */
void siphon__error_end(struct siphon_error *e);

#endif
