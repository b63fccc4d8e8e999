/* Socket addresses as users write them: tcp://127.0.0.1:5170,
 * udp://[::1]:5170, tcp://example.org:80, unix:///run/siphon.sock. */
#ifndef SIPHON_SOCKET_ADDRESS_H
#define SIPHON_SOCKET_ADDRESS_H

#include <stddef.h>

typedef enum sock_scheme { SOCK_TCP = 1, SOCK_UDP = 2, SOCK_UNIX = 3 } sock_scheme;

typedef struct sock_addr {
  sock_scheme scheme;
  /* tcp/udp: the host without brackets ("::1", "127.0.0.1", "example.org")
   * and the port; unix: the socket file's path. */
  char host[256];
  int port;
  char path[108]; /* sizeof(sun_path) on Linux */
  int numeric;    /* host is an IPv4 or IPv6 literal: no name lookup needed */
} sock_addr;

/* Parses `text`. Returns 0, or -EINVAL with a reason in why[why_size]
 * (e.g. "expected a port from 0 to 65535 after the host"). */
int sock_addr_parse(const char *text, sock_addr *out, char *why, size_t why_size);

/* For a unix socket file at path: 1, with its directory in dir, when that
 * directory does not exist (uv_pipe_bind() reports ENOENT as EACCES,
 * "permission denied");
 * 0 otherwise. */
int sock_unix_dir_missing(const char *path, char *dir, size_t dir_size);

/* Scheme name: "tcp", "udp" or "unix". */
const char *sock_scheme_name(sock_scheme s);

#endif
