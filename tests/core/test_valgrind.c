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

Test(valgrind, full_run_is_clean) {
  if (access("/usr/bin/valgrind", X_OK) != 0) {
    cr_assert_fail("valgrind is not installed (make deps installs it)");
  }
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
  const char *argv[] = {"/usr/bin/valgrind",
                        "--error-exitcode=99",
                        "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect",
                        "--show-leak-kinds=definite,indirect",
                        "--track-fds=no",
                        SIPHON_BIN,
                        "-c",
                        cfg,
                        NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  cr_assert(tproc_wait_stderr(&p, "thread 1 emitted 200 records", 60000), "%s", p.err);
  cr_assert(tproc_wait_stderr(&p, "[slow] collect timed out", 60000), "%s", p.err);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"b\"", 60000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, 120000);
  cr_assert_eq(st, 0, "valgrind exit %d:\n%s", st, p.err);
  cr_assert(strstr(p.err, "ERROR SUMMARY: 0 errors") != NULL, "%s", p.err);
  tproc_free(&p);
  free(cfg);
}
