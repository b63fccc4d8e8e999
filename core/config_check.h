/* Internal to the config reader (config*.c): the checking context and the
 * typed getters that report what they find wrong. */
#ifndef SIPHON_CORE_CONFIG_CHECK_H
#define SIPHON_CORE_CONFIG_CHECK_H

#include <jansson.h>

#include "config.h"
#include "diag.h"

typedef struct siphon__cfgctx {
  const char *file;                /* the config's name in messages */
  siphon__diag *d;                 /* where errors go */
  siphon__diag *warn;              /* where warnings go (the config's) */
  const siphon__config_opts *opts; /* never NULL */
  const json_t **bad;              /* strings whose ${VAR} failed: already reported */
  size_t bad_count;
  size_t bad_cap;
} siphon__cfgctx;

/* Adds "FILE: PATH: TEXT" (just "FILE: TEXT" for an empty path). */
void siphon__cfg_error(siphon__cfgctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a warning, "FILE: PATH: TEXT", for what is valid but likely a
 * slip. */
void siphon__cfg_warn(siphon__cfgctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void siphon__cfg_mark_bad(siphon__cfgctx *c, const json_t *v);
int siphon__cfg_is_bad(const siphon__cfgctx *c, const json_t *v);

/* Reports every key of obj not in `known` (NULL-terminated), suggesting
 * the nearest. */
void siphon__cfg_unknown_keys(siphon__cfgctx *c, const json_t *obj, const char *path,
                              const char *const *known);

/* Getters: 1 when obj[key] is present and valid (*out set), 0 when absent
 * (*out untouched), -1 when present but wrong (reported, or already
 * reported by ${VAR} substitution). */
int siphon__cfg_object(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                       json_t **out);
int siphon__cfg_string(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                       const char **out);
int siphon__cfg_choice(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                       const char *const *choices, size_t *index_out);
int siphon__cfg_bool(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                     int *out);
int siphon__cfg_int(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                    long long min, long long max, long long *out);
int siphon__cfg_duration(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                         uint64_t *out);
int siphon__cfg_size(siphon__cfgctx *c, const json_t *obj, const char *parent, const char *key,
                     uint64_t *out);

/* Substitutes ${VAR} in every string value under v (config.c); a value
 * that fails is reported with `path` and marked bad. */
void siphon__cfg_substitute(siphon__cfgctx *c, json_t *v, const char *path);

/* The keys a source may have (config_sources.c). */
extern const char *const siphon__source_keys[];

/* Checks "sources" and fills cfg->sources with the enabled ones. */
void siphon__cfg_sources(siphon__cfgctx *c, const json_t *root, siphon__config *cfg);

/* The "tags" object under obj (at path), its values made strings: a NEW
 * object, empty when there are none. */
json_t *siphon__cfg_tags(siphon__cfgctx *c, const json_t *obj, const char *path);

#endif
