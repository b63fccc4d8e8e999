/* siphon under valgrind, with the project's one policy: an invalid
 * access, or a definite or indirect leak, fails the run (valgrind exits
 * 99). For the end-to-end tests that drive the loop; the sanitizer build
 * skips them (ctest label no-asan), valgrind and ASan do not mix. */
#ifndef SIPHON_TEST_VALGRIND_H
#define SIPHON_TEST_VALGRIND_H

#include "proc.h"

/* Starts `valgrind <policy> siphon -c config` in p. Fails the test when
 * valgrind is not installed (make dev-deps installs it). */
void tvg_start(tproc *p, const char *config);

/* Kills p, and `also` when not NULL, so that no child outlives the test,
 * then fails it with the reason and what siphon printed (all of stderr,
 * the end of stdout). */
void tvg_fail(tproc *p, tproc *also, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fails through tvg_fail unless cond holds. */
#define TVG_CHECK(p, also, cond, ...) \
  do {                                \
    if (!(cond)) {                    \
      tvg_fail(p, also, __VA_ARGS__); \
    }                                 \
  } while (0)

/* After tproc_finish returned st: siphon exited 0 and valgrind found no
 * error (else tvg_fail). */
void tvg_assert_clean(tproc *p, tproc *also, int st);

#endif
