/* Loopback sockets for tests. */
#ifndef SIPHON_TEST_NET_H
#define SIPHON_TEST_NET_H

#include <sys/socket.h> /* SOCK_STREAM, SOCK_DGRAM */

/* A socket of that type (SOCK_STREAM, SOCK_DGRAM) bound to 127.0.0.1 at a
 * port the kernel chose; its port in *port. Asserts on failure; the
 * caller closes the fd. Bound and not listening, a TCP port refuses
 * connections. */
int tnet_bind(int type, int *port);

/* The same for TCP, listening with that backlog. */
int tnet_listen(int backlog, int *port);

/* A port of that type nobody was bound to a moment ago (bound, read,
 * closed). */
int tnet_free_port(int type);

#endif
