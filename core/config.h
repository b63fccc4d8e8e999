/* The config file: parsed with jansson, ${VAR} substituted, checked, and
 * turned into plain structs. Plugin options are only checked for being an
 * object here; options.c checks them against the plugin's table once the
 * plugin is loaded. */
#ifndef SIPHON_CORE_CONFIG_H
#define SIPHON_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "diag.h"

typedef enum siphon__output_type {
  SIPHON__OUTPUT_STDOUT = 0,
  SIPHON__OUTPUT_FILE = 1
} siphon__output_type;

typedef struct siphon__source_conf {
  size_t index;            /* position in "sources" (for JSON paths) */
  char *name;              /* unique, [A-Za-z0-9_.:-]+ */
  char *plugin;            /* plugin name */
  uint64_t interval_ms;    /* > 0; default 10 s */
  uint64_t timeout_ms;     /* > 0, <= interval; default = interval */
  uint64_t jitter_ms;      /* < interval; default 0 */
  uint64_t max_backoff_ms; /* cap of the failure backoff; >= interval */
  /* Which of interval, timeout, jitter, max_backoff the file sets, in
   * that order from bit 0: a streaming source uses none of them. */
  unsigned schedule_set;
  /* Both owned, and never NULL until siphon__host_setup releases them
   * (outside --check) once the source is created. */
  json_t *tags;    /* object of strings */
  json_t *options; /* object; not yet checked */
} siphon__source_conf;

/* Frees n source confs and the array. */
void siphon__source_confs_free(siphon__source_conf *v, size_t n);

typedef struct siphon__config {
  char *path;            /* the file as named, or "<string>" */
  char *dir;             /* its directory: base of relative paths */
  unsigned threads;      /* threadpool size; 0 = choose */
  double max_pool_share; /* (0,1]: share of the pool one plugin may use; 0 = choose */
  int log_level;         /* siphon_log_level */
  int log_json;          /* siphon.log_format is "json" */
  char *log_file;        /* siphon.log_file, resolved; NULL = stderr */
  char **plugin_path;    /* absolute or relative to dir, as written */
  size_t plugin_path_count;
  siphon__output_type output_type;
  char *output_path;                /* for SIPHON__OUTPUT_FILE */
  uint64_t buffer_max_bytes;        /* output queue bound; default 64 MiB */
  uint64_t shutdown_grace_ms;       /* default 5 s */
  uint64_t stats_interval_ms;       /* the host's own stats record; 0 = off */
  uint64_t release_memory_after_ms; /* idle time before freed pages go back; 0 = never */
  json_t *tags;    /* siphon.tags: in every source's records, under its own; may be NULL */
  char *state_dir; /* default "state" beside the config? see config.c */
  siphon__source_conf *sources;
  size_t source_count;
  /* Sources with "enabled": false: checked (keys, plugin, options
   * against its table) but never created. */
  siphon__source_conf *disabled;
  size_t disabled_count;
  /* What is valid but likely not meant ("interval": 10 is 10 ms), for
   * the command to say: --check on stderr, a run in its log. */
  siphon__diag warnings;
} siphon__config;

/* What the command line changes in how a config is read. */
typedef struct siphon__config_opts {
  /* --log-file is given: the config's own siphon.log_file is checked for
   * its type only (a path that is wrong on this host must not stop the
   * override that fixes it). */
  int log_file_given;
} siphon__config_opts;

/* Reads, substitutes and checks a config file. Every error found is added
 * to d (syntax errors stop at the first, with line:column). Returns 0 when
 * d gained no error; otherwise -EINVAL (out is then still freeable). */
int siphon__config_load_file(const char *path, siphon__config *out, siphon__diag *d);

/* The same for a config held in memory; `name` stands for the file name
 * in messages. */
int siphon__config_load_string(const char *text, const char *name, siphon__config *out,
                               siphon__diag *d);

/* siphon__config_load_file with opts (may be NULL: none). */
int siphon__config_load_file_opts(const char *path, const siphon__config_opts *opts,
                                  siphon__config *out, siphon__diag *d);

void siphon__config_free(siphon__config *c);

/* The message for jansson's syntax error jerr in text: a trailing comma
 * named at the comma, hints for a missing comma or a comment, else
 * jansson's words. Sets *line and *column (from 1; line 0 when jansson
 * gave none). Returns a new string. */
char *siphon__json_syntax_error(const char *text, size_t len, const json_error_t *jerr, int *line,
                                int *column);

