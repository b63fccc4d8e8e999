/* Reading the config file: bytes -> jansson tree -> ${VAR} substituted ->
 * checked -> siphon__config. Every error is collected so `siphon --check`
 * shows them all at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_check.h"
#include "siphon/plugin.h"
#include "util.h"

#define DEFAULT_BUFFER_BYTES (64ull << 20)
#define DEFAULT_SHUTDOWN_GRACE_MS 5000u
#define DEFAULT_RELEASE_MEMORY_AFTER_MS 10000u
#define DEFAULT_STATE_DIR "siphon-state"
#define MAX_THREADS 1024

static const char *const top_keys[] = {"$schema", "siphon", "sources", NULL};
static const char *const siphon_keys[] = {"threads",        "log_level",
                                          "plugin_path",    "output",
                                          "buffer_limit",   "shutdown_grace",
                                          "state_dir",      "max_pool_share",
                                          "stats_interval", "release_memory_after",
                                          "tags",           "log_format",
                                          "log_file",       NULL};
static const char *const output_keys[] = {"type", "path", NULL};
static const char *const output_types[] = {"stdout", "file", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
/* In siphon_log_level order. */
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

/* Relative paths in a config are relative to the config's directory, so a
 * config means the same whatever directory siphon is started from. */
static char *resolve(const char *dir, const char *p) {
  if (p[0] == '/' || dir == NULL || strcmp(dir, ".") == 0) {
    return siphon__xstrdup(p);
  }
  return siphon__asprintf("%s/%s", dir, p);
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    return siphon__xstrdup(".");
  }
  if (slash == path) {
    return siphon__xstrdup("/");
  }
  return siphon__asprintf("%.*s", (int)(slash - path), path);
}

void siphon__cfg_substitute(siphon__cfgctx *c, json_t *v, const char *path) {
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (strchr(s, '$') == NULL) {
      return;
    }
    char *err = NULL;
    char *out = siphon__env_substitute(s, &err);
    if (out == NULL) {
      siphon__cfg_error(c, path, "%s", err);
      siphon__cfg_mark_bad(c, v);
      free(err);
      return;
    }
    char *names = siphon__env_names(s); /* before s is replaced */
    if (json_string_set(v, out) != 0) {
      siphon__cfg_error(c, path, "the value after ${...} substitution is not valid UTF-8");
      siphon__cfg_mark_bad(c, v);
    } else if (names != NULL) {
      char *where = siphon__asprintf("%s: %s", c->file, path);
      siphon__diag_note_origin(c->d, where, names);
      free(where);
    }
    free(names);
    free(out);
  } else if (json_is_object(v)) {
    const char *key;
    json_t *child;
    json_object_foreach(v, key, child) {
      char *p = siphon__path_key(path, key);
      siphon__cfg_substitute(c, child, p);
      free(p);
    }
  } else if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++) {
      char *p = siphon__path_index(path, i);
      siphon__cfg_substitute(c, json_array_get(v, i), p);
      free(p);
    }
  }
}

static void add_plugin_path(siphon__config *cfg, const char *p) {
  cfg->plugin_path =
      siphon__xrealloc(cfg->plugin_path, (cfg->plugin_path_count + 1) * sizeof(char *));
  cfg->plugin_path[cfg->plugin_path_count++] = siphon__xstrdup(p);
}

static void check_plugin_path(siphon__cfgctx *c, const json_t *sec, siphon__config *cfg) {
  json_t *v = json_object_get(sec, "plugin_path");
  if (v == NULL || siphon__cfg_is_bad(c, v)) {
    return;
  }
  if (json_is_string(v)) {
    const char *s;
    if (siphon__cfg_string(c, sec, "siphon", "plugin_path", &s) > 0) {
      add_plugin_path(cfg, s);
    }
    return;
  }
  if (!json_is_array(v)) {
    char *got = siphon__json_show(v);
    siphon__cfg_error(c, "siphon.plugin_path",
                      "expected an array of directories or one string, got %s", got);
    free(got);
    return;
  }
  for (size_t i = 0; i < json_array_size(v); i++) {
    json_t *e = json_array_get(v, i);
    if (siphon__cfg_is_bad(c, e)) {
      continue;
    }
    char *p = siphon__path_index("siphon.plugin_path", i);
    if (!json_is_string(e) || json_string_length(e) == 0) {
      char *got = siphon__json_show(e);
      siphon__cfg_error(c, p, "expected a directory name, got %s", got);
      free(got);
    } else {
      add_plugin_path(cfg, json_string_value(e));
    }
    free(p);
  }
}

