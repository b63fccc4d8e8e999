/* How reals look in a record line: what a reader parses back. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* What the line used to say for every real (the slow way, kept as the
 * reference): the shortest %.15g..%.17g that reads back, ".0" added when
 * it looks like an integer. */
static void reference(double v, char out[64]) {
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(out, 64, "%.*g", prec, v);
    if (prec == 17 || strtod(out, NULL) == v) {
      break;
    }
  }
  if (strpbrk(out, ".eEn") == NULL) {
    memcpy(out + n, ".0", 3);
  }
}

static void expect_same(double v) {
  char got[SIPHON__REAL_LEN], want[64];
  size_t n = siphon__record_real(v, got);
  reference(v, want);
  cr_assert_str_eq(got, want, "for %.17g", v);
  cr_assert_eq(n, strlen(got));
  cr_assert_eq(strtod(got, NULL), v, "%s reads back as %.17g", got, v);
}

Test(record_real, milliseconds_to_the_microsecond) {
  /* meta.elapsed_ms and meta.wait_ms: integers of µs over 1,000. */
  long long samples[] = {1,
                         5,
                         10,
                         100,
                         999,
                         1000,
                         1001,
                         200512,
                         200500,
                         200000,
                         123456789,
                         99999999999999LL,
                         1000000000000LL};
  for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
    expect_same((double)samples[i] / 1000.0);
    expect_same(-(double)samples[i] / 1000.0);
  }
  for (long long m = -300000; m <= 300000; m += 7) {
    expect_same((double)m / 1000.0);
  }
  srand(42);
  for (int i = 0; i < 200000; i++) {
    long long m = ((long long)rand() << 16 ^ rand()) % 99999999999999LL;
    expect_same((double)m / 1000.0);
    expect_same(-(double)m / 1000.0);
    /* Its neighbours are not milliseconds: they must not be written as
     * if they were. */
    expect_same(nextafter((double)m / 1000.0, 0));
    expect_same(nextafter((double)m / 1000.0, 1e300));
    expect_same(((double)m + 0.5) / 1000.0);
  }
  expect_same(nextafter(1e11, 0)); /* the edge of the fast path */
}

Test(record_real, other_reals_as_before) {
  double samples[] = {
      0.0,  -0.0, 0.1,       0.2 + 0.1,        1.0 / 3.0, 0.0005,   1e-7,  1e11,     1e11 + 0.001,
      1e15, 1e21, -2.5e-300, 3.14159265358979, 0.903,     200.5125, 1e300, 123456.0, 4.9e-324};
  for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
    expect_same(samples[i]);
  }
  srand(7);
  for (int i = 0; i < 200000; i++) {
    double v = ((double)rand() / RAND_MAX - 0.5) * 1e6;
    expect_same(v);
  }
  char out[SIPHON__REAL_LEN];
  double not_finite[] = {INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < 3; i++) {
    cr_expect_eq(siphon__record_real(not_finite[i], out), 0, "not a JSON number");
    cr_expect_eq(out[0], '\0');
  }
  cr_expect_str_eq((siphon__record_real(-0.0, out), out), "-0.0", "the sign of zero is kept");
  cr_expect_str_eq((siphon__record_real(200.0, out), out), "200.0", "stays a real when read back");
}
