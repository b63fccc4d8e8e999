/* Formatting of record lines. */
#ifndef SIPHON_CORE_RECORD_H
#define SIPHON_CORE_RECORD_H

#include <stddef.h>

#include <jansson.h>

#include "output.h"

#define SIPHON__TS_LEN 25 /* "2026-11-24T19:27:03.123Z" + NUL */

/* The current UTC time with milliseconds. Any thread. */
void siphon__record_timestamp(char out[SIPHON__TS_LEN]);

/* The members every record of a source shares, serialized once:
 * "source":..,"plugin":..,"tags":{..}. Returns a new string. */
char *siphon__record_prefix(const char *source, const char *plugin, const json_t *tags,
                            size_t *len_out);

/* Formats one line and queues it. Steals data and meta. ts may be NULL
 * (now). Returns what siphon__output_write returns. */
int siphon__record_format_write(siphon__output *out, const char *prefix, size_t prefix_len,
                                const char *ts, json_t *data, json_t *meta);

#endif