/* A file siphon appends to must have its directory: found now, so that
 * --check fails where the run would. Returns the directory when it is
 * missing (caller frees), else NULL. */
static char *missing_dir(const char *file) {
  char *dir = dir_of(file);
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
    free(dir);
    return NULL;
  }
  return dir;
}

/* A file siphon appends to that names a directory (or ends in '/'):
 * open() would fail with EISDIR at start. */
static int names_a_dir(const char *file) {
  size_t n = strlen(file);
  struct stat st;
  return (n > 0 && file[n - 1] == '/') || (stat(file, &st) == 0 && S_ISDIR(st.st_mode));
}

#define SIPHON__NAMES_A_DIR "%s is a directory: expected a file (siphon appends to it)"

static void check_dir_of(siphon__cfgctx *c, const char *where, const char *file) {
  if (names_a_dir(file)) {
    siphon__cfg_error(c, where, SIPHON__NAMES_A_DIR, file);
    return;
  }
  char *dir = missing_dir(file);
  if (dir != NULL) {
    siphon__cfg_error(c, where, "the directory %s does not exist: create it first", dir);
    free(dir);
  }
}

/* One file by two names ("out.jsonl", "./out.jsonl", a symlinked
 * directory): their directories' real paths and base names, or, when both
 * exist, their inodes. */
static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0) {
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  }
  char *da = dir_of(a), *db = dir_of(b);
  char *ra = realpath(da, NULL), *rb = realpath(db, NULL);
  const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');
  ba = ba != NULL ? ba + 1 : a;
  bb = bb != NULL ? bb + 1 : b;
  int same = ra != NULL && rb != NULL && strcmp(ra, rb) == 0 && strcmp(ba, bb) == 0;
  free(ra);
  free(rb);
  free(da);
  free(db);
  return same;
}

/* siphon appends to it, so it must not be the config itself. */
static int is_the_config(const siphon__config *cfg, const char *path) {
  struct stat st;
  return cfg->path != NULL && stat(cfg->path, &st) == 0 && same_file(path, cfg->path);
}

int siphon__config_set_log_file(siphon__config *cfg, const char *path, const char *where,
                                siphon__diag *d) {
  size_t before = d->count;
  char *dir = NULL;
  if (names_a_dir(path)) {
    siphon__diag_add(d, where, SIPHON__NAMES_A_DIR, path);
  } else {
    dir = missing_dir(path);
  }
  if (dir != NULL) {
    siphon__diag_add(d, where, "the directory %s does not exist: create it first", dir);
    free(dir);
  }
  if (cfg->output_type == SIPHON__OUTPUT_FILE && cfg->output_path != NULL &&
      same_file(cfg->output_path, path)) {
    siphon__diag_add(d, where,
                     "%s is also siphon.output.path: log lines would mix with the records; "
                     "give the log a file of its own",
                     path);
  } else if (is_the_config(cfg, path)) {
    siphon__diag_add(d, where, "%s is the config file itself: the log would be appended to it",
                     path);
  }
  free(cfg->log_file);
  cfg->log_file = siphon__xstrdup(path);
  return d->count == before ? 0 : -EINVAL;
}

