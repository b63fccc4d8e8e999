/* The engine's own types, shared by engine.c (multi handles and their
 * actions), engine_epoll.c or engine_sock.c (watching curl's sockets) and
 * engine_queue.c (rounds waiting for their turn). Nothing outside these
 * files includes it: the rest of the plugin sees rest.h. */
#ifndef SIPHON_REST_ENGINE_H
#define SIPHON_REST_ENGINE_H

#include "rest.h"

/* What watches curl's sockets: engine_epoll.c's, or engine_sock.c's. */
typedef struct rest_socks rest_socks;

typedef struct rest_done {
  CURL *easy;
  CURLcode result;
} rest_done;

struct rest_shard {
  rest_engine *e;
  CURLM *multi;
  uv_timer_t timer;
  long sources; /* attached: the idle connections worth keeping */
};

struct rest_engine {
  const siphon_host_api *api;
  uv_loop_t *loop;
  CURLSH *share; /* TLS sessions, for every shard */
  rest_shard **shards;
  size_t n_shards, cap_shards;
  long shard_size;
  uv_idle_t idle; /* runs while rounds wait for their turn */
  rest_wait *wait_head, *wait_tail;
  unsigned long idle_round; /* idle callbacks so far (rest_wait.round) */
  long batch;
  rest_wait *parse_head, *parse_tail; /* long bodies waiting to be parsed */
  int parsing;                        /* a parse is on the threadpool */
  rest_socks *socks;
  long max_total, max_host;
  long registered, attached; /* sources created; of them, put on a shard */
  int closing;
  int pending_closes; /* close callbacks still to come */
  rest_done *done;    /* finished transfers of one action */
  size_t done_cap, done_len;
};

/* Frees the engine once it is closing and no close callback is left. */
void rest__engine_maybe_free(rest_engine *e);
/* A shard's socket has events (flags: CURL_CSELECT_*). */
void rest__shard_action(rest_shard *sh, curl_socket_t fd, int flags);

/* engine_epoll.c (Linux) or engine_sock.c: CURLMOPT_SOCKETFUNCTION, with
 * a shard as its data. */
int rest__on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp);
/* Sets e->socks up; 0 or a negative errno. */
int rest__socks_open(rest_engine *e);
/* Stops watching every socket (engine shutdown, before curl closes them);
 * frees e->socks in a close callback counted in e->pending_closes. */
void rest__socks_close_all(rest_engine *e);

/* engine_queue.c: the idle handle's callback. */
void rest__on_idle(uv_idle_t *h);

#endif
