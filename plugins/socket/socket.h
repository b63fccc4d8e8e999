/* The socket plugin's per-source state, shared by its three modes. */
#ifndef SIPHON_SOCKET_SOCKET_H
#define SIPHON_SOCKET_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "siphon/plugin.h"
#include "value.h"

typedef enum sock_mode { SOCK_LISTEN = 1, SOCK_PROBE = 2, SOCK_REQUEST = 3 } sock_mode;

/* A sender's mistake that repeats (a line that is not JSON, one over
 * max_line_bytes) is logged at warn this many times, then at debug: it
 * shows without flooding the log. */
#define SOCK_WARN_FIRST 10

struct sock_listener;
struct sock_session;

typedef struct sock_instance {
  const siphon_host_api *api;
  siphon_source *src;
  uv_loop_t *loop;

  sock_mode mode;
  sock_addr addr;
  char *address; /* as written, for records and logs */
  sock_framing framing;
  size_t max_line_bytes;
  size_t max_connections;
  uint64_t idle_timeout_ms; /* 0: never */
  uint64_t stats_interval_ms;
  char *send; /* NULL: send nothing */
  size_t send_len;
  char *expect; /* probe: NULL for none */
  char *until;  /* request: NULL to read until the peer closes */
  size_t max_reply_bytes;
  /* request: replies whose bad lines were logged so far, for
   * SOCK_WARN_FIRST. */
  uint64_t invalid_said, dropped_said;

  struct sock_listener *listener;    /* listen mode, between start and destroy */
  struct sock_instance *next_listen; /* plugin.c's list of listen-mode instances */
  struct sock_session *session;      /* probe/request: the round in flight */
  siphon_round *round;
} sock_instance;

#endif
