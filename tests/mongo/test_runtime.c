/* The mongo plugin under the host's runtime: bounded failure when the
 * server is unreachable or hangs, while an async source keeps its period
 * (the loop is never blocked); the server dying mid-round; more sources
 * than threads. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mongot.h"
#include "net.h"
#include "tmpfile.h"

/* A loopback port that refuses connections: bound, never listening. */
static int refused_port(int *fd_out) {
  int port = 0;
  *fd_out = tnet_bind(SOCK_STREAM, &port);
  return port;
}

/* A server that hangs: the kernel completes the handshake (listen
 * backlog), nobody ever answers. */
static int hung_port(int *fd_out) {
  int port = refused_port(fd_out);
  cr_assert_eq(listen(*fd_out, 64), 0);
  return port;
}

/* "2026-11-24T19:27:03.123Z" -> ms since the epoch. */
static long long ts_ms(const char *ts) {
  struct tm tm = {0};
  int ms = 0;
  cr_assert_eq(sscanf(ts, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
               7, "bad ts %s", ts);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (long long)timegm(&tm) * 1000 + ms;
}

/* Unreachable and hung servers make their rounds fail within the source's
 * timeout, on pool threads; meanwhile an async source on the loop keeps
 * emitting every 100 ms. */
Test(runtime, unreachable_and_hung_servers_fail_in_time_loop_keeps_rhythm) {
  int rfd, hfd;
  int rport = refused_port(&rfd);
  int hport = hung_port(&hfd);
  char *sources = mt_fmt(
      "{\"name\": \"down\", \"plugin\": \"mongo\", \"interval\": \"1s\", \"timeout\": \"800ms\","
      " \"options\": {\"uri\": \"mongodb://127.0.0.1:%d\", \"database\": \"d\","
      " \"collection\": \"c\"}},"
      "{\"name\": \"hung\", \"plugin\": \"mongo\", \"interval\": \"1s\", \"timeout\": \"800ms\","
      " \"options\": {\"uri\": \"mongodb://127.0.0.1:%d\", \"database\": \"d\","
      " \"collection\": \"c\"}},"
      "{\"name\": \"beat\", \"plugin\": \"tick\", \"interval\": \"100ms\"}",
      rport, hport);
  char *cfg = mt_config("\"threads\": 4", sources);
  const char *argv[] = {SIPHON_BIN, "-c", cfg, NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  /* Two failed rounds of each blocking source: ~3 s, as the host backs
   * off 2 s after a failure. */
  for (int waited = 0; waited < 15000; waited += 100) {
    if (tproc_count(p.err, "[down] collect failed") >= 2 &&
        tproc_count(p.err, "[hung] collect failed") >= 2) {
      break;
    }
    tproc_wait_stderr(&p, "\x01", 100);
  }
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 15000), 0, "%s", p.err);
  cr_assert_geq(tproc_count(p.err, "[down] collect failed"), 2, "%s", p.err);
  cr_assert_geq(tproc_count(p.err, "[hung] collect failed"), 2, "%s", p.err);
  cr_expect(strstr(p.err, "No suitable servers found") != NULL, "%s", p.err);
  /* No round outlived its timeout: none was reported as timed out by the
   * host, each failed by the driver's own bounded wait. */
  cr_expect(strstr(p.err, "collect timed out") == NULL, "%s", p.err);

  json_t *recs = mt_records(p.out);
  size_t k, beats = 0;
  json_t *r;
  long long prev = 0, worst = 0;
  json_array_foreach(recs, k, r) {
    if (strcmp(json_string_value(json_object_get(r, "source")), "beat") != 0) {
      continue;
    }
    long long t = ts_ms(json_string_value(json_object_get(r, "ts")));
    if (beats++ > 0 && t - prev > worst) {
      worst = t - prev;
    }
    prev = t;
  }
  /* The blocking sources spent most of the run waiting on the network; a
   * blocked loop would show gaps of 700 ms and more. */
  cr_expect_geq(beats, 20, "only %zu beats in %s", beats, p.err);
  cr_expect_lt(worst, 500, "the async source stalled for %lld ms", worst);
  json_decref(recs);
  tproc_free(&p);
  close(rfd);
  close(hfd);
  free(cfg);
  free(sources);
}

/* --- the server killed mid-round --- */

/* A TCP relay between siphon and a private server, which SIGKILLs the
 * server once `kill_after` bytes have come back from it: the kill then
 * lands in the middle of a cursor, whatever the machine's speed. */
typedef struct relay {
  int listen_fd;
  int port;
  int upstream_port;
  pid_t server_pid;
  size_t kill_after;
  size_t from_server;
  int killed;
  int stop_pipe[2];
  pthread_t thread;
} relay;

#define RELAY_MAX 32

