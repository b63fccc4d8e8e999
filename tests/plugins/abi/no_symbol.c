/* A shared object whose descriptor is misspelt, the usual way to end up
 * without a `siphon_plugin` symbol. */
#include "common.h"

SIPHON_PLUGIN_EXPORT const siphon_plugin_desc siphon_plugn = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "no_symbol",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .create = abi_create,
    .collect = abi_collect,
    .destroy = abi_destroy,
};
