/* Splits a byte stream into lines. Pure: no I/O, no libuv, so that every
 * split position can be unit-tested.
 *
 * A line ends at '\n'; a '\r' just before it is removed. Empty lines are
 * skipped. A line longer than `max` bytes (not counting its "\r\n" or
 * "\n") is dropped whole and counted, and the stream resynchronises at the
 * next '\n': the framer never holds more than max + 1 bytes. */
#ifndef SIPHON_SOCKET_FRAMING_H
#define SIPHON_SOCKET_FRAMING_H

#include <stddef.h>
#include <stdint.h>

/* Called for each complete line; `line` is valid during the call only. */
typedef void (*sock_line_fn)(void *arg, const char *line, size_t len);

typedef struct sock_framer {
  char *buf;        /* the start of a line whose end has not arrived yet */
  size_t len, cap;  /* bytes in buf, its size */
  size_t max;       /* the longest line passed on */
  int skipping;     /* inside an over-long line: discard up to the next '\n' */
  uint64_t dropped; /* over-long lines dropped so far */
} sock_framer;

void sock_framer_init(sock_framer *f, size_t max);

/* Feeds `n` bytes; calls fn for each line they complete. Returns 0, or
 * -ENOMEM when a partial line could not be kept (it is then dropped and
 * counted, as an over-long one). */
int sock_framer_feed(sock_framer *f, const char *data, size_t n, sock_line_fn fn, void *arg);

/* The stream ended: passes on a last line that had no '\n' (unless it was
 * over the limit) and resets the framer for reuse. */
void sock_framer_finish(sock_framer *f, sock_line_fn fn, void *arg);

/* Bytes of a partial line held now. */
size_t sock_framer_pending(const sock_framer *f);

void sock_framer_free(sock_framer *f);

#endif
