/* Diagnostics: a list of errors found while reading a config and loading
 * plugins, so that `siphon --check` can report every error, not just the
 * first. Each names where (file, line:column for syntax errors, JSON path
 * for the rest) and what was expected. */
#ifndef SIPHON_CORE_DIAG_H
#define SIPHON_CORE_DIAG_H

#include <stdarg.h>
#include <stddef.h>

typedef struct siphon__diag_entry {
  char *where; /* "demo.json:3:14" or "demo.json: sources[2].interval" */
  char *text;  /* "expected a duration such as \"10s\", got -5" */
} siphon__diag_entry;

typedef struct siphon__diag {
  siphon__diag_entry *entries;
  size_t count;
  size_t cap;
  /* where -> the ${...} its value came from, for values substituted from
   * the environment or a file: an error there says so. A jansson object,
   * or NULL. */
  struct json_t *origins;
} siphon__diag;

void siphon__diag_init(siphon__diag *d);
void siphon__diag_free(siphon__diag *d);

/* Adds an error. `where` and the formatted text are copied. */
void siphon__diag_add(siphon__diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for an error about the key at `where`, not its value (an
 * unknown key, one not used): no "the value came from". */
void siphon__diag_add_key(siphon__diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Either of the two with a va_list: `value` non-zero for an error about
 * the value at `where` (siphon__diag_add), zero for one about its key. */
void siphon__diag_vadd(siphon__diag *d, const char *where, int value, const char *fmt, va_list ap);

/* Notes that the value at `where` ("demo.json: sources[0].options.url")
 * came from substitutions: `names` ("${API_PORT}") is added to every
 * error there. Copied. */
void siphon__diag_note_origin(siphon__diag *d, const char *where, const char *names);

/* Prints every entry as "siphon: WHERE: TEXT\n" to stderr. */
void siphon__diag_print(const siphon__diag *d);

#endif