static int connect_upstream(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static void *relay_main(void *arg) {
  relay *rl = arg;
  int down[RELAY_MAX], up[RELAY_MAX];
  size_t n = 0;
  for (;;) {
    struct pollfd fds[2 + 2 * RELAY_MAX];
    fds[0] = (struct pollfd){.fd = rl->stop_pipe[0], .events = POLLIN};
    fds[1] = (struct pollfd){.fd = rl->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < n; i++) {
      fds[2 + 2 * i] = (struct pollfd){.fd = down[i], .events = POLLIN};
      fds[3 + 2 * i] = (struct pollfd){.fd = up[i], .events = POLLIN};
    }
    if (poll(fds, 2 + 2 * n, 1000) < 0 && errno != EINTR) {
      break;
    }
    if (fds[0].revents != 0) {
      break;
    }
    if ((fds[1].revents & POLLIN) && n < RELAY_MAX) {
      int c = accept(rl->listen_fd, NULL, NULL);
      int u = c >= 0 ? connect_upstream(rl->upstream_port) : -1;
      if (u >= 0) {
        down[n] = c;
        up[n] = u;
        n++;
      } else if (c >= 0) {
        close(c);
      }
    }
    for (size_t i = 0; i < n; i++) {
      int dead = 0;
      for (int dir = 0; dir < 2 && !dead; dir++) {
        short ev = fds[2 + 2 * i + (size_t)dir].revents;
        if (ev == 0) {
          continue;
        }
        int from = dir == 0 ? down[i] : up[i], to = dir == 0 ? up[i] : down[i];
        char buf[16384];
        ssize_t got = read(from, buf, sizeof(buf));
        if (got <= 0 || write(to, buf, (size_t)got) != got) {
          dead = 1;
          break;
        }
        if (dir == 1) {
          rl->from_server += (size_t)got;
          if (!rl->killed && rl->from_server >= rl->kill_after) {
            kill(rl->server_pid, SIGKILL);
            rl->killed = 1;
          }
        }
      }
      if (dead) {
        close(down[i]);
        close(up[i]);
        down[i] = down[n - 1];
        up[i] = up[n - 1];
        n--;
        /* fds no longer match the pairs: poll again. */
        break;
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    close(down[i]);
    close(up[i]);
  }
  return NULL;
}

static void relay_start(relay *rl, int upstream_port, pid_t server_pid, size_t kill_after) {
  memset(rl, 0, sizeof(*rl));
  rl->port = hung_port(&rl->listen_fd);
  rl->upstream_port = upstream_port;
  rl->server_pid = server_pid;
  rl->kill_after = kill_after;
  cr_assert_eq(pipe(rl->stop_pipe), 0);
  cr_assert_eq(pthread_create(&rl->thread, NULL, relay_main, rl), 0);
}

static void relay_stop(relay *rl) {
  cr_assert_eq(write(rl->stop_pipe[1], "x", 1), 1);
  pthread_join(rl->thread, NULL);
  close(rl->stop_pipe[0]);
  close(rl->stop_pipe[1]);
  close(rl->listen_fd);
}

Test(runtime, server_killed_mid_round) {
  tproc server;
  char *why = NULL;
  char *uri = mt_server_start(&server, &why);
  cr_assert_not_null(uri, "mongo test server: %s", why);
  /* Seed the private server through libmongoc. */
  mongoc_client_t *c = mongoc_client_new(uri);
  cr_assert_not_null(c);
  mongoc_collection_t *coll = mongoc_client_get_collection(c, "d", "c");
  enum { N = 3000 };
  for (int base = 0; base < N; base += 500) {
    bson_t *docs[500];
    for (int j = 0; j < 500; j++) {
      docs[j] = BCON_NEW("i", BCON_INT32(base + j), "pad", BCON_UTF8("0123456789abcdef"));
    }
    bson_error_t err;
    cr_assert(mongoc_collection_insert_many(coll, (const bson_t **)docs, 500, NULL, NULL, &err),
              "%s", err.message);
    for (int j = 0; j < 500; j++) {
      bson_destroy(docs[j]);
    }
  }
  mongoc_collection_destroy(coll);
  mongoc_client_destroy(c);

  relay rl;
  int port = atoi(strrchr(uri, ':') + 1);
  /* ~60 bytes a document: the kill comes after roughly 500 of 3000. */
  relay_start(&rl, port, server.pid, 30000);
  /* With since: what was delivered before the kill is remembered. */
  char *src = mt_fmt(
      "{\"name\": \"m\", \"plugin\": \"mongo\", \"interval\": \"10s\","
      " \"timeout\": \"5s\", \"options\": {\"uri\": \"mongodb://127.0.0.1:%d\","
      " \"database\": \"d\", \"collection\": \"c\", \"batch_size\": 20,"
      " \"since\": \"i\"}}",
      rl.port);
  char *dir = tmp_dir();
  char *sx = mt_fmt("\"state_dir\": \"%s\"", dir);
  char *cfg = mt_config(sx, src);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  relay_stop(&rl);
  cr_assert(rl.killed, "the round ended before the server was killed (%zu bytes)", rl.from_server);
  /* The round fails with the driver's network error, promptly. */
  cr_expect_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, "find on d.c failed") != NULL, "%s", p.err);
  /* What arrived before the kill is written, in order, none twice. */
  json_t *recs = mt_records(p.out);
  json_t *data = mt_data(recs, "m");
  size_t got = json_array_size(data);
  cr_expect(got > 0 && got < N, "%zu records", got);
  for (size_t k = 0; k < got; k++) {
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(data, k), "i")), (json_int_t)k);
  }
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);
  tproc_finish(&server, 5000);
  tproc_free(&server);
  tmp_rmtree(dir);
  free(dir);
  free(sx);
  free(cfg);
  free(src);
  free(uri);
}

