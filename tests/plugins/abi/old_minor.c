/* A plugin built against the 1.0 header, before 1.1 appended `example`.
 * The 1.0 header is gone, so its descriptor is spelled out here as it was:
 * the fields of siphon_plugin_desc up to `destroy`, no more. The host must
 * load it, read only those fields and treat `example` as absent. */
#include <assert.h>
#include <stddef.h>

#define ABI_TEXT "1.0"
#include "common.h"

typedef struct desc_1_0 {
  uint32_t abi_version;
  uint32_t struct_size;
  const char *name;
  const char *version;
  const char *description;
  siphon_capability capability;
  siphon_kind kind;
  const siphon_option *options;
  int (*plugin_init)(const siphon_host_api *, uv_loop_t *, void **, siphon_error *);
  void (*plugin_fini)(void *);
  int (*create)(const siphon_host_api *, siphon_source *, const json_t *, void **, siphon_error *);
  int (*collect)(void *, siphon_round *);
  int (*collect_blocking)(void *, siphon_round *, siphon_error *);
  void (*cancel)(void *, siphon_round *);
  int (*start)(void *, siphon_error *);
  void (*stop)(void *);
  void (*pause)(void *);
  void (*resume)(void *);
  void (*destroy)(void *);
} desc_1_0;

/* If 1.1 had changed anything but the tail, this plugin would be lying. */
static_assert(sizeof(desc_1_0) == SIPHON_PLUGIN_DESC_MIN_SIZE, "1.0 is a prefix of 1.1");
static_assert(offsetof(desc_1_0, destroy) == offsetof(siphon_plugin_desc, destroy),
              "1.0 fields keep their place");

static const siphon_option old_options[] = {
    {"unused", SIPHON_OPT_INT, 0, "0", NULL, "an option, so the table is read"},
    {NULL, 0, 0, NULL, NULL, NULL}};

SIPHON_PLUGIN_EXPORT const desc_1_0 siphon_plugin = {
    .abi_version = (1u << 16) | 0u,
    .struct_size = sizeof(desc_1_0),
    .name = "old_minor",
    .version = "0.9.0",
    .description = "test: built against plugin ABI 1.0",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .options = old_options,
    .create = abi_create,
    .collect = abi_collect,
    .destroy = abi_destroy,
};
