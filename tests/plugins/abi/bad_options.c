/* A descriptor that passes every other check but one, a fault per build
 * (BAD_TABLE): its options table (1-7; 11 has two slips), its example or a
 * callback the host never calls (8-10). The loader refuses it, where before the fault
 * showed only when a source used the option, as the user's error, or not
 * at all. */
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
#elif BAD_TABLE == 6
    {"mode", SIPHON_OPT_STRING, 0, NULL, "fast||slow", "an empty choice"},
#elif BAD_TABLE == 7
    {"port", SIPHON_OPT_INT, SIPHON_OPT_REQUIRED, "80", NULL, "required, with a default"},
#elif BAD_TABLE == 11
    {"level", SIPHON_OPT_INT, 0, NULL, "low|high", "choices on a type they cannot check"},
    {"port", SIPHON_OPT_INT, SIPHON_OPT_REQUIRED, "80", NULL, "required, with a default"},
#endif
    {NULL, 0, 0, NULL, NULL, NULL}};

/* The descriptor's other faults (8 and up): an example the table refuses
 * (8), a collect_blocking() on an async plugin (9), a cancel() on a
 * blocking one (10). */
#if BAD_TABLE == 9 || BAD_TABLE == 10
static int bad_collect_blocking(void *instance, siphon_round *round, siphon_error *err) {
  (void)instance;
  (void)round;
  (void)err;
  return 0;
}
#endif
#if BAD_TABLE == 10
static void bad_cancel(void *instance, siphon_round *round) {
  (void)instance;
  (void)round;
}
#endif

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .description = "test: an options table with a fault",
#if BAD_TABLE == 10
    .capability = SIPHON_CAP_BLOCKING,
    .collect_blocking = bad_collect_blocking,
    .cancel = bad_cancel,
#else
    .capability = SIPHON_CAP_ASYNC,
    .collect = abi_collect,
#endif
#if BAD_TABLE == 9
    .collect_blocking = bad_collect_blocking,
#endif
#if BAD_TABLE == 8
    .example = "{\"path\": \"/x\", \"zz\": 1}",
#endif
    .kind = SIPHON_KIND_POLLED,
    .options = bad_options,
    .create = abi_create,
    .destroy = abi_destroy,
};
