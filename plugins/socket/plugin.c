/* The socket plugin's descriptor: options, create/destroy, and the
 * dispatch to its three modes. listen instances are streaming (they call
 * set_streaming), probe and request instances are polled. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "listen.h"
#include "probe.h"
#include "request.h"
#include "session.h"
#include "socket.h"

static const siphon_option socket_options[] = {
    {"mode", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, "listen|probe|request",
     "listen: a server emitting what clients send; probe: a connect check per round; "
     "request: send and emit the reply per round"},
    {"address", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, NULL,
     "tcp://HOST:PORT, udp://HOST:PORT (listen only), unix:///PATH; IPv6 as tcp://[::1]:PORT"},
    {"framing", SIPHON_OPT_STRING, 0, "\"lines\"", "lines|json",
     "listen/request: a record per line (a string) or per line holding a JSON value"},
    {"max_line_bytes", SIPHON_OPT_SIZE, 0, "\"64KiB\"", NULL,
     "a longer line is dropped whole and counted"},
    {"max_connections", SIPHON_OPT_INT, 0, "1024", NULL,
     "tcp/unix listen: connections beyond it are accepted and closed at once, and counted"},
    {"idle_timeout", SIPHON_OPT_DURATION, 0, "0", NULL,
     "tcp/unix listen: close a client silent this long (0: never)"},
    {"stats_interval", SIPHON_OPT_DURATION, 0, "\"60s\"", NULL,
     "listen: log the counters at debug level this often (0: only at stop)"},
    {"send", SIPHON_OPT_STRING, 0, NULL, NULL, "probe/request: text sent once connected"},
    {"expect", SIPHON_OPT_STRING, 0, NULL, NULL,
     "probe: the reply must contain this text (result string_mismatch otherwise)"},
    {"until", SIPHON_OPT_STRING, 0, NULL, NULL,
     "request: the reply ends at this delimiter (default: when the peer closes); a close "
     "before it fails the round"},
    {"max_reply_bytes", SIPHON_OPT_SIZE, 0, "\"1MiB\"", NULL,
     "request: a longer reply fails the round"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static int bad(siphon_error *err, const char *path, const char *text) {
  snprintf(err->path, sizeof(err->path), "%s", path);
  snprintf(err->text, sizeof(err->text), "%s", text);
  return -EINVAL;
}

static int int_in(const json_t *options, const char *key, json_int_t lo, json_int_t hi, size_t *out,
                  siphon_error *err) {
  json_int_t v = json_integer_value(json_object_get(options, key));
  if (v < lo || v > hi) {
    /* A size reads as one: "1 byte to 64 MiB", not "1 to 67108864". */
    int size = strstr(key, "_bytes") != NULL;
    snprintf(err->path, sizeof(err->path), "%s", key);
    if (size) {
      snprintf(err->text, sizeof(err->text),
               "expected a size from %lld byte%s to %lld MiB, got %lld", (long long)lo,
               lo == 1 ? "" : "s", (long long)(hi >> 20), (long long)v);
    } else {
      snprintf(err->text, sizeof(err->text), "expected an integer from %lld to %lld, got %lld",
               (long long)lo, (long long)hi, (long long)v);
    }
    return -EINVAL;
  }
  *out = (size_t)v;
  return 0;
}

static char *opt_string(const json_t *options, const char *key, size_t *len) {
  const json_t *v = json_object_get(options, key);
  if (!json_is_string(v)) {
    return NULL;
  }
  size_t n = json_string_length(v);
  char *s = malloc(n + 1);
  if (s != NULL) {
    memcpy(s, json_string_value(v), n + 1);
    if (len != NULL) {
      *len = n;
    }
  }
  return s;
}

/* An option's default as the host hands it to create(): a size in bytes,
 * a duration in ms, anything else as written. Read from the options
 * table, so the mode check below cannot drift from it. NULL: none, or a
 * spelling this does not read (then every source of another mode is
 * refused, which the tests of each mode would show at once). */
