/* Turns one line into a record's `data`. */
#ifndef SIPHON_SOCKET_VALUE_H
#define SIPHON_SOCKET_VALUE_H

#include <stddef.h>

#include <jansson.h>

typedef enum sock_framing { SOCK_FRAMING_LINES = 1, SOCK_FRAMING_JSON = 2 } sock_framing;

/* lines: a JSON string; bytes that are not valid UTF-8 become U+FFFD so
 * that binary garbage still yields a record. Returns NULL only when out
 * of memory. */
json_t *sock_value_string(const char *line, size_t len);

/* json: the JSON value the line holds, or NULL when it holds none (the
 * reason is left in err). A line with an integer that does not fit
 * json_int_t is parsed again with JSON_DECODE_INT_AS_REAL: it is kept,
 * every integer in it a real. */
json_t *sock_value_json(const char *line, size_t len, json_error_t *err);

/* Length of the valid UTF-8 sequence at s (1 to 4 bytes), or 0 if none
 * starts there. Rejects overlongs, surrogates and code points above
 * U+10FFFF, as jansson does. */
size_t sock_utf8_seq(const unsigned char *s, size_t n);

#endif