/* Eight sources share four pool threads (and one client pool): every one
 * gets exactly its own documents. */
Test(runtime, eight_sources_on_four_threads) {
  char *db = mt_db();
  char *sources = mt_fmt("%s", "");
  for (int k = 0; k < 8; k++) {
    char *coll = mt_fmt("c%d", k);
    mt_insert_range(db, coll, k * 1000, 50);
    char *name = mt_fmt("s%d", k);
    char *opts = mt_fmt(
        "\"database\": \"%s\", \"collection\": \"%s\", \"sort\": {\"i\": 1},"
        " \"batch_size\": 7",
        db, coll);
    char *one = mt_source(name, "\"interval\": \"5s\"", opts);
    char *all = mt_fmt("%s%s%s", sources, k ? ", " : "", one);
    free(sources);
    sources = all;
    free(one);
    free(opts);
    free(name);
    free(coll);
  }
  char *cfg = mt_config("\"threads\": 4", sources);
  tproc p;
  int st = mt_once(&p, cfg, 60000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  for (int k = 0; k < 8; k++) {
    char *name = mt_fmt("s%d", k);
    json_t *data = mt_data(recs, name);
    cr_expect_eq(json_array_size(data), 50, "%s: %zu records", name, json_array_size(data));
    for (size_t j = 0; j < json_array_size(data); j++) {
      cr_expect_eq(json_integer_value(json_object_get(json_array_get(data, j), "i")),
                   (json_int_t)(k * 1000 + (int)j));
    }
    json_decref(data);
    free(name);
  }
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
  free(sources);
  free(db);
}

/* A source on a pool of one client that waits 200 ms for it. */
static char *pool1_source(const char *name, int port) {
  return mt_fmt(
      "{\"name\": \"%s\", \"plugin\": \"mongo\", \"interval\": \"5s\", \"timeout\": \"1500ms\","
      " \"options\": {\"uri\": \"mongodb://127.0.0.1:%d/?maxPoolSize=1&waitQueueTimeoutMS=200\","
      " \"database\": \"d\", \"collection\": \"c\"}}",
      name, port);
}

/* Two sources share a pool of one client (maxPoolSize=1) on a server
 * that hangs: the second finds no client within waitQueueTimeoutMS. It
 * fails with a message that says so; libmongoc was handed a NULL client
 * and aborted siphon before. */
Test(runtime, a_pool_with_no_client_free_fails_the_round_only) {
  int hfd;
  int hport = hung_port(&hfd);
  char *a = pool1_source("a", hport);
  char *b = pool1_source("b", hport);
  char *sources = mt_fmt("%s, %s", a, b);
  char *cfg = mt_config("\"threads\": 4", sources);
  tproc p;
  int st = mt_once(&p, cfg, 20000);
  cr_expect_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect_eq(tproc_count(p.err, "collect failed"), 2, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "collect failed: no client free in the pool within 200 ms"), 1,
               "%s", p.err);
  tproc_free(&p);
  close(hfd);
  free(cfg);
  free(sources);
  free(b);
  free(a);
}

/* Sources of one URI with different timeouts: each is bounded by its
 * own (the driver's error, in time), not by the timeouts of whichever
 * source opened the pool first. */
Test(runtime, one_uri_two_timeouts_two_pools) {
  int hfd;
  int hport = hung_port(&hfd);
  /* "slow" first: it would open a shared pool first, and "fast" would
   * then wait on slow's timeouts past its own. */
  char *sources = mt_fmt(
      "{\"name\": \"slow\", \"plugin\": \"mongo\", \"interval\": \"10s\", \"timeout\": \"3s\","
      " \"options\": {\"uri\": \"mongodb://127.0.0.1:%d\", \"database\": \"d\","
      " \"collection\": \"c\"}},"
      "{\"name\": \"fast\", \"plugin\": \"mongo\", \"interval\": \"10s\", \"timeout\": \"1s\","
      " \"options\": {\"uri\": \"mongodb://127.0.0.1:%d\", \"database\": \"d\","
      " \"collection\": \"c\"}}",
      hport, hport);
  char *cfg = mt_config("\"threads\": 4", sources);
  tproc p;
  int st = mt_once(&p, cfg, 20000);
  cr_expect_eq(st, 1, "exit %d: %s", st, p.err);
  /* The host's "collect timed out" would mean the driver waited past
   * the source's timeout. */
  cr_expect_eq(tproc_count(p.err, "timed out after"), 0, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "[fast] collect failed"), 1, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "[slow] collect failed"), 1, "%s", p.err);
  tproc_free(&p);
  close(hfd);
  free(cfg);
  free(sources);
}