static json_t *default_value(const char *key) {
  for (const siphon_option *o = socket_options; o->key != NULL; o++) {
    if (strcmp(o->key, key) != 0 || o->default_json == NULL) {
      continue;
    }
    json_t *v = json_loads(o->default_json, JSON_DECODE_ANY, NULL);
    if (!json_is_string(v) || (o->type != SIPHON_OPT_SIZE && o->type != SIPHON_OPT_DURATION)) {
      return v;
    }
    /* The table's spellings: "64KiB", "1MiB", "60s", "250ms". */
    static const struct {
      const char *unit;
      json_int_t factor;
    } units[] = {{"KiB", 1024}, {"MiB", 1024 * 1024}, {"ms", 1}, {"s", 1000}, {"m", 60000}};
    char *end = NULL;
    long long n = strtoll(json_string_value(v), &end, 10);
    json_int_t out = -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
      if (strcmp(end, units[i].unit) == 0) {
        out = (json_int_t)n * units[i].factor;
      }
    }
    json_decref(v);
    return out >= 0 ? json_integer(out) : NULL;
  }
  return NULL;
}

/* Options that only one mode (or transport) reads are refused in the
 * others, so that a misplaced `expect`, or an `idle_timeout` on a UDP
 * listener, does not silently do nothing. */
static int check_mode_options(const sock_instance *inst, const json_t *options, siphon_error *err) {
  /* The host fills in defaults, so an option with one counts as set when
   * it differs from it. */
  static const struct {
    const char *key;
    unsigned modes; /* bit (1 << mode) */
    /* Why a udp:// listener does not read it, or NULL when it does: UDP
     * has datagrams, not connections. */
    const char *not_udp;
  } only[] = {{"send", (1u << SOCK_PROBE) | (1u << SOCK_REQUEST), NULL},
              {"expect", 1u << SOCK_PROBE, NULL},
              {"until", 1u << SOCK_REQUEST, NULL},
              {"framing", (1u << SOCK_LISTEN) | (1u << SOCK_REQUEST), NULL},
              {"max_line_bytes", (1u << SOCK_LISTEN) | (1u << SOCK_REQUEST), NULL},
              {"max_connections", 1u << SOCK_LISTEN, "UDP has no connections to limit"},
              {"idle_timeout", 1u << SOCK_LISTEN, "UDP has no connections to close"},
              {"stats_interval", 1u << SOCK_LISTEN, NULL},
              {"max_reply_bytes", 1u << SOCK_REQUEST, NULL}};
  for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
    const json_t *v = json_object_get(options, only[i].key);
    int set = v != NULL;
    json_t *def = set ? default_value(only[i].key) : NULL;
    if (def != NULL) {
      set = !json_equal((json_t *)v, def);
      json_decref(def);
    }
    if (!set) {
      continue;
    }
    if (!(only[i].modes & (1u << inst->mode))) {
      snprintf(err->path, sizeof(err->path), "%s", only[i].key);
      snprintf(err->text, sizeof(err->text), "is not used in mode \"%s\"",
               json_string_value(json_object_get(options, "mode")));
      return -EINVAL;
    }
    /* probe and request refuse udp:// below, so only a listener gets
     * here with it. */
    if (only[i].not_udp != NULL && inst->addr.scheme == SOCK_UDP) {
      snprintf(err->path, sizeof(err->path), "%s", only[i].key);
      snprintf(err->text, sizeof(err->text), "is not used by a udp:// listener: %s",
               only[i].not_udp);
      return -EINVAL;
    }
  }
  if (inst->mode == SOCK_LISTEN && inst->addr.scheme != SOCK_UNIX && !inst->addr.numeric) {
    return bad(err, "address",
               "listen needs an IP address to bind, such as tcp://127.0.0.1:5170 or "
               "tcp://[::1]:5170, not a host name");
  }
  char dir[sizeof(inst->addr.path)];
  if (inst->mode == SOCK_LISTEN && inst->addr.scheme == SOCK_UNIX &&
      sock_unix_dir_missing(inst->addr.path, dir, sizeof(dir))) {
    snprintf(err->path, sizeof(err->path), "address");
    snprintf(err->text, sizeof(err->text),
             "the directory %s does not exist: create it first (the socket file is made in it)",
             dir);
    return -ENOENT;
  }
  struct stat st;
  if (inst->mode == SOCK_LISTEN && inst->addr.scheme == SOCK_UNIX &&
      lstat(inst->addr.path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
    /* Found here, by --check, rather than at start: siphon never removes
     * a file that is not a socket. */
    snprintf(err->path, sizeof(err->path), "address");
    snprintf(err->text, sizeof(err->text),
             "%s exists and is not a socket: remove it or choose another path", inst->addr.path);
    return -EEXIST;
  }
  if (inst->mode != SOCK_LISTEN && inst->addr.scheme == SOCK_UDP) {
    return bad(err, "address", "probe and request connect over tcp:// or unix://, not udp://");
  }
  if (inst->until != NULL && inst->until[0] == '\0') {
    return bad(err, "until", "expected a non-empty delimiter");
  }
  if (inst->expect != NULL && inst->expect[0] == '\0') {
    return bad(err, "expect", "expected a non-empty text");
  }
  return 0;
}

