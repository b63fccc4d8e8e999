/* Helpers shared by the SDK tests: reading record lines and running shell
 * commands the way a plugin author types them. */
#ifndef SIPHON_TEST_SDK_UTIL_H
#define SIPHON_TEST_SDK_UTIL_H

#include <jansson.h>

#include "proc.h"

/* Parses every stdout line as JSON into a new array; fails the test on a
 * line that is not a JSON object ending in a newline. */
json_t *sdk_records(const char *out);

/* The "data" member of record i. */
json_t *sdk_data(json_t *records, size_t i);

/* Runs `sh -c cmd` with extra environment (may be NULL), bounded by
 * timeout_ms. Returns the exit status; output stays in p. */
int sdk_sh(tproc *p, const char *cmd, const char *const *env, int timeout_ms);

#endif
