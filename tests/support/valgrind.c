#include "valgrind.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define VALGRIND "/usr/bin/valgrind"

void tvg_start(tproc *p, const char *config) {
  if (access(VALGRIND, X_OK) != 0) {
    cr_assert_fail("valgrind is not installed (make dev-deps installs it)");
  }
  const char *argv[] = {VALGRIND,
                        "--error-exitcode=99",
                        "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect",
                        "--show-leak-kinds=definite,indirect",
                        "--track-fds=no",
                        SIPHON_BIN,
                        "-c",
                        config,
                        NULL};
  cr_assert_eq(tproc_start(p, argv, NULL), 0, "cannot start %s", VALGRIND);
}

void tvg_fail(tproc *p, tproc *also, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  tproc_kill(p, SIGKILL);
  tproc_finish(p, 10000);
  if (also != NULL) {
    tproc_kill(also, SIGKILL);
    tproc_finish(also, 10000);
  }
  cr_assert_fail("%s\n--- stderr:\n%s\n--- stdout (last 3000 bytes):\n%s", why, p->err,
                 p->out_len > 3000 ? p->out + p->out_len - 3000 : p->out);
}

void tvg_assert_clean(tproc *p, tproc *also, int st) {
  TVG_CHECK(p, also, st == 0, "valgrind (siphon) exited %d", st);
  TVG_CHECK(p, also, strstr(p->err, "ERROR SUMMARY: 0 errors") != NULL, "valgrind reported errors");
}
