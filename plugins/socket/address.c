#include "address.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

const char *sock_scheme_name(sock_scheme s) {
  switch (s) {
    case SOCK_TCP:
      return "tcp";
    case SOCK_UDP:
      return "udp";
    case SOCK_UNIX:
      return "unix";
  }
  return "?";
}

static int fail(char *why, size_t why_size, const char *text) {
  snprintf(why, why_size, "%s", text);
  return -EINVAL;
}

static int parse_port(const char *s, int *port) {
  if (*s == '\0' || strlen(s) > 5) {
    return -EINVAL;
  }
  int v = 0;
  for (const char *p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') {
      return -EINVAL;
    }
    v = v * 10 + (*p - '0');
  }
  if (v > 65535) {
    return -EINVAL;
  }
  *port = v;
  return 0;
}

static int parse_inet(const char *rest, sock_addr *out, char *why, size_t why_size) {
  const char *host = rest;
  size_t host_len;
  const char *colon;
  if (rest[0] == '[') {
    const char *close = strchr(rest, ']');
    if (close == NULL) {
      return fail(why, why_size, "expected ']' after an IPv6 address, as in tcp://[::1]:5170");
    }
    host = rest + 1;
    host_len = (size_t)(close - host);
    if (close[1] != ':') {
      return fail(why, why_size, "expected ':PORT' after ']', as in tcp://[::1]:5170");
    }
    colon = close + 1;
  } else {
    colon = strrchr(rest, ':');
    if (colon == NULL) {
      return fail(why, why_size, "expected HOST:PORT, as in tcp://127.0.0.1:5170");
    }
    host_len = (size_t)(colon - rest);
    if (memchr(rest, ':', host_len) != NULL) {
      return fail(why, why_size, "an IPv6 address needs brackets, as in tcp://[::1]:5170");
    }
  }
  if (host_len == 0) {
    return fail(why, why_size, "expected a host before the port, as in tcp://127.0.0.1:5170");
  }
  if (host_len >= sizeof(out->host)) {
    return fail(why, why_size, "the host name is too long");
  }
  memcpy(out->host, host, host_len);
  out->host[host_len] = '\0';
  if (parse_port(colon + 1, &out->port) != 0) {
    /* Shown when it is short, plain text: 99999, "http", "". */
    const char *port = colon + 1;
    size_t n = strlen(port);
    int plain = n <= 16;
    for (size_t i = 0; plain && i < n; i++) {
      plain = port[i] > 0x20 && port[i] < 0x7f;
    }
    if (!plain) {
      return fail(why, why_size, "expected a port from 0 to 65535 after the host");
    }
    snprintf(why, why_size, "expected a port from 0 to 65535 after the host, got \"%s\"", port);
    return -EINVAL;
  }
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  out->numeric =
      uv_ip4_addr(out->host, out->port, &a4) == 0 || uv_ip6_addr(out->host, out->port, &a6) == 0;
  if (!out->numeric && rest[0] == '[') {
    return fail(why, why_size, "expected an IPv6 address between the brackets");
  }
  return 0;
}

int sock_addr_parse(const char *text, sock_addr *out, char *why, size_t why_size) {
  memset(out, 0, sizeof(*out));
  const char *sep = strstr(text, "://");
  if (sep == NULL) {
    return fail(why, why_size,
                "expected tcp://HOST:PORT, udp://HOST:PORT or unix:///PATH (no '://' found)");
  }
  size_t n = (size_t)(sep - text);
  const char *rest = sep + 3;
  if (n == 3 && strncmp(text, "tcp", 3) == 0) {
    out->scheme = SOCK_TCP;
  } else if (n == 3 && strncmp(text, "udp", 3) == 0) {
    out->scheme = SOCK_UDP;
  } else if (n == 4 && strncmp(text, "unix", 4) == 0) {
    out->scheme = SOCK_UNIX;
  } else {
    return fail(why, why_size, "expected the scheme tcp://, udp:// or unix://");
  }
  if (out->scheme != SOCK_UNIX) {
    return parse_inet(rest, out, why, why_size);
  }
  if (rest[0] == '\0') {
    return fail(why, why_size, "expected a socket file path after unix://");
  }
  if (rest[0] != '/') {
    /* Relative to whatever directory siphon was started in, which moves
     * with the service manager: not a place to name. */
    return fail(why, why_size,
                "expected an absolute path, as in unix:///run/siphon.sock (three slashes)");
  }
  if (strlen(rest) >= sizeof(out->path)) {
    return fail(why, why_size, "the socket path is longer than 107 bytes");
  }
  snprintf(out->path, sizeof(out->path), "%s", rest);
  return 0;
}

int sock_unix_dir_missing(const char *path, char *dir, size_t dir_size) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    snprintf(dir, dir_size, ".");
  } else if (slash == path) {
    snprintf(dir, dir_size, "/");
  } else {
    snprintf(dir, dir_size, "%.*s", (int)(slash - path), path);
  }
  struct stat st;
  return stat(dir, &st) != 0 || !S_ISDIR(st.st_mode);
}
