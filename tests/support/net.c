#include "net.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tnet_bind(int type, int *port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t len = sizeof(a);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

int tnet_listen(int backlog, int *port) {
  int fd = tnet_bind(SOCK_STREAM, port);
  cr_assert_eq(listen(fd, backlog), 0);
  return fd;
}

int tnet_free_port(int type) {
  int port = 0;
  close(tnet_bind(type, &port));
  return port;
}
