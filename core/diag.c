#include "diag.h"

#include <jansson.h>
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
  json_decref(d->origins);
  memset(d, 0, sizeof(*d));
}

void siphon__diag_note_origin(siphon__diag *d, const char *where, const char *names) {
  if (d->origins == NULL) {
    d->origins = json_object();
  }
  json_object_set_new(d->origins, where, json_string(names));
}

void siphon__diag_vadd(siphon__diag *d, const char *where, int value, const char *fmt, va_list ap) {
  if (d->count == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    d->entries = siphon__xrealloc(d->entries, cap * sizeof(*d->entries));
    d->cap = cap;
  }
  char *text = siphon__vasprintf(fmt, ap);
  /* A value that came from the environment: the user fixes the variable,
   * not the file, so name it (its names only: a default may be secret). */
  const char *from = value && where != NULL && d->origins != NULL
                         ? json_string_value(json_object_get(d->origins, where))
                         : NULL;
  if (from != NULL) {
    char *with = siphon__asprintf("%s (the value came from %s)", text, from);
    free(text);
    text = with;
  }
  d->entries[d->count].where = siphon__xstrdup(where ? where : "");
  d->entries[d->count].text = text;
  d->count++;
}

void siphon__diag_add(siphon__diag *d, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  siphon__diag_vadd(d, where, 1, fmt, ap);
  va_end(ap);
}

void siphon__diag_add_key(siphon__diag *d, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  siphon__diag_vadd(d, where, 0, fmt, ap);
  va_end(ap);
}

/* One message's entries: how many there are, how many were printed, and
 * the first and last of those folded away. */
typedef struct fold {
  const char *text;
  size_t count, shown;
  size_t first_hidden, last_hidden;
} fold;

static uint64_t text_hash(const char *s) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s != '\0'; s++) {
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  }
  return h;
}

/* The fold of text in an open-addressed table of `size` slots (a power
 * of two, more than the entries). */
static fold *fold_of(fold *table, size_t size, const char *text) {
  size_t i = (size_t)text_hash(text) & (size - 1);
  while (table[i].text != NULL && strcmp(table[i].text, text) != 0) {
    i = (i + 1) & (size - 1);
  }
  table[i].text = text;
  return &table[i];
}

/* "a.json: sources[3].timeout" to "a.json: sources[9].timeout": the file
 * once. */
static void print_range(const char *first, const char *last) {
  const char *sep = strrchr(first, ':');
  size_t prefix = sep != NULL && sep[1] == ' ' ? (size_t)(sep - first) + 2 : 0;
  if (prefix > 0 && strncmp(first, last, prefix) == 0) {
    last += prefix;
  }
  fprintf(stderr, "%s to %s", first, last);
}

void siphon__diag_print(const siphon__diag *d) {
  /* A generated config with one slip repeated over 10,000 sources gives
   * 10,000 errors that say the same: past SHOWN of one message, the rest
   * are counted in one line, so that another error is not buried. */
  enum { SHOWN = 3 };
  size_t size = 16;
  while (size <= d->count * 2) {
    size *= 2;
  }
  fold *table = siphon__xcalloc(size, sizeof(*table));
  for (size_t i = 0; i < d->count; i++) {
    fold *f = fold_of(table, size, d->entries[i].text);
    if (++f->count == SHOWN + 1) {
      f->first_hidden = i;
    }
    f->last_hidden = i;
  }
  for (size_t i = 0; i < d->count; i++) {
    const siphon__diag_entry *e = &d->entries[i];
    fold *f = fold_of(table, size, e->text);
    /* Folding one or two lines into one saves nothing. */
    int folds = f->count > SHOWN + 2;
    if (folds && f->shown == SHOWN) {
      continue;
    }
    f->shown++;
    if (e->where[0] != '\0') {
      fprintf(stderr, "siphon: %s: %s\n", e->where, e->text);
    } else {
      fprintf(stderr, "siphon: %s\n", e->text);
    }
    if (folds && f->shown == SHOWN) {
      fprintf(stderr, "siphon: and %zu more with that message", f->count - SHOWN);
      if (d->entries[f->first_hidden].where[0] != '\0') {
        fputs(", from ", stderr);
        print_range(d->entries[f->first_hidden].where, d->entries[f->last_hidden].where);
      }
      fputs(" (not shown)\n", stderr);
    }
  }
  free(table);
}
