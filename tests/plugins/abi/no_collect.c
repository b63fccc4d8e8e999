/* A current-ABI descriptor that passes the version checks but promises
 * an async polled plugin without collect(): refused, not crashed on. */
#include "common.h"

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "no_collect",
    .version = "1.0.0",
    .description = "test: async polled without collect",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .create = abi_create,
    .destroy = abi_destroy,
};