/* Every listen-mode instance, so that two sources of one config cannot
 * claim one address: the second would only fail at start, with 'address
 * already in use', blaming another program. Loop thread only. */
static sock_instance *listeners;

/* A unix socket's path with its directory resolved (symlinks, "..",
 * "//"), so that two spellings of one file compare equal; as written
 * when the directory does not resolve. */
static void unix_canonical(const char *path, char *out, size_t size) {
  const char *slash = strrchr(path, '/');
  char dir[PATH_MAX];
  char real[PATH_MAX];
  size_t n = slash != NULL ? (size_t)(slash - path) : 0;
  if (slash == NULL || n >= sizeof(dir)) {
    snprintf(out, size, "%s", path);
    return;
  }
  memcpy(dir, path, n);
  dir[n] = '\0';
  if (realpath(n == 0 ? "/" : dir, real) == NULL) {
    snprintf(out, size, "%s", path);
    return;
  }
  snprintf(out, size, "%s/%s", strcmp(real, "/") == 0 ? "" : real, slash + 1);
}

static int same_address(const sock_addr *a, const sock_addr *b) {
  if (a->scheme != b->scheme) {
    return 0;
  }
  if (a->scheme == SOCK_UNIX) {
    char ca[PATH_MAX + 128];
    char cb[PATH_MAX + 128];
    unix_canonical(a->path, ca, sizeof(ca));
    unix_canonical(b->path, cb, sizeof(cb));
    return strcmp(ca, cb) == 0;
  }
  if (a->port == 0 || a->port != b->port) {
    return 0;
  }
  /* Compared as addresses: "::1" and "0:0:0:0:0:0:0:1" are one. */
  unsigned char ba[16], bb[16];
  int fa = inet_pton(AF_INET, a->host, ba) == 1    ? AF_INET
           : inet_pton(AF_INET6, a->host, ba) == 1 ? AF_INET6
                                                   : 0;
  int fb = inet_pton(AF_INET, b->host, bb) == 1    ? AF_INET
           : inet_pton(AF_INET6, b->host, bb) == 1 ? AF_INET6
                                                   : 0;
  if (fa == 0 || fb == 0) {
    return strcmp(a->host, b->host) == 0;
  }
  /* ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket. */
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (fa == AF_INET6 && memcmp(ba, mapped, 12) == 0) {
    memmove(ba, ba + 12, 4);
    fa = AF_INET;
  }
  if (fb == AF_INET6 && memcmp(bb, mapped, 12) == 0) {
    memmove(bb, bb + 12, 4);
    fb = AF_INET;
  }
  static const unsigned char zero[16];
  int wa = memcmp(ba, zero, fa == AF_INET ? 4 : 16) == 0;
  int wb = memcmp(bb, zero, fb == AF_INET ? 4 : 16) == 0;
  /* A wildcard takes the port on every address of its family, and "::"
   * on IPv4's too (libuv leaves IPV6_V6ONLY off): Linux refuses such a
   * pair as it refuses equal addresses. 0.0.0.0 beside ::1 is no clash. */
  if ((wa && fa == AF_INET6) || (wb && fb == AF_INET6)) {
    return 1;
  }
  if (fa != fb) {
    return 0;
  }
  return wa || wb || memcmp(ba, bb, fa == AF_INET ? 4 : 16) == 0;
}

static void unlist(sock_instance *inst) {
  for (sock_instance **p = &listeners; *p != NULL; p = &(*p)->next_listen) {
    if (*p == inst) {
      *p = inst->next_listen;
      return;
    }
  }
}

static void instance_free(sock_instance *inst) {
  unlist(inst);
  free(inst->address);
  free(inst->send);
  free(inst->expect);
  free(inst->until);
  free(inst);
}

