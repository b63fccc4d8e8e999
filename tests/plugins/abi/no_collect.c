/* A current-ABI descriptor that passes the version checks but promises
 * an async polled plugin without collect(): refused, not crashed on.
 * Built again with NO_DESTROY, without destroy() either. */
#include "common.h"

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
#ifdef NO_DESTROY
    .name = "no_destroy",
#else
    .name = "no_collect",
#endif
    .version = "1.0.0",
    .description = "test: async polled without collect",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .create = abi_create,
#ifdef NO_DESTROY
    .destroy = NULL,
    .stop = abi_destroy, /* used, so that -Werror does not refuse it unused */
#else
    .destroy = abi_destroy,
#endif
};
