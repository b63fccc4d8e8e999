/* probe mode (like Telegraf's net_response): each round connects, maybe
 * sends `send` and looks for `expect` in the reply, and emits ONE record
 * saying how it went. A failed probe is a record, not a failed round. */
#ifndef SIPHON_SOCKET_PROBE_H
#define SIPHON_SOCKET_PROBE_H

#include "socket.h"

/* Starts a round; returns 0 (round_done follows) or a negative errno. */
int sock_probe_collect(sock_instance *inst, siphon_round *round);

#endif
