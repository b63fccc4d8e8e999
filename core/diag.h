/* Diagnostics: a list of errors found while reading a config and loading
 * plugins, so that `siphon --check` can report every error, not just the
 * first. Each names where (file, line:column for syntax errors, JSON path
 * for the rest) and what was expected. */
#ifndef SIPHON_CORE_DIAG_H
#define SIPHON_CORE_DIAG_H

#include <stddef.h>

typedef struct siphon__diag_entry {
  char *where; /* "demo.json:3:14" or "demo.json: sources[2].interval" */
  char *text;  /* "expected a duration such as \"10s\", got -5" */
} siphon__diag_entry;

typedef struct siphon__diag {
  siphon__diag_entry *entries;
  size_t count;
  size_t cap;
} siphon__diag;

void siphon__diag_init(siphon__diag *d);
void siphon__diag_free(siphon__diag *d);

/* Adds an error. `where` and the formatted text are copied. */
void siphon__diag_add(siphon__diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints every entry as "siphon: WHERE: TEXT\n" to stderr. */
void siphon__diag_print(const siphon__diag *d);

#endif
