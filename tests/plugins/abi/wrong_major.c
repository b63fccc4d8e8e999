/* A plugin that claims another major ABI (WRONG_MAJOR, 2 unless told):
 * its fields may mean anything, so the host must refuse it before reading
 * past the two leading words. */
#include "common.h"

#ifndef WRONG_MAJOR
#define WRONG_MAJOR 2
#endif
#ifndef PLUGIN_NAME
#define PLUGIN_NAME "wrong_major"
#endif

SIPHON_PLUGIN_DEFINE = {
    .abi_version = ((uint32_t)WRONG_MAJOR << 16) | 0u,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .description = "test: another major ABI",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .create = abi_create,
    .collect = abi_collect,
    .destroy = abi_destroy,
};
