/* Formatting of record lines. */
#ifndef SIPHON_CORE_RECORD_H
#define SIPHON_CORE_RECORD_H

#include <stddef.h>

#include <jansson.h>

#include "output.h"

#define SIPHON__TS_LEN 25 /* "2026-11-24T19:27:03.123Z" + NUL */

/* The current UTC time with milliseconds. Any thread. */
void siphon__record_timestamp(char out[SIPHON__TS_LEN]);

#define SIPHON__REAL_LEN 40

/* Writes a JSON number for v: the shortest of 15, 16 or 17 significant
 * digits that reads back as v, with ".0" when that looks like an integer,
 * so it stays a real when read back. Returns its length, 0 when v is not
 * finite. out is NUL-terminated. */
size_t siphon__record_real(double v, char out[SIPHON__REAL_LEN]);

/* The members every record of a source shares, serialized once:
 * "source":..,"plugin":..,"tags":{..}. Returns a new string. */
char *siphon__record_prefix(const char *source, const char *plugin, const json_t *tags,
                            size_t *len_out);

/* Formats one line and queues it. Steals data and meta. ts may be NULL
 * (now). Returns what siphon__output_write returns. */
int siphon__record_format_write(siphon__output *out, const char *prefix, size_t prefix_len,
                                const char *ts, json_t *data, json_t *meta);

#endif
