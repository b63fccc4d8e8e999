/* Loopback sockets for tests. */
#ifndef SIPHON_TEST_NET_H
#define SIPHON_TEST_NET_H

/* A TCP socket listening on 127.0.0.1 at a port the kernel chose, with
 * that backlog; its port in *port. Asserts on failure; the caller closes
 * the fd. */
int tnet_listen(int backlog, int *port);

#endif