static void check_output(siphon__cfgctx *c, const json_t *sec, siphon__config *cfg) {
  json_t *out = NULL;
  if (siphon__cfg_object(c, sec, "siphon", "output", &out) <= 0) {
    return;
  }
  siphon__cfg_unknown_keys(c, out, "siphon.output", output_keys);
  size_t type = 0;
  int type_rc = siphon__cfg_choice(c, out, "siphon.output", "type", output_types, &type);
  if (type_rc > 0) {
    cfg->output_type = type == 1 ? SIPHON__OUTPUT_FILE : SIPHON__OUTPUT_STDOUT;
  }
  const char *path = NULL;
  int path_rc = siphon__cfg_string(c, out, "siphon.output", "path", &path);
  if (path_rc > 0 && type_rc == 0) {
    /* Records would go to stdout while the user looks for them in the
     * file. An explicit "stdout" beside a path is a switch (a ${VAR}
     * type), and keeps the path for the other setting. */
    siphon__cfg_error(c, "siphon.output.path",
                      "is only used with \"type\": \"file\"; add \"type\": \"file\" to write "
                      "records to it (without a type they go to standard output)");
  } else if (path_rc > 0) {
    cfg->output_path = resolve(cfg->dir, path);
    if (cfg->output_type == SIPHON__OUTPUT_FILE) {
      check_dir_of(c, "siphon.output.path", cfg->output_path);
      if (is_the_config(cfg, cfg->output_path)) {
        siphon__cfg_error(c, "siphon.output.path",
                          "%s is the config file itself: records would be appended to it",
                          cfg->output_path);
      }
    }
  } else if (path_rc == 0 && type_rc > 0 && cfg->output_type == SIPHON__OUTPUT_FILE) {
    siphon__cfg_error(c, "siphon.output",
                      "missing required key \"path\": type \"file\" needs the file to append to");
  }
}

static void check_siphon(siphon__cfgctx *c, const json_t *root, siphon__config *cfg) {
  json_t *sec = NULL;
  if (siphon__cfg_object(c, root, "", "siphon", &sec) <= 0) {
    return;
  }
  siphon__cfg_unknown_keys(c, sec, "siphon", siphon_keys);

  long long threads;
  if (siphon__cfg_int(c, sec, "siphon", "threads", 1, MAX_THREADS, &threads) > 0) {
    cfg->threads = (unsigned)threads;
  }
  size_t level;
  /* "warning" (Fluent Bit's word, which --log-level takes too) is warn. */
  const json_t *lv = json_object_get(sec, "log_level");
  if (json_is_string(lv) && strcmp(json_string_value(lv), "warning") == 0) {
    cfg->log_level = SIPHON_LOG_WARN;
  } else if (siphon__cfg_choice(c, sec, "siphon", "log_level", log_levels, &level) > 0) {
    cfg->log_level = (int)level;
  }
  check_plugin_path(c, sec, cfg);
  check_output(c, sec, cfg);
  json_decref(cfg->tags);
  cfg->tags = siphon__cfg_tags(c, sec, "siphon");
  size_t format = 0;
  if (siphon__cfg_choice(c, sec, "siphon", "log_format", log_formats, &format) > 0) {
    cfg->log_json = format == 1;
  }
  const char *log_file;
  if (siphon__cfg_string(c, sec, "siphon", "log_file", &log_file) > 0 && !c->opts->log_file_given) {
    char *where = siphon__asprintf("%s: siphon.log_file", c->file);
    char *resolved = resolve(cfg->dir, log_file);
    siphon__config_set_log_file(cfg, resolved, where, c->d);
    free(resolved);
    free(where);
  }

  uint64_t bytes;
  if (siphon__cfg_size(c, sec, "siphon", "buffer_limit", &bytes) > 0) {
    if (bytes == 0) {
      siphon__cfg_error(c, "siphon.buffer_limit", "expected a size greater than 0, got 0");
    } else {
      cfg->buffer_max_bytes = bytes;
    }
  }
  uint64_t ms;
  if (siphon__cfg_duration(c, sec, "siphon", "shutdown_grace", &ms) > 0) {
    cfg->shutdown_grace_ms = ms;
  }
  if (siphon__cfg_duration(c, sec, "siphon", "stats_interval", &ms) > 0) {
    cfg->stats_interval_ms = ms;
  }
  if (siphon__cfg_duration(c, sec, "siphon", "release_memory_after", &ms) > 0) {
    cfg->release_memory_after_ms = ms;
  }
  const char *dir;
  if (siphon__cfg_string(c, sec, "siphon", "state_dir", &dir) > 0) {
    free(cfg->state_dir);
    cfg->state_dir = resolve(cfg->dir, dir);
  }
  json_t *share = json_object_get(sec, "max_pool_share");
  if (share != NULL && !siphon__cfg_is_bad(c, share)) {
    const char *expected = "a number greater than 0 and at most 1, such as 0.5";
    if (!json_is_number(share)) {
      char *got = siphon__json_show(share);
      siphon__cfg_error(c, "siphon.max_pool_share", "expected %s, got %s", expected, got);
      free(got);
    } else if (!(json_number_value(share) > 0 && json_number_value(share) <= 1)) {
      char *got = siphon__json_value_text(share);
      siphon__cfg_error(c, "siphon.max_pool_share", "expected %s, got %s", expected, got);
      free(got);
    } else {
      cfg->max_pool_share = json_number_value(share);
    }
  }
}

