#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void siphon__diag_init(siphon__diag *d) {
  memset(d, 0, sizeof(*d));
}

void siphon__diag_free(siphon__diag *d) {
  for (size_t i = 0; i < d->count; i++) {
    free(d->entries[i].where);
    free(d->entries[i].text);
  }
  free(d->entries);
  memset(d, 0, sizeof(*d));
}

void siphon__diag_add(siphon__diag *d, const char *where, const char *fmt, ...) {
  if (d->count == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    d->entries = siphon__xrealloc(d->entries, cap * sizeof(*d->entries));
    d->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  char *text = siphon__vasprintf(fmt, ap);
  va_end(ap);
  d->entries[d->count].where = siphon__xstrdup(where ? where : "");
  d->entries[d->count].text = text;
  d->count++;
}

void siphon__diag_print(const siphon__diag *d) {
  for (size_t i = 0; i < d->count; i++) {
    if (d->entries[i].where[0] != '\0') {
      fprintf(stderr, "siphon: %s: %s\n", d->entries[i].where, d->entries[i].text);
    } else {
      fprintf(stderr, "siphon: %s\n", d->entries[i].text);
    }
  }
}
