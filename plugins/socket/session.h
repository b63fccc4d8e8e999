/* One outgoing connection, all on the loop: resolve the name (if it is
 * not numeric), connect, send, read, under one deadline. probe and
 * request modes are built on it. */
#ifndef SIPHON_SOCKET_SESSION_H
#define SIPHON_SOCKET_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "address.h"

typedef struct sock_session sock_session;

typedef struct sock_session_ops {
  /* Connected (and, when there is something to send, sent): return 1 to
   * end the session now with status 0, 0 to go on reading. May be NULL. */
  int (*on_ready)(sock_session *s);
  /* Bytes arrived: return 1 to end the session now with status 0. */
  int (*on_data)(sock_session *s, const char *buf, size_t n);
  /* The end, called exactly once: status 0 (ended by a callback above, or
   * the peer closed: s->eof), or a negative errno: UV_ETIMEDOUT when the
   * deadline passed, UV_ECANCELED from sock_session_abort, or what the
   * resolver, connect, write or read reported. The session is freed
   * after this returns. */
  void (*on_end)(sock_session *s, int status);
} sock_session_ops;

typedef enum sock_stage {
  SOCK_STAGE_RESOLVE = 0,
  SOCK_STAGE_CONNECT = 1,
  SOCK_STAGE_SEND = 2,
  SOCK_STAGE_READ = 3
} sock_stage;

struct sock_session {
  void *data; /* the caller's */
  sock_stage stage;
  int connected;
  int eof;             /* the peer closed its side */
  uint64_t start_ns;   /* uv_hrtime() at start */
  uint64_t connect_ns; /* time to connect, once connected */
};

/* Starts a session to `addr` (tcp or unix) that ends by `deadline_ms`.
 * `send` (len bytes, may be NULL) is copied. Returns 0 and sets *out, or
 * a negative errno (then on_end is never called). */
int sock_session_start(sock_session **out, uv_loop_t *loop, const sock_addr *addr, const char *send,
                       size_t send_len, uint64_t deadline_ms, const sock_session_ops *ops,
                       void *data);

/* Ends the session now with `status` (calls on_end unless it ended). */
void sock_session_abort(sock_session *s, int status);

/* Milliseconds since start, with microsecond precision. */
double sock_session_elapsed_ms(const sock_session *s);

#endif
