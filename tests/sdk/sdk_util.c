#include "sdk_util.h"

#include <criterion/criterion.h>
#include <string.h>

json_t *sdk_records(const char *out) {
  json_t *all = json_array();
  const char *s = out;
  while (*s != '\0') {
    const char *nl = strchr(s, '\n');
    cr_assert_not_null(nl, "a record line without its newline: %s", s);
    json_error_t err;
    json_t *v = json_loadb(s, (size_t)(nl - s), 0, &err);
    cr_assert(json_is_object(v), "not a JSON object: %.*s (%s)", (int)(nl - s), s, err.text);
    json_array_append_new(all, v);
    s = nl + 1;
  }
  return all;
}

json_t *sdk_data(json_t *records, size_t i) {
  return json_object_get(json_array_get(records, i), "data");
}

int sdk_sh(tproc *p, const char *cmd, const char *const *env, int timeout_ms) {
  const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
  return tproc_run(p, argv, env, timeout_ms);
}
