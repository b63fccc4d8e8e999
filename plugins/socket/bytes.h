/* Byte-string search (memmem is a GNU extension the build does not
 * enable). */
#ifndef SIPHON_SOCKET_BYTES_H
#define SIPHON_SOCKET_BYTES_H

#include <stddef.h>
#include <string.h>

/* Offset of the first `needle` in `hay`, or (size_t)-1. */
static inline size_t sock_find(const char *hay, size_t n, const char *needle, size_t m) {
  if (m == 0) {
    return 0;
  }
  for (size_t i = 0; i + m <= n;) {
    const char *p = memchr(hay + i, needle[0], n - i - m + 1);
    if (p == NULL) {
      return (size_t)-1;
    }
    i = (size_t)(p - hay);
    if (memcmp(p, needle, m) == 0) {
      return i;
    }
    i++;
  }
  return (size_t)-1;
}

#endif
