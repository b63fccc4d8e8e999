/* End-to-end tests of the host: the real siphon binary runs the test
 * plugins in tests/plugins, and we look at what a user would see: record
 * lines on stdout, messages on stderr, the exit status. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "proc.h"
#include "tmpfile.h"

/* A config with the test plugins on the plugin path. */
static char *config(const char *siphon_extra, const char *sources) {
  return tmp_write("siphon.json",
                   "{\"siphon\": {\"plugin_path\": [\"%s\", \"%s\"]%s%s},\n \"sources\": [%s]}\n",
                   SIPHON_TEST_PLUGIN_DIR, SIPHON_PLUGIN_DIR, siphon_extra[0] ? ", " : "",
                   siphon_extra, sources);
}

static void start(tproc *p, const char *mode, const char *cfg) {
  const char *argv[] = {SIPHON_BIN, "-c", cfg, mode, NULL};
  if (mode == NULL) {
    argv[3] = NULL;
  }
  cr_assert_eq(tproc_start(p, argv, NULL), 0, "cannot start %s", SIPHON_BIN);
}

static int run_once(tproc *p, const char *cfg, int timeout_ms) {
  start(p, "--once", cfg);
  return tproc_finish(p, timeout_ms);
}

/* Parses every stdout line; fails the test on a line that is not JSON. */
static json_t *lines(const char *out) {
  json_t *all = json_array();
  const char *s = out;
  while (*s != '\0') {
    const char *nl = strchr(s, '\n');
    cr_assert_not_null(nl, "a record line without its newline: %s", s);
    json_error_t err;
    json_t *v = json_loadb(s, (size_t)(nl - s), 0, &err);
    cr_assert_not_null(v, "not JSON: %.*s (%s)", (int)(nl - s), s, err.text);
    json_array_append_new(all, v);
    s = nl + 1;
  }
  return all;
}

static size_t count_source(json_t *recs, const char *source) {
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    n += strcmp(json_string_value(json_object_get(v, "source")), source) == 0;
  }
  return n;
}