static void set_defaults(siphon__config *cfg, const char *name) {
  cfg->path = siphon__xstrdup(name);
  cfg->dir = dir_of(name);
  cfg->log_level = SIPHON_LOG_INFO;
  cfg->output_type = SIPHON__OUTPUT_STDOUT;
  cfg->buffer_max_bytes = DEFAULT_BUFFER_BYTES;
  cfg->shutdown_grace_ms = DEFAULT_SHUTDOWN_GRACE_MS;
  cfg->release_memory_after_ms = DEFAULT_RELEASE_MEMORY_AFTER_MS;
  cfg->state_dir = resolve(cfg->dir, DEFAULT_STATE_DIR);
}

/* Checks a parsed tree; `root` is modified by substitution. */
static int load_tree(json_t *root, const siphon__config_opts *opts, siphon__config *cfg,
                     siphon__diag *d) {
  static const siphon__config_opts no_opts;
  size_t errors_before = d->count;
  siphon__cfgctx c;
  memset(&c, 0, sizeof(c));
  c.file = cfg->path;
  c.d = d;
  c.warn = &cfg->warnings;
  c.opts = opts != NULL ? opts : &no_opts;
  if (!json_is_object(root)) {
    char *got = siphon__json_show(root);
    siphon__cfg_error(
        &c, NULL, "expected an object such as {\"sources\": [...]} at the top level, got %s", got);
    free(got);
    return -EINVAL;
  }
  siphon__cfg_unknown_keys(&c, root, "", top_keys);
  /* Substituted section by section, so that errors come in file order. */
  json_t *sec = json_object_get(root, "siphon");
  if (sec != NULL) {
    siphon__cfg_substitute(&c, sec, "siphon");
  }
  check_siphon(&c, root, cfg);
  siphon__cfg_sources(&c, root, cfg);
  free(c.bad);
  return d->count > errors_before ? -EINVAL : 0;
}

/* The line and column (from 1, in characters) of byte `at` of text. */
static void line_column(const char *text, size_t at, int *line, int *column) {
  *line = 1;
  *column = 1;
  for (size_t k = 0; k < at; k++) {
    if (text[k] == '\n') {
      (*line)++;
      *column = 1;
    } else if (((unsigned char)text[k] & 0xC0) != 0x80) { /* not a UTF-8 continuation */
      (*column)++;
    }
  }
}

/* jansson reports a trailing comma as the closing bracket after it
 * ("unexpected token near ']'"), past the mistake. The commonest slip in
 * a hand-edited config deserves its own words, at the comma itself.
 * Returns 1 and fills line/column (from 1, in characters) when the token
 * that failed is a ']' or '}' with only blanks between it and a comma. */
