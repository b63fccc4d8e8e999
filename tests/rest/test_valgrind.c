/* The rest plugin under valgrind: one `siphon -c` run with many rest
 * sources on short intervals against httpfix, so that the loop drives
 * libcurl's multi handles through every path a long run takes: kept-alive
 * and server-closed connections, connections the server closes while
 * idle, failing statuses, gzip, pagination, file:// reads, a page long
 * enough to be parsed off the loop and written in chunks, a transfer
 * cancelled by its round timeout, and a transfer still in flight at
 * SIGTERM that shutdown cancels. The run must end with exit 0, no invalid
 * access and no definite or indirect leak. SIPHON_REST_SHARD_SIZE=2 spreads
 * the sources over several multi handles. Not run in the sanitizer build
 * (ctest label no-asan): valgrind and ASan do not mix. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "restt.h"
#include "tmpfile.h"
#include "valgrind.h"

#define WAIT_MS 60000

static tproc fixture;
static tproc vg;

#define CHECK(cond, ...) TVG_CHECK(&vg, &fixture, cond, __VA_ARGS__)

Test(rest_valgrind, many_sources_and_sigterm_mid_transfer_are_clean) {
  /* Several multi handles: two sources each. Criterion runs each test in
   * a process of its own, so this stays in this test. */
  cr_assert_eq(setenv("SIPHON_REST_SHARD_SIZE", "2", 1), 0);

  int port = restt_fixture_start(&fixture);
  char *dir = tmp_dir();
  cr_assert_not_null(dir);
  char data[512];
  snprintf(data, sizeof(data), "%s/data.json", dir);
  cr_assert_eq(tmp_write_at(data, "{\"rows\": [{\"f\": 1}, {\"f\": 2}]}\n"), 0);

  char base[64];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
  /* Every timeout is at most its interval (the host requires it). `slow`
   * times out every round (its transfer is cancelled, by the host's round
   * timer or by libcurl's own timeout); `inflight` starts once and is
   * still waiting for its response at SIGTERM, so shutdown_grace passes
   * and shutdown cancels it. */
  char *cfg = tmp_write(
      "siphon.json",
      "{\"siphon\": {\"plugin_path\": [\"%s\"], \"log_level\": \"info\",\n"
      "             \"shutdown_grace\": \"1s\"},\n"
      " \"sources\": [\n"
      "  {\"name\": \"json\", \"plugin\": \"rest\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"url\": \"%s/json\", \"select\": \"/items\", \"split\": true}},\n"
      "  {\"name\": \"keep\", \"plugin\": \"rest\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"url\": \"%s/conn\"}},\n"
      "  {\"name\": \"close\", \"plugin\": \"rest\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"url\": \"%s/conn?close=1\"}},\n"
      "  {\"name\": \"idle\", \"plugin\": \"rest\", \"interval\": \"300ms\",\n"
      "   \"options\": {\"url\": \"%s/conn?idle_close_ms=100\"}},\n"
      "  {\"name\": \"fail\", \"plugin\": \"rest\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"url\": \"%s/status?code=500\"}},\n"
      "  {\"name\": \"slow\", \"plugin\": \"rest\", \"interval\": \"1s\", \"timeout\": \"300ms\",\n"
      "   \"options\": {\"url\": \"%s/delay?ms=5000\"}},\n"
      "  {\"name\": \"gz\", \"plugin\": \"rest\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"url\": \"%s/gzip\", \"select\": \"/items\", \"split\": true}},\n"
      "  {\"name\": \"pages\", \"plugin\": \"rest\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"url\": \"%s/link?pages=3\", \"select\": \"/items\", \"split\": true,\n"
      "                \"paginate\": {\"type\": \"link_header\"}}},\n"
      "  {\"name\": \"file\", \"plugin\": \"rest\", \"interval\": \"250ms\",\n"
      "   \"options\": {\"url\": \"file://%s\", \"select\": \"/rows\", \"split\": true}},\n"
      "  {\"name\": \"long\", \"plugin\": \"rest\", \"interval\": \"2s\",\n"
      "   \"options\": {\"url\": \"%s/many?n=30000\", \"select\": \"/items\", \"split\": true}},\n"
      "  {\"name\": \"inflight\", \"plugin\": \"rest\", \"interval\": \"110s\", \"timeout\": "
      "\"100s\",\n"
      "   \"options\": {\"url\": \"%s/delay?ms=120000&id=inflight\"}}\n"
      " ]}\n",
      SIPHON_PLUGIN_DIR, base, base, base, base, base, base, base, base, data, base, base);
  cr_assert_not_null(cfg);

  tvg_start(&vg, cfg);

  /* Records of every source that succeeds: the split ones give several
   * per round; the connection ones must have gone round a few times. */
  CHECK(tproc_wait_stdout(&vg, "\"source\":\"json\",", WAIT_MS), "no record of json");
  CHECK(tproc_wait_stdout(&vg, "\"source\":\"gz\",", WAIT_MS), "no record of gz");
  CHECK(tproc_wait_stdout(&vg, "\"page\":3}", WAIT_MS), "no third page of pages");
  CHECK(tproc_wait_stdout(&vg, "\"source\":\"file\",", WAIT_MS), "no record of file");
  /* A page over REST_PARSE_OFF_LOOP, parsed on the threadpool and written
   * in chunks. */
  CHECK(tproc_wait_stdout(&vg, "\"data\":{\"i\":29999}", WAIT_MS), "no last record of long");
  CHECK(tproc_wait_stdout_count(&vg, "\"source\":\"keep\",", 8, WAIT_MS),
        "fewer than 8 records of keep");
  CHECK(tproc_wait_stdout_count(&vg, "\"source\":\"close\",", 8, WAIT_MS),
        "fewer than 8 records of close");
  CHECK(tproc_wait_stdout_count(&vg, "\"source\":\"idle\",", 6, WAIT_MS),
        "fewer than 6 records of idle");
  CHECK(tproc_wait_stderr(&vg, "[fail] collect failed: HTTP 500", WAIT_MS),
        "the failing source never failed");
  /* The host's round timer or libcurl's own timeout, whichever fires
   * first, ends the slow source's round. */
  CHECK(tproc_wait_stderr(&vg, "[slow] collect ", WAIT_MS) &&
            (strstr(vg.err, "[slow] collect timed out") != NULL ||
             strstr(vg.err, "[slow] collect failed: page 1: Operation timed out") != NULL),
        "the slow source never timed out");
  CHECK(strstr(vg.out, "\"id\":\"inflight\"") == NULL, "the in-flight transfer completed");

  /* inflight's response is due in two minutes: SIGTERM lands mid-transfer. */
  tproc_kill(&vg, SIGTERM);
  int st = tproc_finish(&vg, 120000);
  CHECK(strstr(vg.err, "shutdown_grace passed: cancelling") != NULL,
        "no transfer was in flight at SIGTERM");
  tvg_assert_clean(&vg, &fixture, st);

  tproc_free(&vg);
  restt_fixture_stop(&fixture);
  tmp_rmtree(dir);
  free(dir);
  tmp_discard(cfg);
}
