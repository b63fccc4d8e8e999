#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "options.h"
#include "util.h"

#ifndef SIPHON_PLUGIN_RELDIR
#define SIPHON_PLUGIN_RELDIR "../lib/siphon/plugins"
#endif
#ifndef SIPHON_PLUGIN_INSTALL_DIR
#define SIPHON_PLUGIN_INSTALL_DIR "/usr/local/lib/siphon/plugins"
#endif

/* "/a/b/../c/./d" as "/a/c/d", in place, for a directory that does not
 * exist (realpath() fails on it) but is still shown in messages. Only an
 * absolute path is rewritten: a relative one's ".." may climb above it. */
static void tidy_path(char *p) {
  if (p[0] != '/') {
    return;
  }
  size_t out = 0; /* p[0..out) is the result, always starting with '/' */
  const char *in = p;
  while (*in != '\0') {
    while (*in == '/') {
      in++;
    }
    const char *end = strchr(in, '/');
    size_t n = end != NULL ? (size_t)(end - in) : strlen(in);
    if (n == 0 || (n == 1 && in[0] == '.')) {
      /* nothing to add */
    } else if (n == 2 && in[0] == '.' && in[1] == '.') {
      while (out > 0 && p[out - 1] != '/') {
        out--;
      }
      if (out > 0) {
        out--; /* the '/' before the dropped part */
      }
    } else {
      p[out++] = '/';
      memmove(p + out, in, n);
      out += n;
    }
    in += n;
  }
  if (out == 0) {
    p[out++] = '/';
  }
  p[out] = '\0';
}

static void add_dir(siphon__registry *r, const char *given) {
  /* "build/../lib/siphon/plugins" reads better as what it is. */
  char real[PATH_MAX];
  const char *dir = real;
  if (realpath(given, real) == NULL) {
    snprintf(real, sizeof(real), "%s", given);
    tidy_path(real);
  }
  for (size_t i = 0; i < r->dir_count; i++) {
    if (strcmp(r->dirs[i], dir) == 0) {
      return;
    }
  }
  r->dirs = siphon__xrealloc(r->dirs, (r->dir_count + 1) * sizeof(char *));
  r->dirs[r->dir_count++] = siphon__xstrdup(dir);
}

static char *exe_dir(void) {
  char buf[PATH_MAX];
  size_t size = sizeof(buf);
  if (uv_exepath(buf, &size) != 0) {
    return NULL;
  }
  char *slash = strrchr(buf, '/');
  if (slash == NULL) {
    return NULL;
  }
  *slash = '\0';
  return siphon__xstrdup(buf);
}

void siphon__registry_init(siphon__registry *r, const char *base_dir, char *const *config_dirs,
                           size_t config_dir_count) {
  memset(r, 0, sizeof(*r));
  for (size_t i = 0; i < config_dir_count; i++) {
    if (config_dirs[i][0] == '/' || base_dir == NULL) {
      add_dir(r, config_dirs[i]);
    } else {
      char *p = siphon__asprintf("%s/%s", base_dir, config_dirs[i]);
      add_dir(r, p);
      free(p);
    }
  }
  const char *env = getenv("SIPHON_PLUGIN_PATH");
  if (env != NULL && env[0] != '\0') {
    char *copy = siphon__xstrdup(env);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save)) {
      add_dir(r, tok);
    }
    free(copy);
  }
  char *exe = exe_dir();
  if (exe != NULL) {
    /* Build tree (build/siphon + build/plugins) and a relocated install
     * (bin/siphon + lib/siphon/plugins). */
    char *p = siphon__asprintf("%s/plugins", exe);
    add_dir(r, p);
    free(p);
    p = siphon__asprintf("%s/" SIPHON_PLUGIN_RELDIR, exe);
    add_dir(r, p);
    free(p);
    free(exe);
  }
  add_dir(r, SIPHON_PLUGIN_INSTALL_DIR);
}