static int parse(sock_instance *inst, const json_t *options, siphon_error *err) {
  const char *mode = json_string_value(json_object_get(options, "mode"));
  inst->mode = strcmp(mode, "listen") == 0  ? SOCK_LISTEN
               : strcmp(mode, "probe") == 0 ? SOCK_PROBE
                                            : SOCK_REQUEST;
  inst->address = opt_string(options, "address", NULL);
  if (inst->address == NULL) {
    return -ENOMEM;
  }
  char why[200];
  if (sock_addr_parse(inst->address, &inst->addr, why, sizeof(why)) != 0) {
    return bad(err, "address", why);
  }
  const char *framing = json_string_value(json_object_get(options, "framing"));
  inst->framing = strcmp(framing, "json") == 0 ? SOCK_FRAMING_JSON : SOCK_FRAMING_LINES;
  int rc = int_in(options, "max_line_bytes", 1, 64 << 20, &inst->max_line_bytes, err);
  if (rc == 0) {
    rc = int_in(options, "max_connections", 1, 1 << 20, &inst->max_connections, err);
  }
  if (rc == 0) {
    rc = int_in(options, "max_reply_bytes", 1, 1 << 30, &inst->max_reply_bytes, err);
  }
  if (rc != 0) {
    return rc;
  }
  inst->idle_timeout_ms = (uint64_t)json_integer_value(json_object_get(options, "idle_timeout"));
  inst->stats_interval_ms =
      (uint64_t)json_integer_value(json_object_get(options, "stats_interval"));
  inst->send = opt_string(options, "send", &inst->send_len);
  inst->expect = opt_string(options, "expect", NULL);
  inst->until = opt_string(options, "until", NULL);
  return check_mode_options(inst, options, err);
}

static int socket_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                         void **instance, siphon_error *err) {
  sock_instance *inst = calloc(1, sizeof(*inst));
  if (inst == NULL) {
    return -ENOMEM;
  }
  inst->api = api;
  inst->src = src;
  inst->loop = api->loop(src);
  int rc = parse(inst, options, err);
  for (sock_instance *o = listeners; rc == 0 && inst->mode == SOCK_LISTEN && o != NULL;
       o = o->next_listen) {
    if (same_address(&o->addr, &inst->addr)) {
      snprintf(err->path, sizeof(err->path), "address");
      snprintf(err->text, sizeof(err->text),
               "%s clashes with source \"%s\", which listens on %s: each listener needs "
               "its own address",
               inst->address, api->source_name(o->src), o->address);
      rc = -EADDRINUSE;
    }
  }
  if (rc == 0 && inst->mode == SOCK_LISTEN) {
    if (!SIPHON_HOST_HAS(api, set_streaming)) {
      rc = bad(err, "mode", "listen needs a host with ABI 1.1 or later (set_streaming)");
    } else {
      api->set_streaming(src);
    }
  }
  if (rc != 0) {
    instance_free(inst);
    return rc;
  }
  if (inst->mode == SOCK_LISTEN) {
    inst->next_listen = listeners;
    listeners = inst;
  }
  *instance = inst;
  return 0;
}

static int socket_collect(void *instance, siphon_round *round) {
  sock_instance *inst = instance;
  switch (inst->mode) {
    case SOCK_PROBE:
      return sock_probe_collect(inst, round);
    case SOCK_REQUEST:
      return sock_request_collect(inst, round);
    default:
      return -ENOTSUP; /* listeners are streaming: never scheduled */
  }
}

static void socket_cancel(void *instance, siphon_round *round) {
  sock_instance *inst = instance;
  if (inst->session != NULL && inst->round == round) {
    sock_session_abort(inst->session, UV_ECANCELED);
  }
}

static int socket_start(void *instance, siphon_error *err) {
  sock_instance *inst = instance;
  return inst->mode == SOCK_LISTEN ? sock_listen_start(inst, err) : 0;
}

static void socket_stop(void *instance) {
  sock_listen_stop(instance);
}

static void socket_pause(void *instance) {
  sock_listen_pause(instance);
}

static void socket_resume(void *instance) {
  sock_listen_resume(instance);
}

static void socket_destroy(void *instance) {
  sock_instance *inst = instance;
  /* The host stops a started listener first; this covers a host that
   * did not. */
  sock_listen_stop(inst);
  instance_free(inst);
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "socket",
    .version = "1.0.0",
    .description = "TCP/UDP/unix listeners, TCP probes and request/reply, on libuv alone",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .options = socket_options,
    .create = socket_create,
    .collect = socket_collect,
    .cancel = socket_cancel,
    .start = socket_start,
    .stop = socket_stop,
    .pause = socket_pause,
    .resume = socket_resume,
    .destroy = socket_destroy,
    .example =
        "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:5170\", \"framing\": "
        "\"json\", \"max_connections\": 256, \"idle_timeout\": \"5m\"}",
};
