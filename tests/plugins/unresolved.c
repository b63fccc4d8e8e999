/* unresolved: a plugin that calls a function nobody defines (a typo in a
 * real plugin). The host must refuse it at load time, not die at the
 * first call. */
#include <errno.h>

#include "siphon/plugin.h"

void siphon_test_function_that_does_not_exist(void);

static int unresolved_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                             void **instance, siphon_error *err) {
  *instance = NULL;
  return 0;
}

static int unresolved_collect(void *instance, siphon_round *round) {
  siphon_test_function_that_does_not_exist();
  return -EIO;
}

static void unresolved_destroy(void *instance) {
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "unresolved",
    .version = "1.0.0",
    .description = "test: calls an undefined function",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .create = unresolved_create,
    .collect = unresolved_collect,
    .destroy = unresolved_destroy,
};
