/* rest end to end: what the engine does with connections across rounds.
 * Sources spread over several multi handles (shards) keep their own
 * connection; a connection the server closes, at once or once idle, is
 * replaced by the next round; rounds started a batch a loop turn all
 * run. The knobs SIPHON_REST_SHARD_SIZE and SIPHON_REST_BATCH make the
 * small cases here take the paths that thousands of sources take. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restt.h"
#include "tmpfile.h"

RESTT_SUITE(rest_connections);

/* A sources array: n rest sources "c0".."c<n-1>" on path, every interval,
 * with `extra` appended inside options. */
static char *sources_on(const char *path, int n, const char *interval, const char *extra) {
  return restt_sources("c", n, interval, "", port, path, extra);
}

static json_int_t accepted(void) {
  json_t *stats = restt_get(port, "/stats");
  json_int_t n = json_integer_value(json_object_get(stats, "accepted"));
  json_decref(stats);
  return n;
}

static json_int_t conn_of(json_t *rec) {
  return json_integer_value(json_object_get(json_object_get(rec, "data"), "conn"));
}

static const char *source_of(json_t *rec) {
  return json_string_value(json_object_get(rec, "source"));
}

Test(rest_connections, sources_on_several_shards_reuse_their_connections) {
  /* Five sources, two to a multi handle: three shards. */
  setenv("SIPHON_REST_SHARD_SIZE", "2", 1);
  char *sources = sources_on("/conn", 5, "300ms", "");
  json_int_t before = accepted();
  char *err = NULL;
  json_t *recs = restt_rounds(sources, 15, &err);
  json_int_t after = accepted();
  cr_assert_eq(tproc_count(err, "rest: multi handle "), 3, "three shards: %s", err);
  free(err);
  /* Every connection was opened in the first round: each source's first
   * record names one, and no later record names another. */
  json_t *first_conns = json_object();
  json_t *sources_seen = json_object();
  size_t i;
  json_t *rec;
  json_array_foreach(recs, i, rec) {
    char key[32];
    snprintf(key, sizeof(key), "%lld", (long long)conn_of(rec));
    if (json_object_get(sources_seen, source_of(rec)) == NULL) {
      json_object_set_new(sources_seen, source_of(rec), json_true());
      json_object_set_new(first_conns, key, json_true());
    } else {
      cr_assert_not_null(json_object_get(first_conns, key),
                         "%s: a new connection after the first round", source_of(rec));
    }
  }
  cr_assert_eq(json_object_size(sources_seen), 5);
  /* siphon's connections, and one for the second /stats. */
  cr_assert_eq(after - before, (json_int_t)restt_distinct_conns(recs) + 1);
  json_decref(first_conns);
  json_decref(sources_seen);
  json_decref(recs);
  free(sources);
}

Test(rest_connections, a_cap_holds_for_sources_of_every_shard) {
  /* One source a shard if nothing were capped; the cap puts all on one. */
  setenv("SIPHON_REST_SHARD_SIZE", "1", 1);
  char *sources = sources_on("/conn", 4, "300ms", ", \"max_connections\": 1");
  char *err = NULL;
  json_t *recs = restt_rounds(sources, 4, &err);
  cr_assert_eq(tproc_count(err, "rest: multi handle "), 1, "one shard: %s", err);
  cr_assert_eq(restt_distinct_conns(recs), 1);
  free(err);
  json_decref(recs);
  free(sources);
}

/* Three rounds of one source on path, each on a connection of its own. */
static void new_connection_every_round(const char *path, const char *interval) {
  char *sources = sources_on(path, 1, interval, "");
  json_t *recs = restt_rounds(sources, 3, NULL);
  cr_assert_eq(restt_distinct_conns(recs), json_array_size(recs), "a new connection every round");
  json_decref(recs);
  free(sources);
}

Test(rest_connections, a_connection_closed_by_the_server_is_replaced) {
  new_connection_every_round("/conn?close=1", "200ms");
}

Test(rest_connections, an_idle_connection_dropped_by_the_server_is_replaced) {
  /* The server's keep-alive timeout (50 ms) is shorter than the interval:
   * every round finds its cached connection dead and opens another. */
  new_connection_every_round("/conn?idle_close_ms=50", "300ms");
}

Test(rest_connections, rounds_started_one_a_turn_all_run) {
  setenv("SIPHON_REST_BATCH", "1", 1);
  char *sources = sources_on("/delay?ms=50", 100, "10s", "");
  restt_run r = restt_once_sources(sources, 30000);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 100, "%s", r.err);
  json_t *seen = json_object();
  size_t i;
  json_t *rec;
  json_array_foreach(r.records, i, rec) {
    cr_assert_null(json_object_get(seen, source_of(rec)), "%s twice", source_of(rec));
    json_object_set_new(seen, source_of(rec), json_true());
  }
  json_decref(seen);
  restt_run_free(&r);
  free(sources);
}

Test(rest_connections, a_response_larger_than_the_last_is_read_whole) {
  /* The receive buffer follows the last response: 100 bytes make the
   * next one 1 KiB, which must still read 300 kB (plain and chunked),
   * and then grow. */
  const char *routes[] = {"/big", "/bigchunked"};
  for (int k = 0; k < 2; k++) {
    char path[64];
    snprintf(path, sizeof(path), "%s?bytes=100&then=300000", routes[k]);
    char *sources = sources_on(path, 1, "200ms", "");
    json_t *recs = restt_rounds(sources, 3, NULL);
    size_t want[] = {98, 299998, 299998};
    for (size_t i = 0; i < 3; i++) {
      json_t *data = json_object_get(json_array_get(recs, i), "data");
      cr_assert_eq(json_string_length(data), want[i], "%s round %zu: %zu bytes", routes[k], i + 1,
                   json_string_length(data));
    }
    json_decref(recs);
    free(sources);
  }
}

Test(rest_connections, rounds_timed_out_while_waiting_their_turn_end_cleanly) {
  /* One start a loop turn and a 1 ms timeout: most rounds time out
   * before their turn comes and must leave the queue; the loop then goes
   * on (a freed round still queued would be started: a crash, or an
   * ASan report), and SIGTERM ends it cleanly. */
  setenv("SIPHON_REST_BATCH", "1", 1);
  char *sources =
      restt_sources("q", 1000, "500ms", ", \"timeout\": \"1ms\"", port, "/delay?ms=0", "");
  char *cfg =
      tmp_write("siphon.json", "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": %s}\n",
                SIPHON_PLUGIN_DIR, sources);
  free(sources);
  tproc p;
  const char *argv[] = {SIPHON_BIN, "-c", cfg, NULL};
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  /* Two rounds' worth: the queue is walked again after the first. */
  for (int i = 0; i < 100 && tproc_count(p.err, "collect timed out") < 1500; i++) {
    tproc_wait_stderr(&p, "\n__never__", 100);
  }
  cr_assert_geq(tproc_count(p.err, "collect timed out"), 1500, "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  tproc_free(&p);
  tmp_discard(cfg);
}
