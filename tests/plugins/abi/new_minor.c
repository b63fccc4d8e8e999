/* A plugin from a future 1.x: its descriptor has a field this host does
 * not know yet, appended at the end as the versioning rules require. The
 * host must load it and ignore the tail. */
#define ABI_TEXT "1.9"
#include "common.h"

/* A flag a 1.9 header would define: a 1.1 host ignores it, as a minor
 * release promises, rather than refuse the table. */
static const siphon_option future_options[] = {
    {"label", SIPHON_OPT_STRING, 0x4u, "\"x\"", NULL, "an option with a 1.9 flag"},
    {NULL, 0, 0, NULL, NULL, NULL}};

typedef struct desc_1_9 {
  siphon_plugin_desc known;
  const char *from_the_future; /* a 1.9 field */
} desc_1_9;

SIPHON_PLUGIN_EXPORT const desc_1_9 siphon_plugin = {
    .known =
        {
            .abi_version = (1u << 16) | 9u,
            .struct_size = sizeof(desc_1_9),
            .name = "new_minor",
            .version = "2.0.0",
            .description = "test: built against a newer plugin ABI 1.9",
            .capability = SIPHON_CAP_ASYNC,
            .kind = SIPHON_KIND_POLLED,
            .options = future_options,
            .create = abi_create,
            .collect = abi_collect,
            .destroy = abi_destroy,
        },
    .from_the_future = "ignored",
};