Test(host, record_line_format) {
  char *cfg = config("",
                     "{\"name\": \"t1\", \"plugin\": \"tick\", \"interval\": \"1s\","
                     " \"tags\": {\"team\": \"a\"}, \"options\": {\"count\": 3}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "exit %d, stderr: %s", st, p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 3);
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    /* Envelope keys, in order: ts, source, plugin, tags, data. */
    const char *keys[] = {"ts", "source", "plugin", "tags", "data"};
    void *it = json_object_iter(v);
    for (size_t k = 0; k < 5; k++) {
      cr_assert_not_null(it);
      cr_assert_str_eq(json_object_iter_key(it), keys[k]);
      it = json_object_iter_next(v, it);
    }
    const char *ts = json_string_value(json_object_get(v, "ts"));
    cr_assert_eq(strlen(ts), 24, "ts %s", ts);
    cr_assert(ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z', "ts %s", ts);
    cr_assert_str_eq(json_string_value(json_object_get(v, "source")), "t1");
    cr_assert_str_eq(json_string_value(json_object_get(v, "plugin")), "tick");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "tags"), "team")), "a");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "i")),
                 (json_int_t)i);
  }
  /* Raw text: compact, one object a line. */
  cr_assert(strncmp(p.out, "{\"ts\":\"", 7) == 0, "%s", p.out);
  cr_assert(strstr(p.err, "round: 1 source, 1 ok, 0 failed, 3 records") != NULL, "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(host, once_exit_status_and_summary) {
  char *cfg =
      config("",
             "{\"name\": \"good\", \"plugin\": \"tick\"},"
             "{\"name\": \"bad\", \"plugin\": \"tick\", \"options\": {\"fail_rounds\": -1}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 1, "a failed source makes --once exit 1, got %d: %s", st, p.err);
  cr_assert(strstr(p.err, "SOURCE") && strstr(p.err, "STATUS") && strstr(p.err, "RECORDS"), "%s",
            p.err);
  cr_assert(strstr(p.err, "tick: failing as configured") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "round: 2 sources, 1 ok, 1 failed") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "[bad] collect failed") != NULL, "log names the source: %s", p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(count_source(recs, "good"), 1);
  cr_assert_eq(count_source(recs, "bad"), 0);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(host, async_timeout_cancels_the_round) {
  char *cfg = config("",
                     "{\"name\": \"slow\", \"plugin\": \"tick\", \"interval\": \"10s\","
                     " \"timeout\": \"200ms\", \"options\": {\"delay\": \"30s\"}},"
                     "{\"name\": \"fast\", \"plugin\": \"tick\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "[slow] collect timed out after 0.200 s") != NULL, "%s", p.err);
  /* Counted as the table shows it: a timeout, not a failure. */
  cr_assert(strstr(p.err, "round: 2 sources, 1 ok, 0 failed, 1 timed out, 1 record") != NULL, "%s",
            p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(count_source(recs, "fast"), 1, "the slow source must not hold up the fast one");
  cr_assert_eq(count_source(recs, "slow"), 0);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(host, hung_async_plugin_does_not_hang_once) {
  char *cfg = config("\"shutdown_grace\": \"200ms\"",
                     "{\"name\": \"hung\", \"plugin\": \"tick\", \"timeout\": \"200ms\","
                     " \"options\": {\"hang\": true, \"cancellable\": false}}");
  tproc p;
  int st = run_once(&p, cfg, 15000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "round: 1 source, 0 ok, 0 failed, 1 timed out") != NULL, "%s", p.err);
  cr_assert(strstr(p.err,
                   "[hung] still running after shutdown_grace and cancellation: plugin "
                   "\"tick\" has not called round_done()") != NULL,
            "the holder is named: %s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_round_held_past_its_timeout_is_blamed_on_the_plugin) {
  char *cfg =
      config("\"shutdown_grace\": \"200ms\"",
             "{\"name\": \"hung\", \"plugin\": \"tick\", \"interval\": \"150ms\","
             " \"timeout\": \"100ms\", \"options\": {\"hang\": true, \"cancellable\": false}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "skipping this turn", 5000), "%s", p.err);
  cr_assert(strstr(p.err, "[hung] previous collect still running after") != NULL, "%s", p.err);
  cr_assert(strstr(p.err,
                   "its timeout passed and cancel() was called, but the plugin has not "
                   "called round_done(): skipping this turn") != NULL,
            "%s", p.err);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 1, "the round is never given back: exit %d: %s", st, p.err);
  tproc_free(&p);
  free(cfg);
}

/* A round never given back would be said at every turn, forever: three
 * times, then once a minute. */
Test(host, a_held_round_is_said_three_times_then_once_a_minute) {
  char *cfg =
      config("\"shutdown_grace\": \"100ms\"",
             "{\"name\": \"hung\", \"plugin\": \"tick\", \"interval\": \"20ms\","
             " \"timeout\": \"10ms\", \"options\": {\"hang\": true, \"cancellable\": false}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "further ones are said once a minute", 5000), "%s", p.err);
  usleep(500 * 1000); /* some 25 turns more */
  tproc_kill(&p, SIGTERM);
  tproc_finish(&p, 10000);
  cr_assert_eq(tproc_count(p.err, "skipping this turn"), 3, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* The config's warnings reach the user: --check on stderr, beside its
 * report, and a run in its log. */
Test(host, a_config_warning_is_said_by_check_and_a_run) {
  char *cfg = config("", "{\"name\": \"fast\", \"plugin\": \"tick\", \"interval\": 10}");
  tproc p;
  cr_assert_eq(tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL), 0, "%s", p.err);
  cr_assert(strstr(p.err, "siphon: warning: ") != NULL, "%s", p.err);
  cr_assert(strstr(p.err,
                   "sources[0].interval: 10 is 10 milliseconds (a bare number is "
                   "milliseconds): write \"10s\" for seconds, or \"10ms\" to keep it") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.out, "ok: 1 source") != NULL, "%s", p.out);
  tproc_free(&p);
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "warn  ") != NULL && strstr(p.err, "10 is 10 milliseconds") != NULL, "%s",
            p.err);
  tproc_free(&p);
  free(cfg);
}

/* Once the held round ends, a later hold is said three times again: the
 * count does not carry over into the next episode. */
Test(host, each_held_round_is_said_again) {
  char *cfg = config("\"shutdown_grace\": \"100ms\"",
                     "{\"name\": \"slow\", \"plugin\": \"sleeper\", \"interval\": \"40ms\","
                     " \"timeout\": \"30ms\", \"max_backoff\": \"40ms\","
                     " \"options\": {\"sleep\": \"250ms\", \"ignore_cancel\": true}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "the collect that held its turns ended after", 5000), "%s",
            p.err);
  /* Up to 10 s for a second episode's warnings. */
  for (int i = 0; i < 100 && tproc_count(p.err, "skipping this turn") <= 3; i++) {
    tproc_wait_stderr(&p, "\n\n\n", 100);
  }
  tproc_kill(&p, SIGTERM);
  tproc_finish(&p, 10000);
  cr_assert_gt(tproc_count(p.err, "skipping this turn"), 3, "%s", p.err);
  /* A skipped turn is not a round: the stop line's breakdown adds up to
   * the rounds, and the turns are counted apart. */
  const char *line = strstr(p.err, "stopped after ");
  cr_assert_not_null(line, "%s", p.err);
  unsigned long rounds, ok, failed, timeouts, turns;
  cr_assert_eq(sscanf(strchr(line, ':'),
                      ": %lu rounds (%lu ok, %lu failed, %lu timed out), %lu turns skipped",
                      &rounds, &ok, &failed, &timeouts, &turns),
               5, "%s", line);
  cr_assert_eq(ok + failed + timeouts, rounds, "%s", line);
  cr_assert_geq(turns, (unsigned long)tproc_count(p.err, "skipping this turn"), "%s", line);
  tproc_free(&p);
  free(cfg);
}

/* A stop that a blocking round outlasts (it ignores the cancel flag, as a
 * driver's wait on a dead server does) still prints --once's table, the
 * round as running, and exits 1 naming it. */
Test(host, once_prints_its_table_when_a_round_outlasts_the_stop) {
  char *cfg = config("\"shutdown_grace\": \"200ms\"",
                     "{\"name\": \"stuck\", \"plugin\": \"sleeper\", \"timeout\": \"20s\","
                     " \"interval\": \"20s\","
                     " \"options\": {\"sleep\": \"20s\", \"ignore_cancel\": true}},"
                     "{\"name\": \"quick\", \"plugin\": \"tick\"}");
  tproc p;
  start(&p, "--once", cfg);
  cr_assert(tproc_wait_stdout(&p, "\"quick\"", 5000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err,
                   "[stuck] still running after shutdown_grace and cancellation: plugin "
                   "\"sleeper\" has not returned from collect_blocking()") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.err, "stuck   sleeper  running") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "round: 2 sources, 1 ok, 0 failed, 1 still running, 1 record") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* A plugin that fills its error's path and text to the last byte, with
 * no NUL: the host reads each to its last byte but one, not past it
 * (past the text is the end of the host's stack struct: ASan catches a
 * read there). */
Test(host, an_error_filled_to_the_brim_is_read_within_it) {
  char *cfg = config("",
                     "{\"name\": \"brim\", \"plugin\": \"tick\", \"options\": "
                     "{\"error_brim\": true}}");
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  char want[300];
  memset(want, 't', 255);
  want[255] = '\0';
  const char *at = strstr(p.err, want);
  cr_assert_not_null(at, "%s", p.err);
  cr_assert_neq(at[255], 't', "read past the text: %s", p.err);
  cr_assert_null(
      strstr(p.err,
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "ppppppppppppppppppppppppppppppppppppppppppppppppppppt"),
      "read past the path into the text: %s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* The same leftover after --check, where siphon never ran: it hung
 * forever in the teardown. */
Test(host, a_handle_a_plugin_leaves_active_does_not_hang_check) {
  char *cfg = config("",
                     "{\"name\": \"leaky\", \"plugin\": \"tick\", \"options\": "
                     "{\"leak_timer\": true}}");
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "plugin \"tick\" left a timer handle open: closing it") != NULL, "%s",
            p.err);
  tproc_free(&p);
  free(cfg);
}

/* Runs siphon over cfg with stdout's reader standing still for
 * `stall_s` seconds (then it says "reading" on stderr and counts the
 * lines, into p->out), stops siphon after 4 s, kills it at 8 s; asserts
 * that siphon itself exited 0 (137 there: it was killed, stuck). */
static void run_behind_a_stalled_reader(tproc *p, const char *cfg, int stall_s) {
  char script[1024];
  snprintf(script, sizeof(script),
           "{ timeout -s KILL 8 '%s' -c '%s' & pid=$!; sleep 4; kill -TERM $pid; wait $pid;"
           " echo \"siphon=$?\" >&2; } | { sleep %d; echo reading >&2; wc -l; }",
           SIPHON_BIN, cfg, stall_s);
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  cr_assert_eq(tproc_start(p, argv, NULL), 0);
  int st = tproc_finish(p, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p->err);
  cr_assert_not_null(strstr(p->err, "siphon=0"), "siphon's status: %s", p->err);
}

/* A plugin's threads that emit faster than the output takes get
 * backpressure: while stdout's reader stands still, a thread cannot
 * emit its 100,000 records (the queue holds 16,384); before, all of them
 * went into memory at once. Once the reader reads, every record comes. */
Test(host, threadsafe_emits_wait_while_the_output_is_behind) {
  char *cfg = config("\"buffer_limit\": \"64KiB\"",
                     "{\"name\": \"th\", \"plugin\": \"threads\", \"options\": "
                     "{\"threads\": 2, \"records\": 100000}}");
  tproc p;
  run_behind_a_stalled_reader(&p, cfg, 2);
  /* Ordered in stderr, whenever the test reads it: no thread was done
   * before the reader began. */
  const char *reading = strstr(p.err, "reading");
  const char *emitted = strstr(p.err, "emitted 100000 records");
  cr_assert(reading != NULL && emitted != NULL, "%s", p.err);
  cr_assert(reading < emitted, "a thread emitted everything while nothing read the output: %s",
            p.err);
  cr_assert_eq(atol(p.out), 200000, "%s records: %s", p.out, p.err);
  cr_assert_eq(tproc_count(p.err, "emitted 100000 records"), 2, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* The backpressure above must not deadlock a plugin whose pause() takes
 * a lock its threads hold while they emit: the loop in pause() waited on
 * a thread that waited on the loop. */
Test(host, threadsafe_backpressure_does_not_deadlock_a_pausing_plugin) {
  char *cfg = config("\"buffer_limit\": \"64KiB\"",
                     "{\"name\": \"th\", \"plugin\": \"threads\", \"options\": "
                     "{\"threads\": 4, \"records\": 50000, \"pause_lock\": true}}");
  tproc p;
  run_behind_a_stalled_reader(&p, cfg, 1);
  cr_assert_eq(atol(p.out), 200000, "%s records: %s", p.out, p.err);
  tproc_free(&p);
  free(cfg);
}

/* A blocking round that has returned and is writing its records a chunk
 * a loop turn is not hung: a stop that comes meanwhile writes them all,
 * even past shutdown_grace and the second after it, and exits 0. Before,
 * the hard deadline called it hung and lost what was left. One record a
 * chunk (SIPHON_DELIVER_CHUNK) makes 3,000 take about 3 s. */
Test(host, a_stop_writes_what_a_returned_blocking_round_holds) {
  char *cfg = config("\"shutdown_grace\": \"100ms\"",
                     "{\"name\": \"big\", \"plugin\": \"sleeper\", \"interval\": \"1h\","
                     " \"timeout\": \"30s\", \"options\": {\"count\": 3000}}");
  const char *argv[] = {SIPHON_BIN, "-c", cfg, NULL};
  const char *env[] = {"SIPHON_DELIVER_CHUNK=1", NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, env), 0);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"big\"", 10000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(tproc_count(p.out, "\n"), 3000, "%s", p.err);
  cr_assert(strstr(p.err, "not written") == NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* --once's table waits for a timed-out blocking round that has returned
 * to write what it emitted before its timeout, and counts it: its
 * RECORDS is what stdout got. */
Test(host, once_counts_what_a_timed_out_blocking_round_writes_late) {
  char *cfg =
      config("",
             "{\"name\": \"late\", \"plugin\": \"sleeper\", \"interval\": \"1h\","
             " \"timeout\": \"200ms\", \"options\": {\"count\": 2000, \"emit_first\": true,"
             " \"sleep\": \"400ms\", \"ignore_cancel\": true}},"
             "{\"name\": \"slow\", \"plugin\": \"tick\", \"options\": {\"delay\": \"450ms\"}}");
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--once", NULL};
  const char *env[] = {"SIPHON_DELIVER_CHUNK=1", NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, env), 0);
  int st = tproc_finish(&p, 30000);
  cr_assert_eq(st, 1, "exit %d (late timed out): %s", st, p.err);
  cr_assert_eq(tproc_count(p.out, "\"source\":\"late\""), 2000, "%s", p.err);
  cr_assert(strstr(p.err, "late    sleeper  timeout       2000") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* A handle a plugin leaves active kept the loop, and siphon, running
 * after its stop line (and --once ignores a first signal then): siphon
 * closes it a second after the stop, names it, and exits. */
Test(host, a_handle_a_plugin_leaves_active_does_not_hang_the_exit) {
  char *cfg = config("",
                     "{\"name\": \"leaky\", \"plugin\": \"tick\", \"options\": "
                     "{\"leak_timer\": true}}, {\"name\": \"a\", \"plugin\": \"sleeper\"},"
                     " {\"name\": \"b\", \"plugin\": \"tick\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  /* A handle has no owner: the suspects are the sources' plugins. */
  cr_assert(strstr(p.err,
                   "one of the plugins \"tick\", \"sleeper\" left a timer handle open: "
                   "closing it") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* Rounds a stop cancels past shutdown_grace are said in one line, not a
 * warning each: with thousands of sources those would bury the stop. */
Test(host, rounds_cancelled_by_the_stop_are_said_once) {
  char sources[2048] = "";
  for (int i = 0; i < 5; i++) {
    char one[256];
    snprintf(one, sizeof(one),
             "%s{\"name\": \"slow%d\", \"plugin\": \"tick\", \"interval\": \"20s\", "
             "\"options\": {\"delay\": \"10s\"}}",
             i ? "," : "", i);
    strncat(sources, one, sizeof(sources) - strlen(sources) - 1);
  }
  char *cfg = config("\"shutdown_grace\": \"100ms\"", sources);
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "running 5 sources", 5000), "%s", p.err);
  usleep(300 * 1000); /* their first rounds start within the scheduler's 10 ms grain */
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert(strstr(p.err, "shutdown_grace passed: cancelling 5 collects") != NULL, "%s", p.err);
  cr_assert_null(strstr(p.err, "collect failed"), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* The table waits for a timed-out blocking round to return (it still
 * writes what it emitted before its timeout); a second signal meanwhile
 * ends siphon at once, and still prints it. */
Test(host, once_prints_its_table_at_a_second_signal) {
  char *cfg = config("\"shutdown_grace\": \"20s\"",
                     "{\"name\": \"stuck\", \"plugin\": \"sleeper\", \"timeout\": \"200ms\","
                     " \"interval\": \"20s\","
                     " \"options\": {\"sleep\": \"30s\", \"ignore_cancel\": true}},"
                     "{\"name\": \"quick\", \"plugin\": \"tick\"}");
  tproc p;
  start(&p, "--once", cfg);
  cr_assert(tproc_wait_stderr(&p, "[stuck] collect timed out", 5000), "%s", p.err);
  cr_assert_null(strstr(p.err, "round: "), "the table waits for the round: %s", p.err);
  tproc_kill(&p, SIGINT);
  usleep(700 * 1000); /* past the 0.5 s in which a copy of the first is ignored */
  tproc_kill(&p, SIGINT);
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 130, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "stuck   sleeper  timeout") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "round: 2 sources, 1 ok, 0 failed, 1 timed out") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* A plugin's own timeout at the round's deadline (libcurl's total
 * timeout is what is left of the round's) is the round's timeout, whoever
 * notices first; an earlier -ETIMEDOUT (a connect timeout) is a failure. */
Test(host, a_plugins_timeout_at_the_deadline_is_a_timeout) {
  char *cfg = config("",
                     "{\"name\": \"late\", \"plugin\": \"tick\", \"timeout\": \"310ms\","
                     " \"options\": {\"delay\": \"300ms\", \"fail_rounds\": -1,"
                     " \"fail_errno\": 110}},"
                     "{\"name\": \"early\", \"plugin\": \"tick\", \"timeout\": \"5s\","
                     " \"options\": {\"delay\": \"100ms\", \"fail_rounds\": -1,"
                     " \"fail_errno\": 110}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 1, "%s", p.err);
  cr_assert(strstr(p.err, "late    tick    timeout") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "early   tick    failed") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "[late] collect timed out: tick: failing as configured") != NULL, "%s",
            p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, blocking_timeout_sets_cancel_flag) {
  char *cfg = config("",
                     "{\"name\": \"slowb\", \"plugin\": \"sleeper\", \"timeout\": \"300ms\","
                     " \"options\": {\"sleep\": \"20s\"}},"
                     "{\"name\": \"okb\", \"plugin\": \"sleeper\"}");
  tproc p;
  int st = run_once(&p, cfg, 15000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "[slowb] collect timed out") != NULL, "%s", p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(count_source(recs, "okb"), 1);
  cr_assert_eq(count_source(recs, "slowb"), 0);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* A blocking round that times out still writes what it emitted before
 * its timeout, once it returns: --once's table counts those records. */
Test(host, once_counts_what_a_timed_out_blocking_round_wrote) {
  char *cfg = config("\"shutdown_grace\": \"10s\"",
                     "{\"name\": \"early\", \"plugin\": \"sleeper\", \"timeout\": \"200ms\","
                     " \"options\": {\"sleep\": \"600ms\", \"ignore_cancel\": true, \"count\": 3,"
                     " \"emit_first\": true}}");
  tproc p;
  int st = run_once(&p, cfg, 15000);
  cr_assert_eq(st, 1, "a timeout fails --once: exit %d: %s", st, p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 3, "%s", p.err);
  json_decref(recs);
  cr_assert(strstr(p.err, "early   sleeper  timeout          3") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "1 timed out, 3 records in") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, records_after_timeout_are_discarded_and_counted) {
  char *cfg =
      config("\"shutdown_grace\": \"10s\"",
             "{\"name\": \"late\", \"plugin\": \"sleeper\", \"timeout\": \"200ms\","
             " \"options\": {\"sleep\": \"800ms\", \"ignore_cancel\": true, \"count\": 2}}");
  tproc p;
  int st = run_once(&p, cfg, 15000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert_eq(p.out_len, 0, "nothing after the timeout is written: %s", p.out);
  cr_assert(
      strstr(p.err,
             "2 records were discarded: emitted after their round timed out, was cancelled or had "
             "finished\n") != NULL,
      "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, overrun_turns_are_skipped_and_logged) {
  char *cfg = config("\"shutdown_grace\": \"3s\"",
                     "{\"name\": \"long\", \"plugin\": \"sleeper\", \"interval\": \"200ms\","
                     " \"options\": {\"sleep\": \"1s\", \"ignore_cancel\": true}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "skipping this turn", 5000), "%s", p.err);
  cr_assert(strstr(p.err, "[long] previous collect still running") != NULL, "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* With the timeout at its default, the interval, a round that times out
 * does so as its next turn comes: that turn waits for the timeout and
 * runs, instead of being skipped as "still running" in the same ms. Each
 * such round starts a little late (the timeout, the release, a loop
 * turn), and the next later still: 70 in a row are never a skip (a
 * version that waited only for a timeout due within 50 ms skipped one in
 * some 40). */
Test(host, rounds_that_time_out_back_to_back_are_never_skips) {
  char *cfg = config("",
                     "{\"name\": \"slow\", \"plugin\": \"tick\", \"interval\": \"100ms\","
                     " \"max_backoff\": \"100ms\", \"options\": {\"hang\": true}}");
  tproc p;
  start(&p, NULL, cfg);
  /* Bounded: 120 waits of 100 ms for 70 timeouts 100 ms apart. */
  for (int i = 0; i < 120 && tproc_count(p.err, "collect timed out") < 70; i++) {
    tproc_wait_stderr(&p, "a line never logged", 100);
  }
  cr_assert_geq(tproc_count(p.err, "collect timed out"), 70, "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_null(strstr(p.err, "skipping this turn"), "%s", p.err);
  cr_assert_not_null(strstr(p.err, " timed out), 0 turns skipped, "), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* With a jitter, a round that started late in its turn (by a jitter
 * drawn longer than the next one's) may still run when the next turn
 * comes, though it takes less than the interval: that turn waits for it
 * (at most its timeout, the jitter away), rather than drop a round of a
 * source that keeps up and warn that it does not. */
Test(host, a_jittered_round_running_into_its_next_turn_is_waited_for) {
  char *cfg = config("\"log_level\": \"debug\"",
                     "{\"name\": \"late\", \"plugin\": \"tick\", \"interval\": \"200ms\","
                     " \"jitter\": \"180ms\", \"options\": {\"delay\": \"160ms\"}}");
  tproc p;
  start(&p, NULL, cfg);
  /* The jitter's sequence is the same every run: within some 25 turns a
   * round runs into the next one. */
  cr_assert(tproc_wait_stderr(&p, "it waits for the round, at most until its timeout", 5000), "%s",
            p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_null(strstr(p.err, "skipping this turn"), "%s", p.err);
  cr_assert_null(strstr(p.err, "collect timed out"), "%s", p.err);
  cr_assert_not_null(strstr(p.err, " 0 failed, 0 timed out), 0 turns skipped, "), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_failing_source_backs_off_up_to_max_backoff) {
  char *cfg = config("",
                     "{\"name\": \"down\", \"plugin\": \"tick\", \"interval\": \"50ms\","
                     " \"max_backoff\": \"200ms\", \"options\": {\"fail_rounds\": -1}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "3 failures in a row", 10000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  /* Two intervals, then four, then the cap. */
  cr_assert(strstr(p.err, "[down] 1 failure in a row: next try in 0.100 s") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "[down] 2 failures in a row: next try in 0.200 s") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "[down] 3 failures in a row: next try in 0.200 s") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, sources_run_at_their_interval) {
  char *cfg = config("", "{\"name\": \"t\", \"plugin\": \"tick\", \"interval\": \"100ms\"}");
  tproc p;
  start(&p, NULL, cfg);
  /* seq counts rounds: the fifth record shows the source ran again and
   * again without being asked. */
  cr_assert(tproc_wait_stdout(&p, "\"seq\":4,", 10000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, failing_source_backs_off_and_others_keep_going) {
  char *cfg = config("",
                     "{\"name\": \"flaky\", \"plugin\": \"tick\", \"interval\": \"100ms\","
                     " \"max_backoff\": \"400ms\", \"options\": {\"fail_rounds\": -1}},"
                     "{\"name\": \"steady\", \"plugin\": \"tick\", \"interval\": \"100ms\"}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "next try in 0.200 s", 5000), "%s", p.err);
  cr_assert(tproc_wait_stderr(&p, "next try in 0.400 s", 5000), "%s", p.err);
  cr_assert(tproc_wait_stderr(&p, "4 failures in a row: next try in 0.400 s", 5000),
            "capped at max_backoff: %s", p.err);
  cr_assert(tproc_wait_stdout(&p, "\"seq\":9,", 5000), "steady keeps its rhythm: %s", p.out);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0);
  cr_assert_eq(tproc_count(p.out, "\"source\":\"flaky\""), 0);
  tproc_free(&p);
  free(cfg);
}

Test(host, backoff_resets_after_success) {
  char *cfg = config("",
                     "{\"name\": \"heals\", \"plugin\": \"tick\", \"interval\": \"100ms\","
                     " \"options\": {\"fail_rounds\": 2}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "[heals] collect succeeded again after 2 failures", 5000), "%s",
            p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0);
  tproc_free(&p);
  free(cfg);
}

Test(host, hung_blocking_rounds_leave_threads_for_name_lookups) {
  /* One blocking plugin whose four rounds hang would take every thread
   * of a pool sized for them, and the socket probe's lookup of
   * "localhost" (uv_getaddrinfo, on the same pool) would wait behind
   * them past its timeout. Two threads are kept back for it. */
  int port = 0;
  int lfd = tnet_bind(SOCK_STREAM, &port);
  cr_assert_eq(listen(lfd, 16), 0);
  char sources[1024];
  const char *sleeper =
      "\"plugin\": \"sleeper\", \"interval\": \"10s\", \"timeout\": \"3s\","
      " \"options\": {\"sleep\": \"2s\"}";
  snprintf(sources, sizeof(sources),
           "{\"name\": \"s0\", %s}, {\"name\": \"s1\", %s}, {\"name\": \"s2\", %s},"
           " {\"name\": \"s3\", %s}, {\"name\": \"probe\", \"plugin\": \"socket\","
           " \"interval\": \"10s\", \"timeout\": \"1s\", \"options\": {\"mode\": \"probe\","
           " \"address\": \"tcp://localhost:%d\"}}",
           sleeper, sleeper, sleeper, sleeper, port);
  char *cfg = config("", sources);
  tproc p;
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = lines(p.out);
  size_t i;
  json_t *v;
  int probes = 0;
  json_array_foreach(recs, i, v) {
    if (strcmp(json_string_value(json_object_get(v, "source")), "probe") == 0) {
      probes++;
      json_t *data = json_object_get(v, "data");
      cr_expect_str_eq(json_string_value(json_object_get(data, "result")), "success", "%s", p.out);
    }
  }
  cr_expect_eq(probes, 1, "%s", p.out);
  json_decref(recs);
  tproc_free(&p);
  close(lfd);
  free(cfg);
}

Test(host, two_hung_blocking_plugins_leave_threads_for_name_lookups) {
  /* The two threads kept back hold for all blocking plugins together:
   * two plugins at half each must not take the whole pool between them. */
  int port = 0;
  int lfd = tnet_bind(SOCK_STREAM, &port);
  cr_assert_eq(listen(lfd, 16), 0);
  char sources[1024];
  const char *opts = "\"interval\": \"10s\", \"timeout\": \"3s\", \"options\": {\"sleep\": \"2s\"}";
  snprintf(sources, sizeof(sources),
           "{\"name\": \"a0\", \"plugin\": \"sleeper\", %s}, {\"name\": \"a1\", \"plugin\": "
           "\"sleeper\", %s}, {\"name\": \"b0\", \"plugin\": \"sleeper2\", %s}, {\"name\": \"b1\","
           " \"plugin\": \"sleeper2\", %s}, {\"name\": \"probe\", \"plugin\": \"socket\","
           " \"interval\": \"10s\", \"timeout\": \"1s\", \"options\": {\"mode\": \"probe\","
           " \"address\": \"tcp://localhost:%d\"}}",
           opts, opts, opts, opts, port);
  char *cfg = config("\"threads\": 4", sources);
  tproc p;
  /* Two threads for the four sleepers: two of them wait and time out. */
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.out, "\"result\":\"success\"") != NULL, "%s", p.out);
  tproc_free(&p);
  close(lfd);
  free(cfg);
}

Test(host, a_busy_blocking_plugin_does_not_take_back_every_thread_it_frees) {
  /* Four sleepers that always have a round waiting and one quick other
   * plugin share the two threads blocking work may have: a freed thread
   * goes to the other plugin's queue in turn, so its rounds do not time
   * out waiting. */
  char sources[2048];
  const char *slow =
      "\"plugin\": \"sleeper\", \"interval\": \"400ms\", \"timeout\": \"400ms\","
      " \"options\": {\"sleep\": \"300ms\"}";
  snprintf(sources, sizeof(sources),
           "{\"name\": \"a0\", %s}, {\"name\": \"a1\", %s}, {\"name\": \"a2\", %s},"
           " {\"name\": \"a3\", %s}, {\"name\": \"b0\", \"plugin\": \"sleeper2\","
           " \"interval\": \"400ms\", \"timeout\": \"400ms\", \"options\": {\"sleep\": \"10ms\"}}",
           slow, slow, slow, slow);
  char *cfg = config("\"threads\": 4, \"max_pool_share\": 1.0", sources);
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout_count(&p, "\"source\":\"b0\"", 5, 10000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "[b0] collect timed out"), 0, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, two_blocking_plugins_on_the_default_pool_run_every_source_at_once) {
  /* Three sources of two plugins: a pool of 5, 3 of them for blocking
   * work, and each plugin's half rounded up, so none waits. */
  char *cfg = config("",
                     "{\"name\": \"a0\", \"plugin\": \"sleeper\", \"timeout\": \"900ms\","
                     " \"options\": {\"sleep\": \"500ms\"}},"
                     "{\"name\": \"a1\", \"plugin\": \"sleeper\", \"timeout\": \"900ms\","
                     " \"options\": {\"sleep\": \"500ms\"}},"
                     "{\"name\": \"b0\", \"plugin\": \"sleeper2\", \"timeout\": \"900ms\","
                     " \"options\": {\"sleep\": \"500ms\"}}");
  tproc p;
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_expect_eq(count_lines(p.out), 3, "%s", p.out);
  tproc_free(&p);
  free(cfg);
}

Test(host, bulkhead_leaves_threads_for_other_plugins) {
  /* 4 threads, each plugin at most half: four slow sleepers can hold only
   * two threads, so sleeper2 gets one at once and finishes first. */
  char *cfg =
      config("\"threads\": 4, \"max_pool_share\": 0.5",
             "{\"name\": \"s1\", \"plugin\": \"sleeper\", \"options\": {\"sleep\": \"1s\"}},"
             "{\"name\": \"s2\", \"plugin\": \"sleeper\", \"options\": {\"sleep\": \"1s\"}},"
             "{\"name\": \"s3\", \"plugin\": \"sleeper\", \"options\": {\"sleep\": \"1s\"}},"
             "{\"name\": \"s4\", \"plugin\": \"sleeper\", \"options\": {\"sleep\": \"1s\"}},"
             "{\"name\": \"other\", \"plugin\": \"sleeper2\"}");
  tproc p;
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 5);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 0), "source")), "other");
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    json_t *data = json_object_get(v, "data");
    if (strcmp(json_string_value(json_object_get(v, "plugin")), "sleeper") == 0) {
      cr_assert_leq(json_integer_value(json_object_get(data, "peak")), 2,
                    "sleeper ran on more than its share of the pool");
    }
  }
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* Runs siphon over cfg until each of the threads plugin's n threads has
 * said it emitted `records`, and until stdout has them all, then stops
 * it; asserts a clean exit. */
static void run_threads(tproc *p, const char *cfg, int n, int records) {
  start(p, NULL, cfg);
  for (int t = 0; t < n; t++) {
    char needle[64];
    snprintf(needle, sizeof(needle), "thread %d emitted %d records", t, records);
    cr_assert(tproc_wait_stderr(p, needle, 20000), "%s", p->err);
  }
  cr_assert(tproc_wait_stdout_count(p, "\n", (size_t)n * (size_t)records, 20000), "%s", p->err);
  tproc_kill(p, SIGTERM);
  cr_assert_eq(tproc_finish(p, 20000), 0, "%s", p->err);
}

/* A plugin may start its threads in create(): what they emit before the
 * run is written once it runs, and under --check (which never runs) it
 * is counted away. Before, either crashed on the loop's wake-up, not
 * yet made. */
Test(host, threads_started_in_create_may_emit_at_once) {
  char *cfg =
      config("",
             "{\"name\": \"th\", \"plugin\": \"threads\","
             " \"options\": {\"threads\": 2, \"records\": 2000, \"start_in_create\": true}}");
  tproc p;
  int st = tproc_siphon(&p, 20000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  tproc_free(&p);
  run_threads(&p, cfg, 2, 2000);
  cr_assert_eq(count_lines(p.out), 4000, "%s", p.err);
  tproc_free(&p);
  free(cfg);
  /* And with emit() from those threads, before the source is marked
   * streaming: rerouted, none refused as a polled source's. */
  cfg = config("",
               "{\"name\": \"th\", \"plugin\": \"threads\", \"options\": {\"threads\": 2,"
               " \"records\": 2000, \"start_in_create\": true, \"wrong_emit\": true}}");
  run_threads(&p, cfg, 2, 2000);
  cr_assert_eq(count_lines(p.out), 4000, "%s", p.err);
  cr_assert_null(strstr(p.err, "for a polled source"), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* emit() from a plugin's own thread (a data race on the output queue)
 * is caught: said once, and its records go the thread-safe way, none
 * lost. */
Test(host, emit_from_a_plugin_thread_is_caught_and_made_safe) {
  char *cfg = config("",
                     "{\"name\": \"th\", \"plugin\": \"threads\","
                     " \"options\": {\"threads\": 2, \"records\": 3000, \"wrong_emit\": true}}");
  tproc p;
  run_threads(&p, cfg, 2, 3000);
  cr_assert_eq(tproc_count(p.err, "called emit() from a thread of its own"), 1, "%s", p.err);
  cr_assert_eq(count_lines(p.out), 6000, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, threadsafe_emit_from_four_threads_loses_nothing) {
  char *cfg = config("",
                     "{\"name\": \"th\", \"plugin\": \"threads\","
                     " \"options\": {\"threads\": 4, \"records\": 5000}}");
  tproc p;
  run_threads(&p, cfg, 4, 5000);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 20000);
  /* In order per thread, none twice, none missing. */
  json_int_t next[4] = {0, 0, 0, 0};
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    json_t *data = json_object_get(v, "data");
    json_int_t t = json_integer_value(json_object_get(data, "thread"));
    cr_assert(t >= 0 && t < 4);
    cr_assert_eq(json_integer_value(json_object_get(data, "n")), next[t]);
    next[t]++;
  }
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* A stop() that flushes what it holds fills the output queue over its
 * limit: the host pauses no source then (pause() inside stop(), with no
 * resume() to follow), and writes every record. */
Test(host, a_flush_in_stop_is_not_paused) {
  char *cfg = config("\"buffer_limit\": 4096",
                     "{\"name\": \"flusher\", \"plugin\": \"stream\","
                     " \"options\": {\"every\": 1000, \"limit\": 1, \"flush\": 200, "
                     "\"size\": 100}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout(&p, "\"seq\":0", 5000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_null(strstr(p.err, "pause() called inside stop()"), "%s", p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 201, "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* A start() that sends a backlog over the output's limit pauses the host
 * before the sources after it have started, and before its own start()
 * has returned: each is paused once started, so that its resume() has a
 * pause() before it and the ones after it do not run on unpaused. */
Test(host, a_source_started_during_a_pause_is_paused) {
  char *cfg = config("\"buffer_limit\": 4096",
                     "{\"name\": \"backlog\", \"plugin\": \"stream\","
                     " \"options\": {\"every\": 1000, \"limit\": 0, \"start_burst\": 200, "
                     "\"size\": 100}},"
                     "{\"name\": \"late\", \"plugin\": \"stream\","
                     " \"options\": {\"every\": 1000, \"limit\": 0}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "resuming sources", 10000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_null(strstr(p.err, "resume() without a pause()"), "%s", p.err);
  cr_assert(strstr(p.err, "[late] stopped: emitted 0 records, paused 1 times") != NULL, "%s",
            p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, backpressure_pauses_without_loss) {
  char *cfg = config("\"buffer_limit\": 65536",
                     "{\"name\": \"firehose\", \"plugin\": \"stream\","
                     " \"options\": {\"every\": 1, \"burst\": 200, \"size\": 200}}");
  tproc p;
  start(&p, NULL, cfg);
  /* A slow reader: read nothing for a while, so the pipe and then the
   * output queue fill up. */
  usleep(1500 * 1000);
  cr_assert(tproc_wait_stderr(&p, "pausing sources", 5000), "%s", p.err);
  cr_assert(tproc_wait_stderr(&p, "resuming sources", 10000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 30000), 0, "%s", p.err);
  const char *stopped = strstr(p.err, "stopped: emitted ");
  cr_assert_not_null(stopped, "%s", p.err);
  long long emitted = atoll(stopped + strlen("stopped: emitted "));
  json_t *recs = lines(p.out);
  cr_assert_eq((long long)json_array_size(recs), emitted, "every record emitted is written");
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "seq")),
                 (json_int_t)i);
  }
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(host, shutdown_waits_for_rounds_in_flight) {
  char *cfg = config("",
                     "{\"name\": \"inflight\", \"plugin\": \"sleeper\", \"interval\": \"1m\","
                     " \"options\": {\"sleep\": \"700ms\", \"count\": 3}}");
  tproc p;
  start(&p, NULL, cfg);
  usleep(300 * 1000);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_eq(count_lines(p.out), 3, "the round in flight finished and was written: %s", p.out);
  tproc_free(&p);
  free(cfg);
}

/* A blocking collect that emitted and then hung past shutdown_grace:
 * siphon exits without it, and says how many of its records are lost,
 * since "every record emitted is written or counted". */
Test(host, records_of_a_hung_blocking_collect_are_counted_at_exit) {
  char *cfg = config("\"shutdown_grace\": \"200ms\"",
                     "{\"name\": \"stuck\", \"plugin\": \"sleeper\", \"timeout\": \"300ms\","
                     " \"options\": {\"sleep\": \"1m\", \"ignore_cancel\": true, \"count\": 3,"
                     " \"emit_first\": true}}");
  tproc p;
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect_eq(count_lines(p.out), 0, "%s", p.out);
  cr_expect(
      strstr(p.err, "3 records emitted by the collects still running were not written") != NULL,
      "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* The same collect, and a second signal during the grace: the count is
 * in siphon's last words too. */
Test(host, second_signal_counts_the_records_a_hung_collect_holds) {
  char *cfg =
      config("\"shutdown_grace\": \"1m\"",
             "{\"name\": \"stuck\", \"plugin\": \"sleeper\", \"interval\": \"2m\","
             " \"timeout\": \"2m\", \"options\": {\"sleep\": \"1m\", \"ignore_cancel\": true,"
             " \"count\": 2, \"emit_first\": true}}");
  tproc p;
  start(&p, NULL, cfg);
  /* Its round starts with the run, and emits before it sleeps. */
  cr_assert(tproc_wait_stderr(&p, "running 1 source", 5000), "%s", p.err);
  usleep(200 * 1000);
  tproc_kill(&p, SIGTERM);
  cr_assert(tproc_wait_stderr(&p, "SIGTERM: stopping", 5000), "%s", p.err);
  usleep(700 * 1000);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 5000), 128 + SIGTERM, "%s", p.err);
  cr_expect(strstr(p.err, "second signal: exiting at once (2 records unwritten)") != NULL, "%s",
            p.err);
  tproc_free(&p);
  free(cfg);
}

/* A stop signal, then `second` after `gap_ms`, while a collect that
 * ignores cancellation holds the shutdown: siphon must exit at once. */
static void expect_second_signal_exits(int second, unsigned gap_ms) {
  char *cfg =
      config("\"shutdown_grace\": \"1m\"",
             "{\"name\": \"stuck\", \"plugin\": \"sleeper\", \"interval\": \"2m\","
             " \"timeout\": \"2m\", \"options\": {\"sleep\": \"1m\", \"ignore_cancel\": true}}");
  tproc p;
  start(&p, NULL, cfg);
  usleep(300 * 1000);
  tproc_kill(&p, SIGTERM);
  cr_assert(tproc_wait_stderr(&p, "SIGTERM: stopping", 5000), "%s", p.err);
  usleep(gap_ms * 1000);
  tproc_kill(&p, second);
  cr_assert_eq(tproc_finish(&p, 5000), 128 + second, "%s", p.err);
  cr_assert(strstr(p.err, "second signal") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, second_signal_exits_at_once) {
  expect_second_signal_exits(SIGTERM, 700); /* past the window in which a copy is the first */
}

Test(host, another_signal_at_once_still_exits_at_once) {
  /* Only a copy of the first signal is ignored: Ctrl-C after a SIGTERM
   * is someone asking again. */
  expect_second_signal_exits(SIGINT, 0);
}

Test(host, a_signal_sent_twice_at_once_stops_gracefully) {
  /* What `timeout` does: SIGTERM to the process and to its group. */
  char *cfg = config("", "{\"name\": \"t\", \"plugin\": \"tick\", \"interval\": \"50ms\"}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"t\"", 5000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "stopped after") != NULL, "the summary line is there: %s", p.err);
  cr_assert(strstr(p.err, "second signal") == NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, sighup_reopens_the_output_file_for_logrotate) {
  char *dir = tmp_dir();
  char extra[1024], path[1100], moved[1100];
  snprintf(extra, sizeof(extra), "\"output\": {\"type\": \"file\", \"path\": \"%s/out.jsonl\"}",
           dir);
  snprintf(path, sizeof(path), "%s/out.jsonl", dir);
  snprintf(moved, sizeof(moved), "%s/out.jsonl.1", dir);
  char *cfg = config(extra, "{\"name\": \"t\", \"plugin\": \"tick\", \"interval\": \"20ms\"}");
  tproc p;
  start(&p, NULL, cfg);
  size_t before = 0;
  for (int i = 0; i < 500 && before < 5; i++) { /* at most 5 s */
    usleep(10 * 1000);
    char *text = tmp_read(path, NULL);
    before = text != NULL ? count_lines(text) : 0;
    free(text);
  }
  cr_assert_geq(before, 5, "records reach the file: %s", p.err);
  cr_assert_eq(rename(path, moved), 0); /* what logrotate does first */
  tproc_kill(&p, SIGHUP);
  cr_assert(tproc_wait_stderr(&p, "SIGHUP: output file", 5000), "%s", p.err);
  size_t after = 0;
  for (int i = 0; i < 500 && after < 5; i++) {
    usleep(10 * 1000);
    char *text = tmp_read(path, NULL);
    after = text != NULL ? count_lines(text) : 0;
    free(text);
  }
  cr_assert_geq(after, 5, "records go to the new file: %s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  /* Nothing lost or split between the two: every line whole, and as many
   * as the stop line says were written. */
  char *old_text = tmp_read(moved, NULL);
  char *new_text = tmp_read(path, NULL);
  cr_assert_not_null(old_text);
  cr_assert_not_null(new_text);
  json_t *a = lines(old_text), *b = lines(new_text);
  unsigned long long written = 0;
  const char *stop = strstr(p.err, "records written");
  cr_assert_not_null(stop, "%s", p.err);
  const char *num = stop;
  while (num > p.err && num[-1] == ' ') {
    num--;
  }
  while (num > p.err && num[-1] >= '0' && num[-1] <= '9') {
    num--;
  }
  cr_assert_eq(sscanf(num, "%llu", &written), 1, "%s", p.err);
  cr_assert_eq(json_array_size(a) + json_array_size(b), written, "%zu + %zu lines, %llu written",
               json_array_size(a), json_array_size(b), written);
  json_decref(a);
  json_decref(b);
  free(old_text);
  free(new_text);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(host, sighup_on_stdout_keeps_running) {
  char *cfg = config("", "{\"name\": \"t\", \"plugin\": \"tick\", \"interval\": \"50ms\"}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"t\"", 5000), "%s", p.err);
  tproc_kill(&p, SIGHUP);
  cr_assert(tproc_wait_stderr(&p, "SIGHUP: nothing to reopen", 5000), "%s", p.err);
  size_t n = tproc_count(p.out, "\"source\":\"t\"");
  cr_assert(tproc_wait_stdout_count(&p, "\"source\":\"t\"", n + 3, 5000), "still running: %s",
            p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* Waits up to 5 s for `needle` in the file at path. */
static int file_has(const char *path, const char *needle) {
  for (int i = 0; i < 500; i++) {
    char *text = tmp_read(path, NULL);
    int found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    if (found) {
      return 1;
    }
    usleep(10 * 1000);
  }
  return 0;
}

Test(host, log_file_takes_the_log_and_sighup_reopens_it) {
  char *dir = tmp_dir();
  char extra[1200], path[1100], moved[1100];
  snprintf(path, sizeof(path), "%s/siphon.log", dir);
  snprintf(moved, sizeof(moved), "%s/siphon.log.1", dir);
  snprintf(extra, sizeof(extra), "\"log_file\": \"%s\"", path);
  /* A failing round logs a line that names its source. */
  char *cfg = config(extra,
                     "{\"name\": \"t\", \"plugin\": \"tick\", \"interval\": \"20ms\", "
                     "\"options\": {\"fail_rounds\": -1}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(file_has(path, "[t] "), "the source's log lines reach the file: %s", p.err);
  cr_assert_eq(rename(path, moved), 0); /* what logrotate does first */
  tproc_kill(&p, SIGHUP);
  cr_assert(file_has(path, "SIGHUP: log file"), "the new file gets the lines after: %s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  char *old_text = tmp_read(moved, NULL);
  char *new_text = tmp_read(path, NULL);
  cr_assert_not_null(old_text);
  cr_assert_not_null(new_text);
  cr_expect(strstr(old_text, "SIGHUP") == NULL, "the moved file ends before the reopen: %s",
            old_text);
  cr_expect(strstr(new_text, "stopped after") != NULL, "the stop line too: %s", new_text);
  cr_expect_str_eq(p.err, "", "nothing on stderr once the log file is open");
  free(old_text);
  free(new_text);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

/* An exit that is not 0, with the log in a file: stderr, all that a
 * supervisor's journal holds, points at the file. */
Test(host, a_failed_exit_with_a_log_file_says_where_the_log_is) {
  char *dir = tmp_dir();
  char extra[1200], path[1100];
  snprintf(path, sizeof(path), "%s/siphon.log", dir);
  snprintf(extra, sizeof(extra), "\"log_file\": \"%s\"", path);
  char *cfg =
      config(extra, "{\"name\": \"t\", \"plugin\": \"tick\", \"options\": {\"fail_rounds\": -1}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 1, "%s", p.err);
  char want[1200];
  snprintf(want, sizeof(want), "siphon: exiting with status 1: the log, %s, says why\n", path);
  cr_assert_not_null(strstr(p.err, want), "%s", p.err);
  cr_assert(file_has(path, "[t] collect failed"), "%s", p.err);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(host, log_file_flag_overrides_the_config) {
  char *dir = tmp_dir();
  char extra[1200], from_config[1100], from_flag[1100];
  snprintf(from_config, sizeof(from_config), "%s/config.log", dir);
  snprintf(from_flag, sizeof(from_flag), "%s/flag.log", dir);
  snprintf(extra, sizeof(extra), "\"log_file\": \"%s\"", from_config);
  /* A failing round logs a line that names its source. */
  char *cfg = config(extra,
                     "{\"name\": \"t\", \"plugin\": \"tick\", \"options\": "
                     "{\"fail_rounds\": -1}}");
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--once", "--log-file", from_flag, NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  char *text = tmp_read(from_flag, NULL);
  cr_assert_not_null(text, "--log-file's file is written");
  cr_expect(strstr(text, " [t] ") != NULL, "%s", text);
  cr_expect(access(from_config, F_OK) != 0, "the config's file is not created");
  /* --once's summary is the command's answer: it stays on stderr. */
  cr_expect(strstr(p.err, "round: 1 source, 0 ok, 1 failed") != NULL, "%s", p.err);
  cr_expect(strstr(p.err, " [t] ") == NULL, "%s", p.err);
  free(text);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(host, log_file_flag_is_checked_as_the_key_is) {
  char *dir = tmp_dir();
  char out_extra[1200], out_path[1100], same[1100];
  snprintf(out_path, sizeof(out_path), "%s/out.jsonl", dir);
  snprintf(same, sizeof(same), "%s/./out.jsonl", dir);
  snprintf(out_extra, sizeof(out_extra), "\"output\": {\"type\": \"file\", \"path\": \"%s\"}",
           out_path);
  char *cfg = config(out_extra, "{\"name\": \"t\", \"plugin\": \"tick\"}");
  struct {
    const char *flag;
    const char *want;
  } cases[] = {
      {"/nonexistent-siphon-dir/x.log",
       "siphon: --log-file: the directory /nonexistent-siphon-dir does not exist"},
      {same, "is also siphon.output.path"},
      {"", "siphon: --log-file: expected a file name"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *argv[] = {SIPHON_BIN, "-c", cfg, "--check", "--log-file", cases[i].flag, NULL};
    tproc p;
    cr_assert_eq(tproc_start(&p, argv, NULL), 0);
    int st = tproc_finish(&p, 10000);
    cr_expect_eq(st, 2, "--check --log-file '%s': exit %d: %s", cases[i].flag, st, p.err);
    cr_expect(strstr(p.err, cases[i].want) != NULL, "want %s, got: %s", cases[i].want, p.err);
    tproc_free(&p);
  }
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(host, log_file_flag_gets_past_a_key_that_is_wrong_on_this_host) {
  /* The config's log directory is the production host's; --log-file is
   * how to run it elsewhere. Its type is still checked. */
  char *dir = tmp_dir();
  char flag[1100];
  snprintf(flag, sizeof(flag), "%s/here.log", dir);
  char *cfg = config("\"log_file\": \"/nonexistent-siphon-dir/siphon.log\"",
                     "{\"name\": \"t\", \"plugin\": \"tick\"}");
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--check", "--log-file", flag, NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  int st = tproc_finish(&p, 10000);
  cr_expect_eq(st, 0, "exit %d: %s", st, p.err);
  tproc_free(&p);
  const char *without[] = {SIPHON_BIN, "-c", cfg, "--check", NULL};
  cr_assert_eq(tproc_start(&p, without, NULL), 0);
  st = tproc_finish(&p, 10000);
  cr_expect_eq(st, 2, "without the flag, the key's directory is checked: %s", p.err);
  tproc_free(&p);
  free(cfg);
  cfg = config("\"log_file\": 5", "{\"name\": \"t\", \"plugin\": \"tick\"}");
  const char *typed[] = {SIPHON_BIN, "-c", cfg, "--check", "--log-file", flag, NULL};
  cr_assert_eq(tproc_start(&p, typed, NULL), 0);
  st = tproc_finish(&p, 10000);
  cr_expect_eq(st, 2, "a wrong type is still wrong: %s", p.err);
  cr_expect(strstr(p.err, "siphon.log_file: expected") != NULL, "%s", p.err);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(host, log_file_that_cannot_be_opened_stops_with_its_reason) {
  char *dir = tmp_dir();
  char extra[1024], link[512], target[512];
  /* A symlink into a directory that is not there: its own directory
   * exists, so --check cannot tell, and open() fails (even as root). */
  snprintf(link, sizeof(link), "%s/siphon.log", dir);
  snprintf(target, sizeof(target), "%s/gone/siphon.log", dir);
  cr_assert_eq(symlink(target, link), 0);
  snprintf(extra, sizeof(extra), "\"log_file\": \"%s\"", link);
  char *cfg = config(extra, "{\"name\": \"t\", \"plugin\": \"tick\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_expect_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, "siphon.log_file: cannot open the log file") != NULL, "%s", p.err);
  cr_expect(strstr(p.err, "No such file or directory") != NULL, "%s", p.err);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(host, file_output_appends_with_mode_0640) {
  char *dir = tmp_dir();
  char extra[1024];
  snprintf(extra, sizeof(extra), "\"output\": {\"type\": \"file\", \"path\": \"%s/out.jsonl\"}",
           dir);
  char *cfg = config(extra, "{\"name\": \"f\", \"plugin\": \"tick\", \"options\": {\"count\": 2}}");
  char path[1100];
  snprintf(path, sizeof(path), "%s/out.jsonl", dir);
  for (int round = 1; round <= 2; round++) {
    tproc p;
    cr_assert_eq(run_once(&p, cfg, 10000), 0, "%s", p.err);
    cr_assert_eq(p.out_len, 0, "records go to the file, not stdout");
    tproc_free(&p);
    char *text = tmp_read(path, NULL);
    cr_assert_not_null(text);
    cr_assert_eq(count_lines(text), (size_t)(2 * round), "appended, not truncated");
    free(text);
  }
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
  tmp_rmtree(dir);
  free(dir);
  free(cfg);
}

Test(host, closed_output_is_a_clear_error) {
  char *cfg = config("",
                     "{\"name\": \"s\", \"plugin\": \"stream\","
                     " \"options\": {\"every\": 1, \"burst\": 50}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout(&p, "\"seq\":10,", 5000));
  close(p.out_fd); /* the reader goes away */
  p.out_fd = -1;
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "writing to stdout failed") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "records were not written") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* `siphon | head -1`: head reads a first batch and leaves. The records
 * it read are written, so fewer than all are counted as lost. */
Test(host, records_a_reader_took_before_it_left_are_not_lost) {
  char *cfg = config("",
                     "{\"name\": \"many\", \"plugin\": \"sleeper\", \"options\": "
                     "{\"count\": 200000}}");
  tproc p;
  const char *argv[] = {"/bin/sh",  "-c", "\"$0\" --once -c \"$1\" | head -1 > /dev/null",
                        SIPHON_BIN, cfg,  NULL};
  tproc_run(&p, argv, NULL, 20000);
  const char *at = strstr(p.err, "records were not written");
  cr_assert_not_null(at, "%s", p.err);
  const char *line = at;
  while (line > p.err && line[-1] != '\n') {
    line--;
  }
  unsigned long long lost = 0;
  cr_assert_eq(sscanf(strstr(line, "error ") + 6, "%llu", &lost), 1, "%s", line);
  cr_assert(lost > 0 && lost < 200000, "head read some: %llu lost of 200000\n%s", lost, p.err);
  tproc_free(&p);
  free(cfg);
}

/* Starts siphon on `sources` with a stdout nobody reads (a stuck pipe:
 * the writer waits in write() for as long as it likes), sends SIGTERM
 * once the queue is full, waits for `before_second` on stderr (or
 * `delay_ms`), sends SIGTERM again and expects siphon's last words to
 * count what is lost. */
static void expect_stalled_stop(const char *siphon_extra, const char *sources,
                                const char *before_second, int delay_ms) {
  char *cfg = config(siphon_extra, sources);
  tproc p;
  start(&p, NULL, cfg);
  int stalled = p.out_fd; /* kept open, never read again: the pipe fills */
  p.out_fd = -1;
  cr_assert(tproc_wait_stderr(&p, "pausing sources until it drains", 10000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  if (before_second != NULL) {
    cr_assert(tproc_wait_stderr(&p, before_second, 15000), "%s", p.err);
  }
  usleep((useconds_t)delay_ms * 1000);
  tproc_kill(&p, SIGTERM); /* past the half second in which a copy is the first */
  int st = tproc_finish(&p, 10000);
  cr_expect_eq(st, 143, "exit %d: %s", st, p.err);
  const char *last = strstr(p.err, "siphon: second signal: exiting at once (");
  cr_assert_not_null(last, "the last words say what is lost: %s", p.err);
  unsigned long long lost = 0;
  cr_assert_eq(
      sscanf(last, "siphon: second signal: exiting at once (%llu records unwritten)", &lost), 1,
      "%s", last);
  cr_expect_gt(lost, 0, "%s", last);
  close(stalled);
  tproc_free(&p);
  free(cfg);
}

#define FLOOD                                                                         \
  "{\"name\": \"flood\", \"plugin\": \"tick\", \"interval\": \"20ms\", \"options\": " \
  "{\"count\": 2000}}"

Test(host, stop_with_a_stalled_reader_says_so_and_what_a_second_signal_loses) {
  expect_stalled_stop("\"buffer_limit\": \"1MiB\"", FLOOD,
                      "stopping: still writing to stdout after 1 s", 0);
}

Test(host, a_second_signal_before_the_stall_is_said_still_counts_the_loss) {
  /* 0.7 s after the first: before the stop's 1 s wait has said anything. */
  expect_stalled_stop("\"buffer_limit\": \"1MiB\"", FLOOD, NULL, 700);
}

Test(host, a_hung_round_and_a_stalled_reader_still_let_a_second_signal_exit) {
  /* The hard deadline's flush blocks the loop: its signal watchers can
   * no longer run, so the second stop must not depend on them. */
  expect_stalled_stop("\"buffer_limit\": \"1MiB\", \"shutdown_grace\": \"200ms\"",
                      FLOOD
                      ", {\"name\": \"hung\", \"plugin\": \"tick\", \"interval\": "
                      "\"20ms\", \"options\": {\"hang\": true, \"cancellable\": false}}",
                      "exiting without waiting for it", 1200);
}

Test(host, once_names_why_the_output_failed) {
  /* The loop has stopped when --once flushes: the cause is still said. */
  char *cfg = config("\"output\": {\"type\": \"file\", \"path\": \"/dev/full\"}",
                     "{\"name\": \"a\", \"plugin\": \"tick\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_expect_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, "writing to /dev/full failed: No space left on device") != NULL, "%s",
            p.err);
  cr_expect(strstr(p.err, "1 record was not written") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_plugin_named_with_so_is_pointed_to_its_name) {
  char *cfg = config("", "{\"name\": \"x\", \"plugin\": \"tick.so\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 2);
  cr_assert(strstr(p.err,
                   "tick.so' not found; did you mean \"tick\"? (a name without .so is "
                   "looked up along the plugin path)") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, unknown_plugin_lists_where_it_looked) {
  char *cfg = config("", "{\"name\": \"x\", \"plugin\": \"nosuch\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 2);
  cr_assert(strstr(p.err, "sources[0].plugin: unknown plugin \"nosuch\"") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, SIPHON_TEST_PLUGIN_DIR) != NULL, "lists the search path: %s", p.err);
  cr_assert_eq(p.out_len, 0, "a config error collects nothing");
  tproc_free(&p);
  free(cfg);
  /* A plugin_path entry that is not there, the likelier typo, says so. */
  cfg = tmp_write("siphon.json",
                  "{\"siphon\": {\"plugin_path\": [\"/nonexistent/plugins\"]}, "
                  "\"sources\": [{\"name\": \"x\", \"plugin\": \"nosuch\"}]}");
  st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 2);
  cr_assert(strstr(p.err, "/nonexistent/plugins (no such directory)") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, two_plugins_with_one_name_are_refused) {
  char sources[2048];
  snprintf(sources, sizeof(sources),
           "{\"name\": \"a\", \"plugin\": \"%s/tick.so\"},"
           "{\"name\": \"b\", \"plugin\": \"%s/dup/tick.so\"}",
           SIPHON_TEST_PLUGIN_DIR, SIPHON_TEST_PLUGIN_DIR);
  char *cfg = config("", sources);
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 2, "%s", p.err);
  cr_assert(strstr(p.err, "sources[1].plugin: two plugins named 'tick'") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* A name means the plugin of that name on the search path, whatever a
 * source before it loaded by path: the same sources in either order are
 * refused alike, and a name found only as another source's path says
 * where that one came from. */
Test(host, a_plugin_name_means_the_same_in_any_order) {
  for (int i = 0; i < 2; i++) {
    char by_path[1024], sources[2048];
    snprintf(by_path, sizeof(by_path), "{\"name\": \"a\", \"plugin\": \"%s/dup/tick.so\"}",
             SIPHON_TEST_PLUGIN_DIR);
    const char *by_name = "{\"name\": \"b\", \"plugin\": \"tick\"}";
    snprintf(sources, sizeof(sources), "%s,%s", i == 0 ? by_path : by_name,
             i == 0 ? by_name : by_path);
    char *cfg = config("", sources);
    tproc p;
    int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
    cr_assert_eq(st, 2, "order %d: %s", i, p.err);
    cr_assert(strstr(p.err, ".plugin: two plugins named 'tick'") != NULL, "order %d: %s", i, p.err);
    tproc_free(&p);
    free(cfg);
  }
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": ["
                        "{\"name\": \"a\", \"plugin\": \"%s/dup/tick.so\"},"
                        "{\"name\": \"b\", \"plugin\": \"tick\"}]}",
                        SIPHON_PLUGIN_DIR, SIPHON_TEST_PLUGIN_DIR);
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "%s", p.err);
  cr_assert(strstr(p.err, "sources[1].plugin: unknown plugin \"tick\"") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "a plugin of that name is loaded by its path") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, check_creates_instances_and_hides_secrets) {
  char *cfg = config("",
                     "{\"name\": \"c\", \"plugin\": \"tick\","
                     " \"options\": {\"secret\": \"hunter2\"}},"
                     "{\"name\": \"d\", \"plugin\": \"tick\", \"options\": {\"count\": -1}}");
  tproc p;
  start(&p, "--check", cfg);
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 2, "create() errors are config errors: %s", p.err);
  cr_assert(strstr(p.err, "sources[1].options.count: expected a count >= 0") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);

  cfg =
      config("", "{\"name\": \"c\", \"plugin\": \"tick\", \"options\": {\"secret\": \"hunter2\"}}");
  start(&p, "--check", cfg);
  st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 0, "%s", p.err);
  cr_assert(strstr(p.out, "ok: 1 source") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "hunter2") == NULL && strstr(p.err, "hunter2") == NULL,
            "secret shown: %s", p.out);
  cr_assert(strstr(p.out, "********") != NULL, "%s", p.out);
  tproc_free(&p);
  free(cfg);
}

Test(host, list_and_help_plugins_come_from_the_options_table) {
  char *cfg = config("", "{\"name\": \"c\", \"plugin\": \"tick\"}");
  tproc p;
  start(&p, "--list-plugins", cfg);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert(strstr(p.out, "tick 1.0.0  (async, polled)") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "sleeper 1.0.0  (blocking, polled)") != NULL, "%s", p.out);
  /* socket is polled, and streaming for a listener (start()). */
  cr_assert(strstr(p.out, "socket 1.0.0  (async, polled or streaming)") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "fail_rounds") == NULL, "one line a plugin, no options: %s", p.out);
  tproc_free(&p);
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--help-plugin", "tick", NULL};
  cr_assert_eq(tproc_run(&p, argv, NULL, 10000), 0, "%s", p.err);
  cr_assert(strstr(p.out, "rounds that fail first (-1: all)") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "fail_rounds") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "example options") != NULL, "%s", p.out);
  /* secret and default in one column after the type, no trailing blanks. */
  cr_assert(strstr(p.out, "\n    secret                 string    secret\n") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "\n    count                  integer   default 1\n") != NULL, "%s",
            p.out);
  /* A secret's default and a secret in the example are masked. */
  cr_assert(
      strstr(p.out, "\n    shared_key             string    secret default \"********\"\n") != NULL,
      "%s", p.out);
  cr_assert(strstr(p.out, "hunter2") == NULL, "%s", p.out);
  cr_assert(strstr(p.out, "s3cr3t") == NULL, "%s", p.out);
  cr_assert(strstr(p.out, "\"shared_key\":\"********\"") != NULL, "%s", p.out);
  tproc_free(&p);
  /* An empty default is shown as it is: nothing there to hide. */
  const char *rest[] = {SIPHON_BIN, "-c", cfg, "--help-plugin", "rest", NULL};
  cr_assert_eq(tproc_run(&p, rest, NULL, 10000), 0, "%s", p.err);
  cr_assert(strstr(p.out, "\n    headers                object    secret default {}\n") != NULL,
            "%s", p.out);
  tproc_free(&p);
  /* Nor does --schema show the default. */
  const char *schema[] = {SIPHON_BIN, "-c", cfg, "--schema", NULL};
  cr_assert_eq(tproc_run(&p, schema, NULL, 10000), 0, "%s", p.err);
  cr_assert(strstr(p.out, "hunter2") == NULL, "%s", p.out);
  tproc_free(&p);
  free(cfg);
}

Test(host, global_tags_under_the_sources_own) {
  char *cfg = config("\"tags\": {\"host\": \"${SIPHON_HOSTNAME}\", \"dc\": \"a\", \"n\": 1}",
                     "{\"name\": \"t\", \"plugin\": \"tick\", \"tags\": {\"dc\": \"b\"}}");
  tproc p;
  cr_assert_eq(run_once(&p, cfg, 10000), 0, "%s", p.err);
  json_t *recs = lines(p.out);
  json_t *tags = json_object_get(json_array_get(recs, 0), "tags");
  char host[256];
  cr_assert_eq(gethostname(host, sizeof(host)), 0);
  host[sizeof(host) - 1] = '\0';
  cr_assert_str_eq(json_string_value(json_object_get(tags, "host")), host, "%s", p.out);
  cr_assert_str_eq(json_string_value(json_object_get(tags, "dc")), "b", "the source's wins");
  cr_assert_str_eq(json_string_value(json_object_get(tags, "n")), "1", "tags are strings");
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(host, schema_adds_each_plugins_options) {
  /* For editors: the config's schema, and per plugin found, its options
   * as the host will check them (no other keys, types, required ones). */
  char *cfg = config("", "{\"name\": \"t\", \"plugin\": \"tick\"}");
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--schema", NULL};
  tproc p;
  cr_assert_eq(tproc_run(&p, argv, NULL, 10000), 0, "%s", p.err);
  json_error_t jerr;
  json_t *schema = json_loads(p.out, 0, &jerr);
  cr_assert_not_null(schema, "not JSON: %s", jerr.text);
  cr_assert_not_null(json_object_get(json_object_get(schema, "properties"), "siphon"),
                     "the config's own keys are there");
  json_t *rules =
      json_object_get(json_object_get(json_object_get(schema, "$defs"), "source"), "allOf");
  json_t *tick = NULL;
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    const char *name = json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(rule, "if"), "properties"), "plugin"),
        "const"));
    if (name != NULL && strcmp(name, "tick") == 0) {
      tick =
          json_object_get(json_object_get(json_object_get(rule, "then"), "properties"), "options");
    }
  }
  cr_assert_not_null(tick, "no rule for tick: %s", p.out);
  cr_assert(json_is_false(json_object_get(tick, "additionalProperties")), "%s", p.out);
  json_t *count = json_object_get(json_object_get(tick, "properties"), "count");
  cr_assert_str_eq(json_string_value(json_object_get(count, "type")), "integer", "%s", p.out);
  cr_assert_str_eq(json_string_value(json_object_get(count, "description")), "records per round");
  json_decref(schema);
  tproc_free(&p);
  free(cfg);
}

Test(host, schema_is_printed_while_the_config_has_errors) {
  /* The schema is wanted most while a config is being fixed. */
  char *cfg = config("\"threads\": \"x\"", "{\"name\": \"t\", \"plugin\": \"tick\"}");
  const char *argv[] = {SIPHON_BIN, "-c", cfg, "--schema", NULL};
  tproc p;
  cr_assert_eq(tproc_run(&p, argv, NULL, 10000), 0, "%s", p.err);
  json_t *schema = json_loads(p.out, 0, NULL);
  cr_assert_not_null(schema, "no schema on stdout: %s", p.out);
  cr_assert(strstr(p.err, "siphon.threads: expected an integer") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "its plugin_path is not used") != NULL, "%s", p.err);
  json_decref(schema);
  tproc_free(&p);
  free(cfg);
}

Test(host, json_log_lines) {
  char *cfg = config("\"log_format\": \"json\"",
                     "{\"name\": \"b\", \"plugin\": \"tick\", \"interval\": \"50ms\","
                     " \"options\": {\"fail_rounds\": -1}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, "collect failed", 5000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  /* Every line an object; a source's lines name it. */
  json_t *logs = lines(p.err);
  cr_assert_geq(json_array_size(logs), 3, "%s", p.err);
  int failed_seen = 0;
  size_t i;
  json_t *v;
  json_array_foreach(logs, i, v) {
    cr_assert(json_is_string(json_object_get(v, "ts")), "%s", p.err);
    cr_assert(json_is_string(json_object_get(v, "level")), "%s", p.err);
    const char *msg = json_string_value(json_object_get(v, "msg"));
    cr_assert_not_null(msg, "%s", p.err);
    if (strncmp(msg, "collect failed: tick: failing as configured", 43) == 0) {
      failed_seen = 1;
      cr_assert_str_eq(json_string_value(json_object_get(v, "source")), "b");
      cr_assert_str_eq(json_string_value(json_object_get(v, "level")), "warn");
    }
  }
  cr_assert(failed_seen, "%s", p.err);
  json_decref(logs);
  tproc_free(&p);
  free(cfg);
}

Test(host, plugin_mode_runs_without_a_config) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/tick.so", SIPHON_TEST_PLUGIN_DIR);
  const char *argv[] = {SIPHON_BIN,       "--plugin", path, "--options",
                        "{\"count\": 2}", "--once",   NULL};
  tproc p;
  cr_assert_eq(tproc_run(&p, argv, NULL, 10000), 0, "%s", p.err);
  cr_assert_eq(count_lines(p.out), 2, "%s", p.out);
  cr_assert(strstr(p.out, "\"source\":\"tick\"") != NULL, "%s", p.out);
  tproc_free(&p);
}

Test(host, stats_record_counts_rounds_per_source) {
  char *cfg = config("\"stats_interval\": \"300ms\", \"tags\": {\"dc\": \"x\"}",
                     "{\"name\": \"counted\", \"plugin\": \"tick\", \"interval\": \"100ms\"},"
                     "{\"name\": \"broken\", \"plugin\": \"tick\", \"interval\": \"100ms\","
                     " \"options\": {\"fail_rounds\": -1}}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"siphon\"", 5000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  /* The stop line counts them apart from the sources' records. */
  char want[64];
  size_t n_stats = tproc_count(p.out, "\"source\":\"siphon\"");
  snprintf(want, sizeof(want), ", and %zu stats record%s", n_stats, n_stats == 1 ? "" : "s");
  cr_assert(strstr(p.err, want) != NULL, "want %s: %s", want, p.err);
  json_t *recs = lines(p.out);
  json_t *stats = NULL;
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    if (strcmp(json_string_value(json_object_get(v, "source")), "siphon") == 0) {
      stats = json_object_get(v, "data");
      cr_assert_str_eq(json_string_value(json_object_get(v, "plugin")), "internal");
      cr_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "tags"), "dc")), "x",
                       "siphon.tags on the stats record too");
      break;
    }
  }
  cr_assert_not_null(stats);
  json_t *per = json_object_get(stats, "per_source");
  json_t *counted = json_object_get(per, "counted");
  json_t *broken = json_object_get(per, "broken");
  cr_assert_geq(json_integer_value(json_object_get(counted, "ok")), 1);
  cr_assert_eq(json_integer_value(json_object_get(counted, "failed")), 0);
  cr_assert_geq(json_integer_value(json_object_get(broken, "failed")), 1);
  cr_assert_geq(json_integer_value(json_object_get(broken, "failures_in_a_row")), 1);
  cr_assert_str_eq(json_string_value(json_object_get(broken, "last_status")), "failed");
  cr_assert_geq(json_integer_value(json_object_get(stats, "rounds_failed")), 1);
  /* The process's memory: RSS now and at its peak, and glibc's heap,
   * which AddressSanitizer's allocator leaves unused (so left out). */
  json_t *mem = json_object_get(stats, "memory");
  json_int_t rss = json_integer_value(json_object_get(mem, "rss_bytes"));
  cr_assert_gt(rss, 1 << 20, "%s", p.out);
  cr_assert_geq(json_integer_value(json_object_get(mem, "peak_rss_bytes")), rss, "%s", p.out);
#if defined(__SANITIZE_ADDRESS__)
  cr_assert_null(json_object_get(mem, "heap_in_use_bytes"), "%s", p.out);
#else
  cr_assert_gt(json_integer_value(json_object_get(mem, "heap_in_use_bytes")), 0, "%s", p.out);
  cr_assert(json_is_integer(json_object_get(mem, "heap_free_bytes")), "%s", p.out);
#endif
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* The memory object of the last stats record in out (a new reference). */
static json_t *last_memory(const char *out) {
  json_t *recs = lines(out);
  json_t *mem = NULL;
  for (size_t i = json_array_size(recs); i-- > 0 && mem == NULL;) {
    json_t *v = json_array_get(recs, i);
    if (strcmp(json_string_value(json_object_get(v, "source")), "siphon") == 0) {
      mem = json_incref(json_object_get(json_object_get(v, "data"), "memory"));
    }
  }
  json_decref(recs);
  cr_assert_not_null(mem, "no stats record in: %s", out);
  return mem;
}

/* Unused under ASan, whose allocator has no glibc figures to read. */
__attribute__((unused)) static json_int_t mem_int(const json_t *mem, const char *key) {
  return json_integer_value(json_object_get(mem, key));
}

/* tick's churn leaves 63 MiB of freed heap between kept blocks, as a round
 * of many transfers does, where glibc's own trimming cannot reach. */
#define CHURN "\"options\": {\"churn\": \"64MiB\"}"
#define MIB(n) ((json_int_t)(n) << 20)

Test(host, idle_host_gives_freed_memory_back) {
  char *cfg = config("\"stats_interval\": \"100ms\", \"release_memory_after\": \"200ms\"",
                     "{\"name\": \"big\", \"plugin\": \"tick\", \"interval\": \"1h\", " CHURN "}");
  tproc p;
  start(&p, NULL, cfg);
#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer's allocator, not glibc's: nothing to give back, and
   * the stats record says so by leaving the counters out. */
  cr_assert(tproc_wait_stdout_count(&p, "\"source\":\"siphon\"", 3, 10000), "%s", p.err);
  json_t *mem = last_memory(p.out);
  cr_assert_null(json_object_get(mem, "releases"), "%s", p.out);
#else
  cr_assert(tproc_wait_stdout(&p, "\"releases\":1", 10000), "no release: %s %s", p.out, p.err);
  /* The record after the release shows it. */
  size_t n = tproc_count(p.out, "\"source\":\"siphon\"");
  cr_assert(tproc_wait_stdout_count(&p, "\"source\":\"siphon\"", n + 1, 10000), "%s", p.err);
  json_t *mem = last_memory(p.out);
  json_int_t rss = mem_int(mem, "rss_bytes"), peak = mem_int(mem, "peak_rss_bytes");
  cr_assert_geq(peak, MIB(64), "the churn never happened: %s", p.out);
  cr_assert_lt(rss, peak - MIB(40), "RSS %lld of a %lld peak after the release", (long long)rss,
               (long long)peak);
  cr_assert_gt(mem_int(mem, "released_bytes"), MIB(40), "%s", p.out);
  cr_assert_eq(mem_int(mem, "releases"), 1, "one idle spell, one release: %s", p.out);
#endif
  json_decref(mem);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* The two cases that keep the pages: releasing turned off, and a next
 * round due sooner than release_memory_after (polled too often for the
 * pages to stay away). Each waits for rounds and stats records well past
 * the moment a release would have come. */
static void expect_pages_kept(const char *siphon_extra, const char *interval, int releasing) {
  char src[256];
  snprintf(src, sizeof(src), "{\"name\": \"big\", \"plugin\": \"tick\", \"interval\": \"%s\", %s}",
           interval, CHURN);
  char *cfg = config(siphon_extra, src);
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout_count(&p, "\"source\":\"siphon\"", 12, 10000), "%s", p.err);
  json_t *mem = last_memory(p.out);
#if defined(__SANITIZE_ADDRESS__)
  releasing = 0; /* ASan's allocator: the counters are left out */
#else
  /* glibc's pages; ASan's allocator has its own. */
  cr_assert_geq(mem_int(mem, "rss_bytes"), MIB(56), "pages given back: %s", p.out);
#endif
  json_t *releases = json_object_get(mem, "releases");
  if (releasing) {
    cr_assert(json_is_integer(releases), "%s", p.out);
    cr_assert_eq(json_integer_value(releases), 0, "%s", p.out);
  } else {
    cr_assert_null(releases, "releasing is off: %s", p.out);
  }
  json_decref(mem);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, release_memory_after_zero_keeps_freed_pages) {
  expect_pages_kept("\"stats_interval\": \"100ms\", \"release_memory_after\": 0", "1h", 0);
}

Test(host, no_release_when_the_next_round_is_sooner) {
  /* Idle 200 ms after each round, the next one 100 ms away: kept. */
  expect_pages_kept("\"stats_interval\": \"100ms\", \"release_memory_after\": \"200ms\"", "300ms",
                    1);
}

/* A plugin that breaks the round_done() rule gets a message naming it,
 * once, and the host and the other sources go on. 100 more sources
 * finish rounds in between, as in a real config: the buggy source's late
 * call must still find its own round (ASan would see it otherwise). */
static void expect_plugin_bug_caught(const char *bug, const char *message) {
  char src[16384];
  int n = snprintf(src, sizeof(src),
                   "{\"name\": \"buggy\", \"plugin\": \"tick\", \"interval\": \"50ms\","
                   " \"options\": {\"bug\": \"%s\", \"delay\": \"5ms\"}},"
                   "{\"name\": \"fine\", \"plugin\": \"tick\", \"interval\": \"50ms\"}",
                   bug);
  for (int i = 0; i < 100; i++) {
    n += snprintf(src + n, sizeof(src) - (size_t)n,
                  ",{\"name\": \"other%d\", \"plugin\": \"tick\", \"interval\": \"20ms\"}", i);
  }
  cr_assert_lt(n, (int)sizeof(src));
  char *cfg = config("", src);
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stderr(&p, message, 10000), "no message for %s: %s", bug, p.err);
  /* Rounds go on after it: both sources keep writing. */
  size_t seen = tproc_count(p.out, "\"source\":\"fine\"");
  cr_assert(tproc_wait_stdout_count(&p, "\"source\":\"fine\"", seen + 5, 10000), "%s", p.err);
  cr_assert(strstr(p.out, "\"late\"") == NULL, "a record after round_done() was written: %s",
            p.out);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, 10000);
  cr_assert_eq(st, 0, "%s: exit %d: %s", bug, st, p.err);
  cr_assert_eq(tproc_count(p.err, message), 1, "logged once a source: %s", p.err);
  cr_assert(strstr(p.err, "[buggy] plugin \"tick\"") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, round_done_twice_is_caught) {
  expect_plugin_bug_caught("done_twice",
                           "called round_done() for a round that had already finished");
}

Test(host, collect_failing_after_round_done_is_caught) {
  expect_plugin_bug_caught("done_in_collect_then_fail",
                           "returned i/o error from collect() after calling round_done()");
}

Test(host, emit_after_round_done_inside_collect_is_caught) {
  /* The round is finished but not yet released (collect() has not
   * returned): the record is still refused, not written. */
  expect_plugin_bug_caught("emit_after_done",
                           "emitted a record into a round that had already finished");
}

Test(host, round_done_after_collect_failed_is_caught) {
  /* The round's records are discarded and counted, then its round_done()
   * refused: the first of the two is the one logged. */
  expect_plugin_bug_caught("fail_then_done",
                           "emitted a record into a round that had already finished");
}

/* An async round's round_emit() and round_done() belong to the loop
 * thread; from a thread of the plugin's own they raced with the loop (its
 * timers, the output queue) in silence. Now the slip is named once and
 * the calls are handed to the loop, in order: the round's records are
 * written and the round ends as the plugin said. */
Test(host, round_done_from_a_plugin_thread_is_caught_and_made_safe) {
  char *cfg = config("",
                     "{\"name\": \"buggy\", \"plugin\": \"tick\", \"options\": "
                     "{\"bug\": \"done_from_thread\", \"count\": 2}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err,
                   "[buggy] plugin \"tick\" called round_emit() from a thread of its own: a "
                   "bug in the plugin") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.err, "round: 1 source, 1 ok, 0 failed, 2 records") != NULL, "%s", p.err);
  cr_assert_eq(count_lines(p.out), 2, "%s", p.out);
  tproc_free(&p);
  free(cfg);
  expect_plugin_bug_caught("done_from_thread", "called round_emit() from a thread of its own");
}

/* The slip made halfway: records from the plugin's thread, the round
 * ended on the loop, woken by a uv_async_t of the plugin's (set up in
 * create(), before the host's own). The records were queued for the loop
 * behind that wake-up, so round_done() ended the round first and every
 * one was discarded as emitted after it had finished. They come first. */
Test(host, records_a_plugin_thread_hands_over_come_before_the_loops_round_done) {
  char *cfg = config("",
                     "{\"name\": \"buggy\", \"plugin\": \"tick\", \"options\": "
                     "{\"bug\": \"emit_from_thread\", \"count\": 3000}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "called round_emit() from a thread of its own") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "round: 1 source, 1 ok, 0 failed, 3000 records") != NULL, "%s", p.err);
  cr_assert_null(strstr(p.err, "discarded"), "%s", p.err);
  cr_assert_eq(count_lines(p.out), 3000);
  tproc_free(&p);
  free(cfg);
}

/* An async collect() that blocks stalls every source, and nothing showed
 * it but late rounds everywhere: the host now names the plugin, once. */
Test(host, an_async_collect_that_blocks_the_loop_is_named) {
  char *cfg = config("",
                     "{\"name\": \"blocker\", \"plugin\": \"tick\", \"options\": "
                     "{\"block\": \"700ms\"}},"
                     "{\"name\": \"fine\", \"plugin\": \"tick\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "[blocker] plugin \"tick\" blocked the loop thread for 0.7") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.err, "in collect(): a bug in the plugin") != NULL, "%s", p.err);
  cr_assert_eq(tproc_count(p.err, "blocked the loop thread"), 1, "only the blocker: %s", p.err);
  cr_assert(strstr(p.err, "round: 2 sources, 2 ok, 0 failed, 2 records") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* What a failed json_pack() returns and emit() from a polled source
 * (outside any round, so no count and no table row) are refused and
 * named, not written; a meta that is no object is named and dropped, and
 * its record written without it. */
Test(host, a_null_record_a_bad_meta_and_a_polled_emit_are_caught) {
  expect_plugin_bug_caught("emit_null",
                           "passed a NULL record (a json_pack() that failed?) to "
                           "round_emit()");
  expect_plugin_bug_caught("emit_outside", "called emit() for a polled source");
  char *cfg = config("",
                     "{\"name\": \"buggy\", \"plugin\": \"tick\", \"options\": "
                     "{\"bug\": \"emit_bad_meta\"}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "%s", p.err);
  cr_assert(strstr(p.err, "passed a meta that is not an object to round_emit()") != NULL, "%s",
            p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 2, "the record and tick's own: %s", p.out);
  json_t *kept = json_array_get(recs, 0);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(kept, "data"), "bad_meta")),
                   "kept");
  cr_assert_null(json_object_get(kept, "meta"), "written without the meta: %s", p.out);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* create() failing without saying where is still about the options; a
 * positive return is the plugin's bug, and said to be. */
Test(host, a_create_error_without_a_path_names_the_options) {
  char *cfg = config("",
                     "{\"name\": \"a\", \"plugin\": \"tick\", \"options\": "
                     "{\"create_rc\": -22}},"
                     "{\"name\": \"b\", \"plugin\": \"tick\", \"options\": "
                     "{\"create_rc\": 1}}");
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "sources[0].options: invalid argument") != NULL, "%s", p.err);
  cr_assert(strstr(p.err,
                   "sources[1].options: failed (plugin tick's create() returned 1, not 0 "
                   "or a negative errno: a bug in the plugin)") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_collect_that_returns_an_error_is_named_in_the_round) {
  /* An async collect() has no message to give back: the round says where
   * it failed and which errno, not a bare "i/o error". */
  char *cfg = config("",
                     "{\"name\": \"f\", \"plugin\": \"tick\", \"options\": {\"bug\": "
                     "\"fail_then_done\", \"delay\": \"5ms\"}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_expect(strstr(p.err, "collect() returned EIO (i/o error)") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* A positive return is no errno: libuv called it "Unknown system error
 * 5", which hid that the plugin broke the rule. Said as create()'s is. */
Test(host, a_positive_return_from_collect_is_named_the_plugins_bug) {
  char *cfg = config("",
                     "{\"name\": \"a\", \"plugin\": \"tick\", \"options\": "
                     "{\"collect_rc\": 5}},"
                     "{\"name\": \"b\", \"plugin\": \"sleeper\", \"options\": "
                     "{\"return_rc\": 7}}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err,
                   "[a] collect failed: collect() returned 5, not 0 or a negative errno: a "
                   "bug in the plugin") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.err,
                   "[b] collect failed: collect_blocking() returned 7, not 0 or a negative "
                   "errno: a bug in the plugin") != NULL,
            "%s", p.err);
  cr_assert(strstr(p.err, "Unknown system error") == NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, plugin_path_without_so_suggests_the_file) {
  /* As typed in the plugin's own directory: no doubled "./", and the
   * file that was meant. */
  char cmd[2048];
  snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' --plugin ./tick --once", SIPHON_TEST_PLUGIN_DIR,
           SIPHON_BIN);
  const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
  tproc p;
  int st = tproc_run(&p, argv, NULL, 10000);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(
      strstr(p.err, "--plugin: plugin file './tick' not found; did you mean './tick.so'?") != NULL,
      "%s", p.err);
  tproc_free(&p);
}

Test(host, relative_plugin_file_is_relative_to_the_config) {
  char *dir = tmp_dir();
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "mkdir -p '%s/mine' && cp '%s/tick.so' '%s/mine/tick.so'", dir,
           SIPHON_TEST_PLUGIN_DIR, dir);
  cr_assert_eq(system(cmd), 0);
  char path[4200];
  snprintf(path, sizeof(path), "%s/siphon.json", dir);
  cr_assert_eq(
      tmp_write_at(path, "{\"sources\": [{\"name\": \"r\", \"plugin\": \"mine/tick.so\"}]}"), 0);
  tproc p;
  int st = run_once(&p, path, 10000); /* our cwd is not the config's dir */
  cr_assert_eq(st, 0, "%s", p.err);
  cr_assert_eq(count_lines(p.out), 1);
  tproc_free(&p);
  tmp_rmtree(dir);
  free(dir);
}

Test(host, tiny_buffer_limit_still_drains) {
  char *cfg =
      config("\"buffer_limit\": 1",
             "{\"name\": \"a\", \"plugin\": \"tick\"}, {\"name\": \"b\", \"plugin\": \"tick\"}");
  tproc p;
  int st = run_once(&p, cfg, 10000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(count_lines(p.out), 2, "%s", p.out);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_blocking_round_waits_for_the_output_and_loses_nothing) {
  /* Over buffer_limit, a blocking round's records wait for the output to
   * drain, as a polled source's next round does, and then go on: all of
   * them, in order, none twice. */
  char *cfg = config("\"buffer_limit\": 2048, \"log_level\": \"debug\"",
                     "{\"name\": \"big\", \"plugin\": \"sleeper\", \"options\": {\"count\": 3000}},"
                     "{\"name\": \"t\", \"plugin\": \"tick\"}");
  tproc p;
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  /* A chunk of 1,024 went, and the next waited for the output. */
  cr_expect(strstr(p.err, "[big] 1976 records wait for the output to drain") != NULL, "%s", p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 3001, "%zu", json_array_size(recs));
  json_int_t next = 0;
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    if (strcmp(json_string_value(json_object_get(v, "source")), "big") == 0) {
      cr_assert_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "i")), next);
      next++;
    }
  }
  cr_assert_eq(next, 3000);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_failed_plugin_init_is_not_tried_again) {
  /* plugin.h promises one plugin_init() a plugin: after a failure, the
   * plugin's other sources are not set up with it either. */
  char *cfg = config(
      "", "{\"name\": \"a\", \"plugin\": \"tick\"}, {\"name\": \"b\", \"plugin\": \"tick\"}");
  const char *argv[] = {SIPHON_BIN, "--check", "-c", cfg, NULL};
  const char *env[] = {"SIPHON_TEST_TICK_INIT_FAIL=1", NULL};
  tproc p;
  cr_assert_eq(tproc_run(&p, argv, env, 10000), 2, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "plugin tick: plugin_init() failed: failing as asked (call 1)"),
               1, "%s", p.err);
  cr_expect_eq(tproc_count(p.err, "call 2"), 0, "%s", p.err);
  cr_expect(strstr(p.err, ": 1 error\n") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_turn_during_a_blocking_rounds_writing_waits_instead_of_skipping) {
  /* The collect has returned and its records are being written, a chunk
   * a loop turn, waiting for the output when it is full: the next turn
   * waits for them rather than being skipped as "still running". */
#if defined(__SANITIZE_ADDRESS__)
  /* The sanitizer slows the collect past the interval, which this test
   * needs well above the collect and well below the writing. */
  cr_skip_test("timing-bound: the collect must take well under the interval");
#endif
  char *cfg = config("\"buffer_limit\": 2048, \"log_level\": \"debug\"",
                     "{\"name\": \"big\", \"plugin\": \"sleeper\", \"interval\": \"100ms\","
                     " \"options\": {\"count\": 40000}}");
  tproc p;
  start(&p, NULL, cfg);
  /* Writing 40,000 records through a 2 KiB queue, a chunk of 1,024 a
   * writer's turn, takes about 200 ms, twice the interval, so turns come
   * due meanwhile. (A turn that comes while collect_blocking() itself
   * runs, about 40 ms here, is still skipped.) */
  cr_assert(tproc_wait_stdout_count(&p, "\"source\":\"big\"", 120000, 30000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 20000), 0, "%s", p.err);
  cr_expect(strstr(p.err,
                   "[big] turn due while the last round's records are written: it waits "
                   "for them") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, many_pauses_are_said_once_a_minute) {
  /* A slow reader pauses siphon many times a second: one info line, the
   * rest at debug. */
  char *cfg =
      config("\"buffer_limit\": 2048, \"log_level\": \"debug\"",
             "{\"name\": \"big\", \"plugin\": \"sleeper\", \"options\": {\"count\": 5000}}");
  tproc p;
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_expect_eq(count_lines(p.out), 5000);
  cr_expect_eq(tproc_count(p.err, "pausing sources until it drains"), 1, "%s", p.err);
  cr_expect_gt(tproc_count(p.err, "pausing sources"), 1, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

/* The longest interval siphon takes (longer ones are refused:
 * test_config's duration_not_understood). */
Test(host, huge_interval_does_not_wrap) {
  char *cfg = config("",
                     "{\"name\": \"rare\", \"plugin\": \"tick\","
                     " \"interval\": \"876600h\"}");
  tproc p;
  start(&p, NULL, cfg);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"rare\"", 5000), "%s", p.err);
  usleep(200 * 1000);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 5000), 0, "a wrapped due time spins the loop: %s", p.err);
  cr_assert_eq(count_lines(p.out), 1);
  tproc_free(&p);
  free(cfg);
}

Test(host, streaming_claim_without_start_is_refused) {
  char *cfg = config("",
                     "{\"name\": \"liar\", \"plugin\": \"tick\","
                     " \"options\": {\"claim_streaming\": true}}");
  tproc p;
  start(&p, "--check", cfg);
  cr_assert_eq(tproc_finish(&p, 10000), 2, "%s", p.err);
  cr_assert(strstr(p.err, "sources[0].plugin: plugin tick made this source streaming") != NULL,
            "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, plugin_with_an_undefined_symbol_is_refused_at_load) {
  char sources[1024];
  snprintf(sources, sizeof(sources),
           "{\"name\": \"typo\", \"plugin\": \"%s/broken/unresolved.so\"}", SIPHON_TEST_PLUGIN_DIR);
  char *cfg = config("", sources);
  tproc p;
  start(&p, "--check", cfg);
  cr_assert_eq(tproc_finish(&p, 10000), 2, "%s", p.err);
  cr_assert(strstr(p.err, "undefined symbol: siphon_test_function_that_does_not_exist") != NULL,
            "%s", p.err);
  /* It is a shared object: what it lacks is said, not that it is none. */
  cr_assert(strstr(p.err, "unresolved.so: cannot be loaded: ") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "not a loadable shared object") == NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, a_listener_that_cannot_listen_stops_siphon_with_failure) {
  /* Hold a port so the socket plugin's listener finds it in use. */
  int port = 0;
  int fd = tnet_listen(1, &port);
  char sources[512];
  snprintf(sources, sizeof(sources),
           "{\"name\": \"l\", \"plugin\": \"socket\", \"options\": {\"mode\": \"listen\","
           " \"address\": \"tcp://127.0.0.1:%d\"}},"
           "{\"name\": \"t\", \"plugin\": \"tick\", \"interval\": \"100ms\"}",
           port);
  char *cfg = config("", sources);
  tproc p;
  start(&p, NULL, cfg);
  int st = tproc_finish(&p, 10000);
  close(fd);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  /* Where to fix it: the config's file and JSON path, and what to do. */
  char want[1024];
  snprintf(want, sizeof(want),
           "[l] cannot start: %s: sources[0].options.address: cannot listen on "
           "tcp://127.0.0.1:%d: address already in use (another program listens there",
           cfg, port);
  cr_assert(strstr(p.err, want) != NULL, "want %s in: %s", want, p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, unknown_plugin_suggests_the_nearest) {
  char *cfg = config("", "{\"name\": \"x\", \"plugin\": \"sockets\"}");
  tproc p;
  start(&p, "--check", cfg);
  cr_assert_eq(tproc_finish(&p, 10000), 2, "%s", p.err);
  cr_assert(strstr(p.err, "unknown plugin \"sockets\"; did you mean \"socket\"?") != NULL, "%s",
            p.err);
  tproc_free(&p);
  free(cfg);
}

Test(host, size_options_take_units) {
  tproc p;
  const char *ok[] = {SIPHON_BIN,
                      "--plugin",
                      "socket",
                      "--options",
                      "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                      " \"max_line_bytes\": \"16KiB\"}",
                      "--check",
                      NULL};
  cr_assert_eq(tproc_run(&p, ok, NULL, 10000), 0, "%s", p.err);
  cr_assert(strstr(p.out, "\"max_line_bytes\":\"16KiB\"") != NULL, "%s", p.out);
  tproc_free(&p);
  const char *bad[] = {SIPHON_BIN,
                       "--plugin",
                       "socket",
                       "--options",
                       "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\","
                       " \"max_line_bytes\": \"16 apples\"}",
                       "--check",
                       NULL};
  cr_assert_eq(tproc_run(&p, bad, NULL, 10000), 2, "%s", p.err);
  cr_assert(strstr(p.err, "--options: max_line_bytes: expected a size such as") != NULL, "%s",
            p.err);
  tproc_free(&p);
}

Test(host, once_with_only_listeners_is_refused) {
  /* --once starts no listener, so it would do nothing and exit 0. */
  tproc p;
  const char *argv[] = {SIPHON_BIN,
                        "--plugin",
                        "socket",
                        "--options",
                        "{\"mode\": \"listen\", \"address\": \"tcp://127.0.0.1:0\"}",
                        "--once",
                        NULL};
  cr_assert_eq(tproc_run(&p, argv, NULL, 10000), 2, "%s", p.err);
  cr_assert(strstr(p.err,
                   "siphon: --once: every source streams (plugin socket), and --once "
                   "starts none") != NULL,
            "%s", p.err);
  cr_expect_eq(p.out_len, 0, "%s", p.out);
  tproc_free(&p);
}

Test(host, a_flag_twice_or_two_commands_are_refused) {
  /* The second -c used to win in silence, and --schema ran without a word
   * about the --once beside it, or the --plugin. */
  static const struct {
    const char *argv[6];
    const char *says;
  } cases[] = {
      {{"-c", "a.json", "-c", "b.json", NULL}, "siphon: -c given twice ('a.json', then 'b.json')"},
      {{"--schema", "--once", NULL}, "siphon: --once and --schema exclude each other"},
      {{"--list-plugins", "--check", "-c", "a.json", NULL},
       "siphon: --check and --list-plugins exclude each other"},
      {{"--plugin", "tick", "--interval", "1s", "--interval", "2s"},
       "siphon: --interval given twice ('1s', then '2s')"},
      /* --schema would list the plugin path and ignore --plugin. */
      {{"--schema", "--plugin", "./x.so", NULL},
       "siphon: --schema lists the plugins on the plugin path, and takes no --plugin"},
      {{"--list-plugins", "--plugin", "./x.so", NULL},
       "siphon: --list-plugins lists the plugins on the plugin path, and takes no --plugin"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *argv[8] = {SIPHON_BIN};
    for (size_t k = 0; k < 6 && cases[i].argv[k] != NULL; k++) {
      argv[k + 1] = cases[i].argv[k];
    }
    tproc p;
    cr_expect_eq(tproc_run(&p, argv, NULL, 10000), 2, "%s", p.err);
    cr_expect(strstr(p.err, cases[i].says) != NULL, "want %s: %s", cases[i].says, p.err);
    tproc_free(&p);
  }
}

Test(host, interval_flag_needs_a_unit) {
  /* `--interval 10` is seconds to a collectd user and would have been
   * milliseconds here: it is refused, with both readings offered. */
  tproc p;
  const char *argv[] = {SIPHON_BIN,
                        "--plugin",
                        "socket",
                        "--options",
                        "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:9\"}",
                        "--interval",
                        "10",
                        "--check",
                        NULL};
  cr_assert_eq(tproc_run(&p, argv, NULL, 10000), 2, "%s", p.err);
  cr_assert(strstr(p.err,
                   "siphon: --interval: \"10\" has no unit: write \"10s\" for seconds or "
                   "\"10ms\" for milliseconds") != NULL,
            "%s", p.err);
  tproc_free(&p);
  const char *units[] = {SIPHON_BIN,
                         "--plugin",
                         "socket",
                         "--options",
                         "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:9\"}",
                         "--interval",
                         "1500ms",
                         "--timeout",
                         "250ms",
                         "--check",
                         NULL};
  cr_assert_eq(tproc_run(&p, units, NULL, 10000), 0, "%s", p.err);
  cr_assert(strstr(p.out, "every 1.500 s, timeout 0.250 s") != NULL, "%s", p.out);
  tproc_free(&p);
  /* "0" needs no unit, and is refused for what it is: no interval. */
  const char *zero[] = {SIPHON_BIN, "--plugin", "tick", "--interval", "0", "--check", NULL};
  cr_assert_eq(tproc_run(&p, zero, NULL, 10000), 2, "%s", p.err);
  cr_assert(
      strstr(p.err, "siphon: --interval: expected a duration greater than 0, got \"0\"") != NULL,
      "%s", p.err);
  tproc_free(&p);
  /* A bad one is not offered "a number of milliseconds", which a flag
   * cannot be. */
  const char *bad[] = {SIPHON_BIN, "--plugin", "tick", "--interval", "ten", "--check", NULL};
  cr_assert_eq(tproc_run(&p, bad, NULL, 10000), 2, "%s", p.err);
  cr_assert(strstr(p.err,
                   "siphon: --interval: expected a duration such as \"10s\", \"250ms\" or "
                   "\"1m\", got \"ten\"") != NULL,
            "%s", p.err);
  tproc_free(&p);
}

Test(host, a_large_blocking_round_is_delivered_whole_and_in_order) {
  /* More records than one delivery chunk: written over several loop
   * turns, none lost, none reordered. */
  char *cfg = config("",
                     "{\"name\": \"big\", \"plugin\": \"sleeper\","
                     " \"options\": {\"count\": 3000}}");
  tproc p;
  int st = run_once(&p, cfg, 20000);
  cr_assert_eq(st, 0, "%s", p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 3000);
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "i")),
                 (json_int_t)i);
  }
  cr_assert(strstr(p.err, "3000 records") != NULL, "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
}

/* Started with stdin closed, siphon runs as usual (libuv would take fd 0
 * for its own and abort when it closes it); with stdout closed, it says
 * the records have nowhere to go instead of writing them into whatever
 * descriptor took number 1. */
Test(host, closed_standard_descriptors) {
  char *cfg = config("", "{\"name\": \"t\", \"plugin\": \"tick\", \"interval\": \"1s\"}");
  tproc p;
  const char *in_closed[] = {"/bin/sh",  "-c", "exec \"$0\" --once -c \"$1\" <&-",
                             SIPHON_BIN, cfg,  NULL};
  int status = tproc_run(&p, in_closed, NULL, 10000);
  cr_assert_eq(status, 0, "stderr:\n%s", p.err);
  json_t *recs = lines(p.out);
  cr_assert_eq(json_array_size(recs), 1, "%s", p.out);
  json_decref(recs);
  tproc_free(&p);
  const char *out_closed[] = {"/bin/sh",  "-c", "exec \"$0\" --once -c \"$1\" >&-",
                              SIPHON_BIN, cfg,  NULL};
  status = tproc_run(&p, out_closed, NULL, 10000);
  cr_assert_eq(status, 1, "stderr:\n%s", p.err);
  cr_assert_not_null(strstr(p.err, "output stdout: standard output was closed"), "%s", p.err);
  tproc_free(&p);
  free(cfg);
}