void siphon__registry_free(siphon__registry *r) {
  siphon__plugin *p = r->head;
  while (p != NULL) {
    siphon__plugin *next = p->next;
    uv_dlclose(&p->lib);
    free(p->name);
    free(p->path);
    free(p);
    p = next;
  }
  for (size_t i = 0; i < r->dir_count; i++) {
    free(r->dirs[i]);
  }
  free(r->dirs);
  memset(r, 0, sizeof(*r));
}

const char *siphon__capability_name(siphon_capability c) {
  switch (c) {
    case SIPHON_CAP_ASYNC:
      return "async";
    case SIPHON_CAP_BLOCKING:
      return "blocking";
  }
  return "unknown";
}

const char *siphon__kind_name(siphon_kind k) {
  switch (k) {
    case SIPHON_KIND_POLLED:
      return "polled";
    case SIPHON_KIND_STREAMING:
      return "streaming";
  }
  return "unknown";
}

int siphon__plugin_ref_is_path(const char *ref) {
  size_t n = strlen(ref);
  return strchr(ref, '/') != NULL || (n > 3 && strcmp(ref + n - 3, ".so") == 0);
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int valid_name(const char *s) {
  if (s == NULL || *s == '\0') {
    return 0;
  }
  for (; *s != '\0'; s++) {
    int ok = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-';
    if (!ok) {
      return 0;
    }
  }
  return 1;
}

/* The descriptor's size in each minor this host knows: 1.0 ended at
 * destroy, 1.1 appended example. A minor bump must add its size here. */
_Static_assert(SIPHON_ABI_MINOR == 1, "add the new minor's descriptor size to desc_size()");
static size_t desc_size(uint32_t minor) {
  return minor == 0 ? SIPHON_PLUGIN_DESC_MIN_SIZE : sizeof(siphon_plugin_desc);
}

/* What every descriptor error ends with: the two fields it is about are
 * the ones SIPHON_PLUGIN_DEFINE's example sets, and hand-written values
 * are the usual cause. */
#define SET_BY_THE_HEADER                                                                    \
  "set .abi_version = SIPHON_ABI_VERSION and .struct_size = sizeof(siphon_plugin_desc), as " \
  "docs/PLUGINS.md shows, and rebuild the plugin against siphon/plugin.h"

/* Checks what the descriptor promises before the host relies on it.
 * Returns NULL when fine, else a description of the fault: static, or
 * written into buf. */
static const char *check_desc(const siphon_plugin_desc *d, uint32_t minor, char *buf, size_t size) {
  if (d->name == NULL || d->name[0] == '\0') {
    return "its name is missing (the descriptor's .name, what configs say in \"plugin\")";
  }
  if (!valid_name(d->name)) {
    snprintf(buf, size,
             "its name \"%.64s\" is not made of [a-z0-9_-] (lower case, digits, '_', '-')",
             d->name);
    return buf;
  }
  if (d->capability != SIPHON_CAP_ASYNC && d->capability != SIPHON_CAP_BLOCKING) {
    return "its capability is neither SIPHON_CAP_ASYNC nor SIPHON_CAP_BLOCKING";
  }
  if (d->kind != SIPHON_KIND_POLLED && d->kind != SIPHON_KIND_STREAMING) {
    return "its kind is neither SIPHON_KIND_POLLED nor SIPHON_KIND_STREAMING";
  }
  if (d->create == NULL && d->destroy == NULL) {
    return "it lacks create() and destroy()";
  }
  if (d->create == NULL) {
    return "it lacks create()";
  }
  if (d->destroy == NULL) {
    return "it lacks destroy()";
  }
  if (d->kind == SIPHON_KIND_STREAMING) {
    if (d->capability != SIPHON_CAP_ASYNC) {
      return "a streaming plugin must be async";
    }
    if (d->start == NULL || d->stop == NULL) {
      return "a streaming plugin needs start() and stop()";
    }
  } else if (d->capability == SIPHON_CAP_ASYNC && d->collect == NULL) {
    return "an async polled plugin needs collect()";
  } else if (d->capability == SIPHON_CAP_BLOCKING && d->collect_blocking == NULL) {
    return "a blocking plugin needs collect_blocking()";
  }
  if ((d->start == NULL) != (d->stop == NULL)) {
    return "start() and stop() go together";
  }
  char *table = siphon__options_table_fault(d->options, minor > SIPHON_ABI_MINOR);
  if (table != NULL) {
    snprintf(buf, size, "its options table: %s", table);
    free(table);
    return buf;
  }
  return NULL;
}

/* What a descriptor gets wrong that the host can run with: a callback it
 * never calls, a slip in the options table or the example. Warned of,
 * not refused: such a plugin loaded before these checks, and must still
 * load after an upgrade. NULL when there is nothing; else static, or
 * written into buf. */
static const char *desc_advice(const siphon_plugin_desc *d, uint32_t minor, char *buf,
                               size_t size) {
  if (d->capability == SIPHON_CAP_BLOCKING && d->cancel != NULL) {
    return "a blocking plugin's cancel() is never called (its round sees round_cancelled() "
           "instead)";
  }
  if (d->capability == SIPHON_CAP_BLOCKING && d->collect != NULL) {
    return "a blocking plugin has collect_blocking(), and its collect() is never called";
  }
  if (d->capability == SIPHON_CAP_ASYNC && d->collect_blocking != NULL) {
    return "an async plugin has collect(), and its collect_blocking() is never called";
  }
  if (minor > SIPHON_ABI_MINOR) {
    return NULL; /* a newer ABI may mean more by its table */
  }
  char *table = siphon__options_table_advice(d->options);
  if (table != NULL) {
    snprintf(buf, size, "its options table: %s", table);
    free(table);
    return buf;
  }
  char *example = siphon__options_example_fault(d->options, d->example);
  if (example != NULL) {
    snprintf(buf, size, "its example: %s", example);
    free(example);
    return buf;
  }
  return NULL;
}

static siphon__plugin *find_loaded(siphon__registry *r, const char *name) {
  for (siphon__plugin *p = r->head; p != NULL; p = p->next) {
    if (strcmp(p->name, name) == 0) {
      return p;
    }
  }
  return NULL;
}

static siphon__plugin *find_loaded_path(siphon__registry *r, const char *path) {
  for (siphon__plugin *p = r->head; p != NULL; p = p->next) {
    if (strcmp(p->path, path) == 0) {
      return p;
    }
  }
  return NULL;
}

static void misnamed(siphon__diag *d, const char *where, const char *path, const char *expect,
                     const char *name) {
  siphon__diag_add(d, where,
                   "%s: file is named '%s' but the plugin calls itself '%s': rename the file to "
                   "%s.so, or load it by its path",
                   path, expect, name, name);
}

/* Opens one file and checks it; adds to the registry on success. With
 * `expect` (the file was found as EXPECT.so), a plugin calling itself
 * otherwise is refused before it is added: a name finds only the file of
 * that name, so the registry must not hold it under another. */
static siphon__plugin *load_file(siphon__registry *r, const char *path, const char *expect,
                                 const char *where, siphon__diag *d) {
  char real[PATH_MAX];
  if (realpath(path, real) == NULL) {
    siphon__diag_add(d, where, "%s: cannot open plugin: %s", path, strerror(errno));
    return NULL;
  }
  siphon__plugin *have = find_loaded_path(r, real);
  if (have != NULL && expect != NULL && strcmp(have->name, expect) != 0) {
    /* A link to a file already loaded under its own name. */
    misnamed(d, where, path, expect, have->name);
    return NULL;
  }
  if (have != NULL) {
    return have;
  }
  /* uv_dlopen binds lazily: a plugin calling a misspelt function would
   * pass --check and kill the process at its first call. Binding every
   * symbol once up front turns that into a load error. */
  void *now = dlopen(real, RTLD_NOW | RTLD_LOCAL);
  if (now == NULL) {
    const char *why = dlerror();
    /* A shared object whose dependencies cannot be bound is one: say
     * what is missing, not that the file is no plugin. */
    if (why != NULL && strstr(why, "undefined symbol") != NULL) {
      siphon__diag_add(d, where,
                       "%s: cannot be loaded: %s (a function or variable the plugin uses is in "
                       "no library it links, nor in siphon)",
                       path, why);
    } else if (why != NULL && strstr(why, "cannot open shared object file") != NULL &&
               strstr(why, path) == NULL) {
      siphon__diag_add(d, where,
                       "%s: cannot be loaded: %s (a library the plugin links is not installed, "
                       "or not on the loader's path)",
                       path, why);
    } else {
      siphon__diag_add(d, where, "%s: not a loadable shared object: %s", path,
                       why ? why : "unknown error");
    }
    return NULL;
  }
  siphon__plugin *p = siphon__xcalloc(1, sizeof(*p));
  int opened = uv_dlopen(real, &p->lib);
  dlclose(now); /* uv_dlopen holds its own reference to the same object */
  if (opened != 0) {
    siphon__diag_add(d, where, "%s: not a loadable shared object: %s", path, uv_dlerror(&p->lib));
    uv_dlclose(&p->lib);
    free(p);
    return NULL;
  }
  void *sym = NULL;
  if (uv_dlsym(&p->lib, SIPHON_PLUGIN_SYMBOL, &sym) != 0 || sym == NULL) {
    siphon__diag_add(d, where,
                     "%s: no '%s' symbol: not a siphon plugin (define it with "
                     "SIPHON_PLUGIN_DEFINE from siphon/plugin.h)",
                     path, SIPHON_PLUGIN_SYMBOL);
    uv_dlclose(&p->lib);
    free(p);
    return NULL;
  }
  /* Only the two leading words are read before they are checked. */
  const uint32_t *head = sym;
  uint32_t abi = head[0];
  uint32_t size = head[1];
  const char *fault = NULL;
  char why[512]; /* fault's text, when check_desc writes one */
  uint32_t minor = SIPHON_ABI_MINOR_OF(abi);
  /* A known minor's descriptor has exactly its size; a newer minor's
   * only appends, so it is at least this host's. */
  size_t want = minor <= SIPHON_ABI_MINOR ? desc_size(minor) : sizeof(siphon_plugin_desc);
  int size_ok = size >= SIPHON_PLUGIN_DESC_MIN_SIZE &&
                (minor > SIPHON_ABI_MINOR ? size >= want : size == want);
  if (SIPHON_ABI_MAJOR_OF(abi) != SIPHON_ABI_MAJOR) {
    siphon__diag_add(d, where,
                     "%s: plugin built for siphon ABI %u.%u, this host speaks ABI %u.%u: rebuild "
                     "the plugin against siphon %u.x headers (siphon/plugin.h), with .abi_version "
                     "= SIPHON_ABI_VERSION",
                     path, SIPHON_ABI_MAJOR_OF(abi), minor, SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR,
                     SIPHON_ABI_MAJOR);
  } else if (size < SIPHON_PLUGIN_DESC_MIN_SIZE) {
    siphon__diag_add(d, where,
                     "%s: plugin descriptor is %u bytes, ABI %u.x needs at least %zu (plugin ABI "
                     "%u.%u, host ABI %u.%u): " SET_BY_THE_HEADER,
                     path, size, SIPHON_ABI_MAJOR, SIPHON_PLUGIN_DESC_MIN_SIZE,
                     SIPHON_ABI_MAJOR_OF(abi), minor, SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR);
  } else if (!size_ok) {
    siphon__diag_add(
        d, where, "%s: plugin descriptor is %u bytes, but ABI %u.%u's is %s%zu: " SET_BY_THE_HEADER,
        path, size, SIPHON_ABI_MAJOR, minor, minor > SIPHON_ABI_MINOR ? "at least " : "", want);
  } else {
    memcpy(&p->desc, sym, size < sizeof(p->desc) ? size : sizeof(p->desc));
    fault = check_desc(&p->desc, minor, why, sizeof(why));
    if (fault != NULL) {
      siphon__diag_add(d, where, "%s: invalid plugin descriptor: %s", path, fault);
    } else if (expect != NULL && strcmp(p->desc.name, expect) != 0) {
      misnamed(d, where, path, expect, p->desc.name);
      fault = "misnamed";
    }
  }
  if (SIPHON_ABI_MAJOR_OF(abi) != SIPHON_ABI_MAJOR || !size_ok || fault != NULL) {
    uv_dlclose(&p->lib);
    free(p);
    return NULL;
  }
  siphon__plugin *same = find_loaded(r, p->desc.name);
  if (same != NULL) {
    siphon__diag_add(d, where, "two plugins named '%s': %s and %s", p->desc.name, same->path, real);
    uv_dlclose(&p->lib);
    free(p);
    return NULL;
  }
  const char *advice = desc_advice(&p->desc, minor, why, sizeof(why));
  if (advice != NULL) {
    siphon__log(SIPHON_LOG_WARN, NULL,
                "%s: plugin %s: %s: a bug in the plugin, loaded all the same", path, p->desc.name,
                advice);
  }
  p->abi_version = abi;
  p->name = siphon__xstrdup(p->desc.name);
  p->path = siphon__xstrdup(real);
  p->next = r->head;
  r->head = p;
  return p;
}

/* The plugin file along the search path whose name is closest to `ref`,
 * for a "did you mean"; NULL if none is close. Returns a new string. */
static char *nearest_plugin(const siphon__registry *r, const char *ref) {
  char **names = NULL;
  size_t count = 0;
  for (size_t i = 0; i < r->dir_count; i++) {
    DIR *dir = opendir(r->dirs[i]);
    if (dir == NULL) {
      continue;
    }
    for (struct dirent *e = readdir(dir); e != NULL; e = readdir(dir)) {
      size_t n = strlen(e->d_name);
      if (n > 3 && strcmp(e->d_name + n - 3, ".so") == 0) {
        names = siphon__xrealloc(names, (count + 2) * sizeof(char *));
        names[count] = siphon__xstrdup(e->d_name);
        names[count][n - 3] = '\0';
        count++;
      }
    }
    closedir(dir);
  }
  char *found = NULL;
  if (count > 0) {
    names[count] = NULL;
    const char *near = siphon__suggest(ref, (const char *const *)names);
    found = near != NULL ? siphon__xstrdup(near) : NULL;
  }
  for (size_t i = 0; i < count; i++) {
    free(names[i]);
  }
  free(names);
  return found;
}

/* Whether NAME.so is in a directory of the plugin path. */
static int on_path(const siphon__registry *r, const char *name) {
  for (size_t i = 0; i < r->dir_count; i++) {
    char *path = siphon__asprintf("%s/%s.so", r->dirs[i], name);
    int found = file_exists(path);
    free(path);
    if (found) {
      return 1;
    }
  }
  return 0;
}

siphon__plugin *siphon__registry_get(siphon__registry *r, const char *ref, const char *where,
                                     siphon__diag *d) {
  if (siphon__plugin_ref_is_path(ref)) {
    if (!file_exists(ref)) {
      char *with_so = siphon__asprintf("%s.so", ref);
      const char *base = strrchr(ref, '/') != NULL ? strrchr(ref, '/') + 1 : ref;
      size_t n = strlen(base);
      char *stem = siphon__asprintf("%.*s", (int)(n > 3 ? n - 3 : 0), base);
      if (file_exists(with_so)) {
        siphon__diag_add(d, where, "plugin file '%s' not found; did you mean '%s'?", ref, with_so);
      } else if (n > 3 && strcmp(base + n - 3, ".so") == 0 && on_path(r, stem)) {
        /* "rest.so": a file name is a path; the plugin's name is not. */
        siphon__diag_add(d, where,
                         "plugin file '%s' not found; did you mean \"%s\"? (a name without "
                         ".so is looked up along the plugin path)",
                         ref, stem);
      } else {
        siphon__diag_add(d, where, "plugin file '%s' not found", ref);
      }
      free(stem);
      free(with_so);
      return NULL;
    }
    return load_file(r, ref, NULL, where, d);
  }
  /* A name finds what the search path holds, whatever the sources before
   * loaded by path: else the same config would mean other plugins in
   * another order of its sources. */
  siphon__plugin *have = find_loaded(r, ref);
  if (have != NULL && have->on_path) {
    return have;
  }
  for (size_t i = 0; i < r->dir_count; i++) {
    char *path = siphon__asprintf("%s/%s.so", r->dirs[i], ref);
    if (file_exists(path)) {
      siphon__plugin *p = load_file(r, path, ref, where, d);
      free(path);
      if (p != NULL) {
        p->on_path = 1;
      }
      return p;
    }
    free(path);
  }
  /* List where we looked, so the user can fix plugin_path: a directory
   * that is not there is most often the typo. */
  size_t len = 1;
  for (size_t i = 0; i < r->dir_count; i++) {
    len += strlen(r->dirs[i]) + sizeof(" (no such directory)") + 2;
  }
  char *list = siphon__xcalloc(1, len);
  for (size_t i = 0; i < r->dir_count; i++) {
    if (i > 0) {
      strcat(list, ", ");
    }
    strcat(list, r->dirs[i]);
    struct stat st;
    if (stat(r->dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
      strcat(list, " (no such directory)");
    }
  }
  char *near = nearest_plugin(r, ref);
  if (have != NULL) {
    siphon__diag_add(d, where,
                     "unknown plugin \"%s\": no %s.so in %s; a plugin of that name is loaded by "
                     "its path, %s: give that path here too, or add its directory to "
                     "siphon.plugin_path",
                     ref, ref, list, have->path);
  } else if (near != NULL) {
    siphon__diag_add(d, where, "unknown plugin \"%s\"; did you mean \"%s\"? (no %s.so in %s)", ref,
                     near, ref, list);
  } else {
    /* Say where to add a directory: most often the plugin was built
     * somewhere siphon does not look yet. */
    siphon__diag_add(d, where,
                     "unknown plugin \"%s\": no %s.so in %s (add its directory to "
                     "siphon.plugin_path or SIPHON_PLUGIN_PATH, or give the .so's path)",
                     ref, ref, list);
  }
  free(near);
  free(list);
  return NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void siphon__registry_load_all(siphon__registry *r, siphon__diag *d) {
  for (size_t i = 0; i < r->dir_count; i++) {
    DIR *dir = opendir(r->dirs[i]);
    if (dir == NULL) {
      continue;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    for (e = readdir(dir); e != NULL; e = readdir(dir)) {
      size_t n = strlen(e->d_name);
      if (n > 3 && strcmp(e->d_name + n - 3, ".so") == 0) {
        names = siphon__xrealloc(names, (count + 1) * sizeof(char *));
        names[count++] = siphon__xstrdup(e->d_name);
      }
    }
    closedir(dir);
    if (count > 1) {
      qsort(names, count, sizeof(char *), cmp_str);
    }
    for (size_t j = 0; j < count; j++) {
      char *path = siphon__asprintf("%s/%s", r->dirs[i], names[j]);
      char *stem = siphon__xstrdup(names[j]);
      stem[strlen(stem) - 3] = '\0';
      siphon__plugin *have = find_loaded(r, stem);
      char real[PATH_MAX];
      if (have == NULL && realpath(path, real) != NULL && find_loaded_path(r, real) != NULL) {
        /* A link to a plugin already listed under its own name. */
        SLOG_DEBUG("%s is another name for %s", path, real);
      } else if (have == NULL) {
        /* Refused, and not listed, when it calls itself otherwise: loading
         * it by this name would fail (siphon__registry_get). */
        siphon__plugin *p = load_file(r, path, stem, NULL, d);
        if (p != NULL) {
          p->on_path = 1;
        }
      } else {
        if (realpath(path, real) != NULL && strcmp(real, have->path) != 0) {
          SLOG_DEBUG("%s is shadowed by %s", path, have->path);
        }
      }
      free(stem);
      free(path);
      free(names[j]);
    }
    free(names);
  }
}
