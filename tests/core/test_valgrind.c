/* One end-to-end run under valgrind: the loop, both runners, the
 * thread-safe emit, a streaming source and a graceful shutdown, with no
 * invalid access and no leak. Not run in the sanitizer build (ctest label
 * no-asan): valgrind and ASan do not mix. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "tmpfile.h"
#include "valgrind.h"

Test(valgrind, full_run_is_clean) {
  char *cfg = tmp_write(
      "siphon.json",
      "{\"siphon\": {\"plugin_path\": [\"%s\"], \"threads\": 2},\n"
      " \"sources\": [\n"
      "  {\"name\": \"a\", \"plugin\": \"tick\", \"interval\": \"100ms\", \"options\": "
      "{\"count\": 2, \"delay\": \"5ms\"}},\n"
      "  {\"name\": \"slow\", \"plugin\": \"tick\", \"interval\": \"1s\", \"timeout\": \"100ms\", "
      "\"options\": {\"delay\": \"10s\"}},\n"
      "  {\"name\": \"b\", \"plugin\": \"sleeper\", \"interval\": \"100ms\", \"options\": "
      "{\"sleep\": \"20ms\"}},\n"
      "  {\"name\": \"fails\", \"plugin\": \"sleeper\", \"interval\": \"100ms\", \"options\": "
      "{\"fail\": true}},\n"
      "  {\"name\": \"th\", \"plugin\": \"threads\", \"options\": {\"threads\": 2, \"records\": "
      "200}},\n"
      "  {\"name\": \"st\", \"plugin\": \"stream\", \"options\": {\"every\": 20}}\n"
      " ]}\n",
      SIPHON_TEST_PLUGIN_DIR);
  tproc p;
  tvg_start(&p, cfg);
  cr_assert(tproc_wait_stderr(&p, "thread 1 emitted 200 records", 60000), "%s", p.err);
  cr_assert(tproc_wait_stderr(&p, "[slow] collect timed out", 60000), "%s", p.err);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"b\"", 60000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  tvg_assert_clean(&p, NULL, tproc_finish(&p, 120000));
  tproc_free(&p);
  free(cfg);
}
