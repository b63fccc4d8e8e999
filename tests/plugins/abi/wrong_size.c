/* A descriptor that says ABI 1.1 but claims a size 1.1's is not: a
 * hand-written struct_size. The host must refuse it, not trust it. */
#include "common.h"

#ifndef WRONG_SIZE
#define WRONG_SIZE 4096
#endif
#ifndef PLUGIN_NAME
#define PLUGIN_NAME "wrong_size"
#endif

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = WRONG_SIZE,
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .description = "test: struct_size not sizeof(siphon_plugin_desc)",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .create = abi_create,
    .collect = abi_collect,
    .destroy = abi_destroy,
};
