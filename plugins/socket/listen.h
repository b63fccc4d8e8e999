/* listen mode: TCP, UDP and unix-socket servers that emit a record per
 * line (or JSON value) their clients send. */
#ifndef SIPHON_SOCKET_LISTEN_H
#define SIPHON_SOCKET_LISTEN_H

#include "socket.h"

typedef struct sock_listener sock_listener;

/* Binds and starts accepting. Returns 0 or a negative errno with err
 * filled. */
int sock_listen_start(sock_instance *inst, siphon_error *err);

/* Stops accepting, reads what clients' sockets already hold, emits every
 * buffered line, logs the counters and closes every handle; the listener
 * frees itself once they are closed. */
void sock_listen_stop(sock_instance *inst);

/* Backpressure: stop / restart reading from every client. */
void sock_listen_pause(sock_instance *inst);
void sock_listen_resume(sock_instance *inst);

#endif
