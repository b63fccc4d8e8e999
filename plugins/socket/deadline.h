/* How long a probe or request may take within its source's timeout. */
#ifndef SIPHON_SOCKET_DEADLINE_H
#define SIPHON_SOCKET_DEADLINE_H

#include <stdint.h>

/* The host discards what a round emits after its timeout, so a probe must
 * give up a little earlier to still report "timeout": 5% of the timeout,
 * at least 1 ms and at most 100 ms, before it. */
static inline uint64_t sock_deadline_ms(uint64_t timeout_ms) {
  uint64_t margin = timeout_ms / 20;
  if (margin < 1) {
    margin = 1;
  }
  if (margin > 100) {
    margin = 100;
  }
  return timeout_ms > margin ? timeout_ms - margin : 1;
}

#endif
