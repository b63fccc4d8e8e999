/* request mode: each round connects, sends `send`, reads until the peer
 * closes or `until` arrives, and emits the reply as lines or JSON values. */
#ifndef SIPHON_SOCKET_REQUEST_H
#define SIPHON_SOCKET_REQUEST_H

#include "socket.h"

/* Starts a round; returns 0 (round_done follows) or a negative errno. */
int sock_request_collect(sock_instance *inst, siphon_round *round);

#endif