/* Sets cfg->log_file to path (as given: the caller resolves it), after
 * checking that its directory exists and that it is not the output file.
 * Errors are added to d under `where` ("FILE: siphon.log_file", or
 * "--log-file"). Returns 0, or -EINVAL when d gained an error. Used for
 * the config's key and for --log-file, so --check finds the same. */
int siphon__config_set_log_file(siphon__config *cfg, const char *path, const char *where,
                                siphon__diag *d);

/* config/siphon.schema.json as built in (core/CMakeLists.txt), for
 * `siphon --schema`. */
extern const char siphon__schema_text[];

/* The keys the host knows in a section of the config: "" (top level),
 * "siphon", "siphon.output" or "sources[]"; NULL-terminated; NULL for an
 * unknown section. Lets tests keep config/siphon.schema.json in step. */
const char *const *siphon__config_keys(const char *section);

/* What a duration may be, for messages: in a config, and on the command
 * line, where a value is a string and digits alone are refused. */
#define SIPHON__DURATION_EXPECTED \
  "a duration such as \"10s\", \"250ms\", \"1m\" or a number of milliseconds"
#define SIPHON__DURATION_EXPECTED_FLAG "a duration such as \"10s\", \"250ms\" or \"1m\""

/* What siphon says of a duration written as digits in a string ("10"):
 * seconds to a collectd user, milliseconds as a JSON number here. Neither
 * is guessed. printf arguments: the text, three times. */
#define SIPHON__DURATION_NO_UNIT \
  "\"%s\" has no unit: write \"%ss\" for seconds or \"%sms\" for milliseconds"

/* The text of a string value made of digits only ("8", "10"), or NULL. */
const char *siphon__json_digits(const json_t *v);

/* The longest duration: 100 years of 365.25 days, in ms. Far below
 * 64 bits, so that a plugin adding one to a time in ms cannot overflow
 * ("5124095576030h" wrapped the rest plugin's deadline to the past). */
#define SIPHON__DURATION_MAX_MS 3155760000000ull

/* What siphon says of a duration too long to keep. */
#define SIPHON__DURATION_TOO_LONG "too long: a duration may be at most 100 years (876600h)"

/* Parses a duration: a JSON integer of ms, or a string "250ms", "10s",
 * "1.5s", "1m", "2h". Returns 0, -ERANGE when it is longer than
 * SIPHON__DURATION_MAX_MS, or -EINVAL. */
int siphon__duration_parse(const json_t *v, uint64_t *ms_out);
int siphon__duration_parse_str(const char *s, uint64_t *ms_out);

/* Substitutes ${VAR}, ${VAR:-default} and ${VAR:?message} in `in`;
 * "$$" is a literal "$". Returns a new string, or NULL with *err_out set
 * to a new message (caller frees). */
char *siphon__env_substitute(const char *in, char **err_out);

/* The substitutions `in` makes, as the user wrote them but without
 * defaults ("${API_HOST}, ${file:token}"), or NULL for none. New string. */
char *siphon__env_names(const char *in);

/* The known key closest to `key` by edit distance, or NULL if none is
 * close enough to be a likely typo. `known` ends with NULL. */
const char *siphon__suggest(const char *key, const char *const *known);

/* Formats a duration the way configs write it: "10s", "1.5s", "250ms",
 * "2m", "1h". */
void siphon__duration_format(uint64_t ms, char *buf, size_t size);

/* Parses a size: a JSON integer of bytes, or a string "512KiB", "64MiB",
 * "1GiB", "100MB", "1.5GB" (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB
 * of 1024; case-insensitive). Returns 0 or -EINVAL. */
int siphon__size_parse(const json_t *v, uint64_t *bytes_out);
int siphon__size_parse_str(const char *s, uint64_t *bytes_out);

/* Message helpers shared by config.c and options.c (config_json.c).
 * siphon__json_show: a value with its JSON type, for "wrong type" errors:
 * `a string ("ten")`, `a number (5)`, `an array`, `null`.
 * siphon__json_value_text: the value alone: `"ten"`, `5`, `true`.
 * siphon__json_kind: its type alone, static: `a string`, `null` (for a
 * value that must not be shown, a secret's).
 * siphon__path_key / siphon__path_index: JSON paths ("sources[3].options.url",
 * `tags["a.b"]`). All return new strings. */
char *siphon__json_show(const json_t *v);
char *siphon__json_value_text(const json_t *v);
const char *siphon__json_kind(const json_t *v);
char *siphon__path_key(const char *parent, const char *key);
char *siphon__path_index(const char *parent, size_t index);

#endif