static int trailing_comma(const char *text, size_t len, size_t position, int *line, int *column,
                          char *closer) {
  if (position == 0 || position > len) {
    return 0;
  }
  char c = text[position - 1];
  if (c != ']' && c != '}') {
    return 0;
  }
  size_t i = position - 1;
  while (i > 0 && strchr(" \t\r\n", text[i - 1]) != NULL) {
    i--;
  }
  if (i == 0 || text[i - 1] != ',') {
    return 0;
  }
  size_t comma = i - 1;
  /* The comma must be JSON's, not a string's: walk the text up to it. */
  int in_string = 0;
  for (size_t k = 0; k < comma; k++) {
    if (in_string && text[k] == '\\') {
      k++; /* an escaped character, a quote among them */
    } else if (text[k] == '"') {
      in_string = !in_string;
    }
  }
  if (in_string) {
    return 0;
  }
  line_column(text, comma, line, column);
  *closer = c;
  return 1;
}

/* The text holds nothing but white space (it need not end in a NUL). */
static int only_blanks(const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (strchr(" \t\r\n", text[i]) == NULL || text[i] == '\0') {
      return 0;
    }
  }
  return 1;
}

/* What jansson's words for the commonest slips in a hand-edited file
 * mean: a comment from another format, a comma left out, a string
 * without its quotes. `at` is where jansson stopped reading. */
static const char *syntax_hint(const char *text, size_t len, size_t at, const char *msg) {
  /* The token jansson names ("near '...'"); only a token that starts
   * with '/' or '#' can be a comment (not a '#' inside a string). */
  const char *near = strstr(msg, "near '");
  char first = near != NULL ? near[6] : '\0';
  size_t tok = at > 0 ? at - 1 : 0; /* jansson stops just past its first byte */
  char next = tok + 1 < len ? text[tok + 1] : '\0';
  if ((first == '/' && tok < len && text[tok] == '/' && (next == '/' || next == '*')) ||
      first == '#') {
    return ": JSON has no comments; remove it";
  }
  if ((strncmp(msg, "']' expected near", 17) == 0 || strncmp(msg, "'}' expected near", 17) == 0) &&
      strstr(msg, "end of file") == NULL) {
    /* Only when what follows starts a value or a key: "10s" is a string
     * without quotes, "[1, 2}" a bracket that closes the wrong thing. */
    if (first == '"' || first == '{' || first == '[' || first == '-' ||
        (first >= '0' && first <= '9')) {
      return ": is a ',' missing before it?";
    }
  }
  if (strncmp(msg, "end of file expected", 20) != 0 &&
      ((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '/')) {
    return ": a string needs double quotes (true, false and null are JSON's only bare words)";
  }
  return "";
}

char *siphon__json_syntax_error(const char *text, size_t len, const json_error_t *jerr, int *line,
                                int *column) {
  char closer;
  if (trailing_comma(text, len, (size_t)jerr->position, line, column, &closer)) {
    return siphon__asprintf("trailing comma before '%c': JSON allows none after the last %s",
                            closer, closer == ']' ? "element of an array" : "member of an object");
  }
  *line = jerr->line;
  *column = jerr->column;
  /* jansson's position is past the token it names ("near '\"plugin\"'"):
   * point at the token's start, where the reader looks. */
  const char *near = strstr(jerr->text, "near '");
  const char *near_end = near != NULL ? strrchr(near + 6, '\'') : NULL;
  size_t pos = (size_t)jerr->position;
  if (*line > 0 && *column >= 1 && near_end != NULL) {
    size_t tok_len = (size_t)(near_end - (near + 6));
    if (tok_len > 0 && tok_len <= pos && pos <= len &&
        memcmp(text + pos - tok_len, near + 6, tok_len) == 0) {
      line_column(text, pos - tok_len, line, column);
    }
  }
  if (*line > 0 && *column < 1) {
    /* jansson's end of file is column 0 of the line after the last
     * newline; columns count from 1. Point just past the last character
     * that is not white space, where the missing text would go. */
    size_t end = len;
    while (end > 0 && strchr(" \t\r\n", text[end - 1]) != NULL) {
      end--;
    }
    line_column(text, end, line, column);
  }
  return siphon__asprintf("%s%s", jerr->text,
                          syntax_hint(text, len, (size_t)jerr->position, jerr->text));
}

static int parse_and_load(const char *text, size_t len, const siphon__config_opts *opts,
                          siphon__config *cfg, siphon__diag *d) {
  /* Some Windows editors start UTF-8 files with a byte order mark. */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    text += 3;
    len -= 3;
  }
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL && only_blanks(text, len)) {
    siphon__diag_add(d, cfg->path,
                     "the file is empty: expected a JSON object such as "
                     "{\"sources\": [...]}");
    return -EINVAL;
  }
  if (root == NULL) {
    int line, column;
    char *msg = siphon__json_syntax_error(text, len, &jerr, &line, &column);
    char *where = line > 0 ? siphon__asprintf("%s:%d:%d", cfg->path, line, column)
                           : siphon__xstrdup(cfg->path);
    siphon__diag_add(d, where, "%s", msg);
    free(where);
    free(msg);
    return -EINVAL;
  }
  int rc = load_tree(root, opts, cfg, d);
  json_decref(root);
  return rc;
}

