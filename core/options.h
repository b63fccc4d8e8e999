/* Checks a source's options against its plugin's options table. */
#ifndef SIPHON_CORE_OPTIONS_H
#define SIPHON_CORE_OPTIONS_H

#include <jansson.h>

#include "diag.h"
#include "siphon/plugin.h"

/* Validates `options` against `table` (which may be NULL: no options).
 * `where` prefixes messages, e.g. "demo.json: sources[3].options".
 * On success returns 0 and sets *validated_out to a NEW object: defaults
 * filled in, durations as integer ms, in table order. On failure adds
 * every error to d and returns -EINVAL. */
int siphon__options_validate(const siphon_option *table, const json_t *options, const char *where,
                             json_t **validated_out, siphon__diag *d);

/* The slips in an options table that the host can live with, as a new
 * string, "; " between them (choices on a type they cannot restrict, an
 * empty choice, a default on a required option), or NULL: the loader
 * warns of them. */
char *siphon__options_table_advice(const siphon_option *table);

/* What is wrong with a descriptor's example options (not JSON, not an
 * object, or not valid against the table), as a new string; NULL when it
 * is fine or absent. */
char *siphon__options_example_fault(const siphon_option *table, const char *example);

/* A NEW copy of `options` with SIPHON_OPT_SECRET values replaced by
 * "********", and secrets in URL userinfo ("mongodb://u:p@h") masked, for
 * printing. */
json_t *siphon__options_redact(const siphon_option *table, const json_t *options);

/* A JSON Schema (draft 2020-12) of an options object for `table`: one
 * property per option with its type, choices, default and description,
 * "required" and no other keys; secrets are marked writeOnly. For
 * editors: lets a tool such as a `siphon --schema` command extend
 * config/siphon.schema.json with each plugin's options. Returns a new
 * object. */
json_t *siphon__options_schema(const siphon_option *table);

/* Checks a plugin's options table itself, when the plugin is loaded: a
 * key in every row and none twice, a known type and flags, and a default
 * that is JSON of its type. A fault found only when some source used the
 * option would read as the user's error. `newer`: the plugin was built
 * for a later ABI minor, whose flags this host may not know (ignored, as
 * a minor promises) and whose types it cannot check (refused, saying it
 * needs a newer siphon). Returns NULL when the table is fine, else a NEW
 * message naming the row. */
char *siphon__options_table_fault(const siphon_option *table, int newer);

/* Human-readable name of an option type ("string", "duration", ...). */
const char *siphon__opt_type_name(siphon_opt_type t);

#endif
