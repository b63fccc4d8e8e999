/* A 1.x descriptor that claims fewer bytes than ABI 1.0 had (no room for
 * destroy): a broken or hand-made plugin the host must not read past. */
#include <stddef.h>

#include "common.h"

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = offsetof(siphon_plugin_desc, destroy),
    .name = "too_small",
    .version = "1.0.0",
    .description = "test: descriptor smaller than ABI 1.0",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .create = abi_create,
    .collect = abi_collect,
    .destroy = abi_destroy,
};
