/* "Did you mean": the known key nearest to a mistyped one. Keys are short,
 * so a plain O(n*m) optimal-string-alignment distance is plenty. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define SUGGEST_MAX_LEN 64

static size_t min3(size_t a, size_t b, size_t c) {
  size_t m = a < b ? a : b;
  return m < c ? m : c;
}

/* Case-insensitive, with adjacent transpositions counting once: the typos
 * people make in config keys ("intreval", "Timeout"). */
static size_t distance(const char *a, const char *b) {
  size_t n = strlen(a);
  size_t m = strlen(b);
  size_t rows[3][SUGGEST_MAX_LEN + 1];
  size_t *prev2 = rows[0];
  size_t *prev = rows[1];
  size_t *cur = rows[2];
  for (size_t j = 0; j <= m; j++) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= n; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= m; j++) {
      int ca = tolower((unsigned char)a[i - 1]);
      int cb = tolower((unsigned char)b[j - 1]);
      size_t cost = ca == cb ? 0 : 1;
      cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < cur[j]) {
        cur[j] = prev2[j - 2] + 1;
      }
    }
    size_t *t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[m];
}

const char *siphon__suggest(const char *key, const char *const *known) {
  if (key == NULL || known == NULL) {
    return NULL;
  }
  size_t klen = strlen(key);
  if (klen == 0 || klen > SUGGEST_MAX_LEN) {
    return NULL;
  }
  /* One edit for short keys, about a third of the letters for long ones. */
  size_t limit = klen / 3 > 1 ? klen / 3 : 1;
  const char *best = NULL;
  size_t best_d = limit + 1;
  for (size_t i = 0; known[i] != NULL; i++) {
    if (strlen(known[i]) > SUGGEST_MAX_LEN) {
      continue;
    }
    size_t d = distance(key, known[i]);
    if (d < best_d && d < strlen(known[i])) {
      best = known[i];
      best_d = d;
    }
  }
  if (best != NULL) {
    return best;
  }
  /* A shortened or lengthened word ("time" for "timeout", "warning" for
   * "warn") is far by edit distance but an obvious intent. */
  for (size_t i = 0; known[i] != NULL; i++) {
    size_t n = strlen(known[i]);
    size_t shorter = n < klen ? n : klen;
    if (shorter >= 3 && strncasecmp(key, known[i], shorter) == 0) {
      return known[i];
    }
  }
  return NULL;
}
