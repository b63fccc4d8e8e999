/* One round, one record: what every loadable ABI test plugin does, so a
 * test can tell that it did not just load but ran. The record names the
 * ABI the plugin was built for. */
#ifndef SIPHON_TEST_ABI_COMMON_H
#define SIPHON_TEST_ABI_COMMON_H

#include <errno.h>
#include <stdlib.h>

#include "siphon/plugin.h"

#ifndef ABI_TEXT
#define ABI_TEXT "1.1"
#endif

typedef struct abi_instance {
  const siphon_host_api *api;
  int host_has_set_streaming;
} abi_instance;

static int abi_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                      void **instance, siphon_error *err) {
  abi_instance *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    return -ENOMEM;
  }
  a->api = api;
  a->host_has_set_streaming = SIPHON_HOST_HAS(api, set_streaming);
  *instance = a;
  return 0;
}

/* Unused by no_collect.c, which exists to lack it. */
__attribute__((unused)) static int abi_collect(void *instance, siphon_round *round) {
  abi_instance *a = instance;
  a->api->round_emit(round,
                     json_pack("{sssb}", "built_for", ABI_TEXT, "host_has_set_streaming",
                               a->host_has_set_streaming),
                     NULL);
  a->api->round_done(round, 0, NULL);
  return 0;
}

static void abi_destroy(void *instance) {
  free(instance);
}

#endif
