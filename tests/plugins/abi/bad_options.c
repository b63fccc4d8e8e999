/* A descriptor that passes every other check but whose options table is
 * wrong, one fault per build (BAD_TABLE): the loader refuses it, where
 * before the fault showed only when a source used the option, as the
 * user's error. */
#include "common.h"

#ifndef BAD_TABLE
#define BAD_TABLE 1
#endif

static const siphon_option bad_options[] = {
    {"path", SIPHON_OPT_STRING, 0, NULL, NULL, "a path"},
#if BAD_TABLE == 1
    {"path", SIPHON_OPT_STRING, 0, NULL, NULL, "the same key twice"},
#elif BAD_TABLE == 2
    {"mode", (siphon_opt_type)99, 0, NULL, NULL, "a type that does not exist"},
#elif BAD_TABLE == 3
    {"min_bytes", SIPHON_OPT_SIZE, 0, "one", NULL, "a default that is not JSON"},
#elif BAD_TABLE == 4
    {"every", SIPHON_OPT_DURATION, 0, "\"soon\"", NULL, "a default that is no duration"},
#elif BAD_TABLE == 5
    {"level", SIPHON_OPT_INT, 0, NULL, "low|high", "choices on a type they cannot check"},
#else
    {"mode", SIPHON_OPT_STRING, 0, NULL, "fast||slow", "an empty choice"},
#endif
    {NULL, 0, 0, NULL, NULL, NULL}};

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .description = "test: an options table with a fault",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .options = bad_options,
    .create = abi_create,
    .collect = abi_collect,
    .destroy = abi_destroy,
};
