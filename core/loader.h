/* Finds plugin shared objects, opens them with uv_dlopen and checks their
 * descriptor (ABI version, size, callbacks) before the host uses them. */
#ifndef SIPHON_CORE_LOADER_H
#define SIPHON_CORE_LOADER_H

#include <stddef.h>

#include <uv.h>

#include "diag.h"
#include "siphon/plugin.h"

typedef struct siphon__plugin {
  char *name; /* desc.name */
  char *path; /* the file it came from */
  uv_lib_t lib;
  siphon_plugin_desc desc; /* copy; fields the plugin's ABI lacks are zero */
  uint32_t abi_version;    /* what the plugin was built with */
  void *plugin_data;       /* from plugin_init */
  int initialized;         /* plugin_init ran and succeeded */
  int init_failed;         /* plugin_init ran and failed: never again */
  int on_path;             /* found along the search path by its name */
  /* Blocking plugins: the bulkhead. */
  unsigned busy;                 /* rounds on the threadpool now */
  unsigned max_busy;             /* at most this many at once */
  struct siphon_source *waiting; /* FIFO of sources waiting for a slot */
  struct siphon_source *waiting_tail;
  struct siphon__plugin *next;
} siphon__plugin;

typedef struct siphon__registry {
  siphon__plugin *head;
  char **dirs; /* search path, in order */
  size_t dir_count;
} siphon__registry;

/* Builds the search path: config dirs (relative to base_dir), then
 * $SIPHON_PLUGIN_PATH (':'-separated), then <exe dir>/plugins,
 * <exe dir>/../lib/siphon/plugins and the compiled-in install dir. */
void siphon__registry_init(siphon__registry *r, const char *base_dir, char *const *config_dirs,
                           size_t config_dir_count);

/* Unloads every plugin (after plugin_fini) and frees the registry. */
void siphon__registry_free(siphon__registry *r);

/* Returns the plugin for `ref`, loading it on first use. `ref` is a name
 * ("rest", searched for as rest.so along the path) or a path to a file
 * (contains '/' or ends in ".so"). On failure adds one error to d, with
 * `where` as its place, and returns NULL. */
siphon__plugin *siphon__registry_get(siphon__registry *r, const char *ref, const char *where,
                                     siphon__diag *d);

/* Non-zero when `ref` names a file (has a '/' or ends in ".so"), not a
 * plugin to search for. */
int siphon__plugin_ref_is_path(const char *ref);

/* Loads every *.so along the search path (for --list-plugins); files that
 * fail are reported in d. */
void siphon__registry_load_all(siphon__registry *r, siphon__diag *d);

/* Human-readable capability and kind names. */
const char *siphon__capability_name(siphon_capability c);
const char *siphon__kind_name(siphon_kind k);

#endif