/* The whole file, or NULL with errno set. */
static char *read_all(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  size_t cap = 8192;
  size_t len = 0;
  char *buf = siphon__xmalloc(cap);
  for (;;) {
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      break;
    }
    if (len == cap) {
      cap *= 2;
      buf = siphon__xrealloc(buf, cap);
    }
  }
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if (err != 0) {
    free(buf);
    errno = err;
    return NULL;
  }
  *len_out = len;
  return buf;
}

int siphon__config_load_file(const char *path, siphon__config *out, siphon__diag *d) {
  return siphon__config_load_file_opts(path, NULL, out, d);
}

int siphon__config_load_file_opts(const char *path, const siphon__config_opts *opts,
                                  siphon__config *out, siphon__diag *d) {
  memset(out, 0, sizeof(*out));
  set_defaults(out, path);
  size_t len = 0;
  char *text = read_all(path, &len);
  if (text == NULL) {
    siphon__diag_add(d, path, "cannot read: %s", strerror(errno != 0 ? errno : EIO));
    return -EINVAL;
  }
  int rc = parse_and_load(text, len, opts, out, d);
  free(text);
  return rc;
}

int siphon__config_load_string(const char *text, const char *name, siphon__config *out,
                               siphon__diag *d) {
  memset(out, 0, sizeof(*out));
  set_defaults(out, name);
  /* Not a file: relative paths are relative to the working directory. */
  free(out->dir);
  out->dir = siphon__xstrdup(".");
  free(out->state_dir);
  out->state_dir = siphon__xstrdup(DEFAULT_STATE_DIR);
  return parse_and_load(text, strlen(text), NULL, out, d);
}

const char *const *siphon__config_keys(const char *section) {
  if (strcmp(section, "") == 0) {
    return top_keys;
  }
  if (strcmp(section, "siphon") == 0) {
    return siphon_keys;
  }
  if (strcmp(section, "siphon.output") == 0) {
    return output_keys;
  }
  if (strcmp(section, "sources[]") == 0) {
    return siphon__source_keys;
  }
  return NULL;
}

void siphon__config_free(siphon__config *c) {
  if (c == NULL) {
    return;
  }
  free(c->path);
  free(c->dir);
  for (size_t i = 0; i < c->plugin_path_count; i++) {
    free(c->plugin_path[i]);
  }
  free(c->plugin_path);
  free(c->output_path);
  free(c->log_file);
  free(c->state_dir);
  json_decref(c->tags);
  siphon__source_confs_free(c->sources, c->source_count);
  siphon__source_confs_free(c->disabled, c->disabled_count);
  siphon__diag_free(&c->warnings);
  memset(c, 0, sizeof(*c));
}
