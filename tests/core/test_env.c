/* ${VAR} substitution, durations, sizes and "did you mean" on their own. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "tmpfile.h"

static char *sub(const char *in) {
  char *err = NULL;
  char *out = siphon__env_substitute(in, &err);
  cr_assert_not_null(out, "%s: %s", in, err ? err : "?");
  cr_assert_null(err);
  return out;
}

static char *sub_err(const char *in) {
  char *err = NULL;
  char *out = siphon__env_substitute(in, &err);
  cr_assert_null(out, "%s was substituted to %s", in, out);
  cr_assert_not_null(err);
  return err;
}

#define SUB_EQ(in, want)                    \
  do {                                      \
    char *got_ = sub(in);                   \
    cr_expect_str_eq(got_, want, "%s", in); \
    free(got_);                             \
  } while (0)

#define SUB_ERR(in, want)                   \
  do {                                      \
    char *err_ = sub_err(in);               \
    cr_expect_str_eq(err_, want, "%s", in); \
    free(err_);                             \
  } while (0)

Test(env, plain_default_and_required) {
  setenv("SIPHON_E_A", "alpha", 1);
  setenv("SIPHON_E_EMPTY", "", 1);
  unsetenv("SIPHON_E_UNSET");
  SUB_EQ("no variables", "no variables");
  SUB_EQ("${SIPHON_E_A}", "alpha");
  SUB_EQ("x-${SIPHON_E_A}-${SIPHON_E_A}-y", "x-alpha-alpha-y");
  SUB_EQ("${SIPHON_E_UNSET:-dflt}", "dflt");
  SUB_EQ("${SIPHON_E_EMPTY:-dflt}", "dflt");
  SUB_EQ("${SIPHON_E_A:-dflt}", "alpha");
  SUB_EQ("${SIPHON_E_UNSET:-}", "");
  SUB_EQ("${SIPHON_E_UNSET:-a:b}c}", "a:bc}");
  SUB_EQ("${SIPHON_E_UNSET:-${SIPHON_E_A}}", "alpha");
  SUB_EQ("${SIPHON_E_UNSET:-${SIPHON_E_UNSET:-deep}}", "deep");
  SUB_EQ("${SIPHON_E_A:?must be set}", "alpha");
  unsetenv("file");
  SUB_EQ("${file:-a variable named file}", "a variable named file");
  SUB_EQ("${SIPHON_E_EMPTY}", "");
}

Test(env, dollars) {
  SUB_EQ("$$", "$");
  SUB_EQ("$${HOME}", "${HOME}");
  SUB_EQ("cost: $5", "cost: $5");
  SUB_EQ("end$", "end$");
  SUB_EQ("$$$$", "$$");
}

Test(env, errors) {
  unsetenv("SIPHON_E_UNSET");
  setenv("SIPHON_E_EMPTY", "", 1);
  SUB_ERR("${SIPHON_E_UNSET}", "environment variable SIPHON_E_UNSET is not set");
  SUB_ERR("a ${SIPHON_E_UNSET:?set it to the API token} b",
          "SIPHON_E_UNSET: set it to the API token");
  SUB_ERR("${SIPHON_E_EMPTY:?empty is not enough}", "SIPHON_E_EMPTY: empty is not enough");
  SUB_ERR("${SIPHON_E_UNSET:?}", "environment variable SIPHON_E_UNSET is not set or empty");
  SUB_ERR("${SIPHON_E_UNSET:-${SIPHON_E_UNSET}}", "environment variable SIPHON_E_UNSET is not set");
  SUB_ERR("${}", "\"${}\": expected a variable name after \"${\"");
  SUB_ERR("${9X}", "\"${9X}\": expected a variable name after \"${\"");
  SUB_ERR("${A B}", "\"${A B}\": expected ${A}, ${A:-default}, ${A:?message} or ${file:PATH}");
  SUB_ERR("${A=x}", "\"${A=x}\": expected ${A}, ${A:-default}, ${A:?message} or ${file:PATH}");
  SUB_ERR("${SIPHON_E_UNSET", "\"${\" without a closing \"}\" (write \"$$\" for a literal \"$\")");
}

Test(env, secret_from_a_file) {
  char *dir = tmp_dir();
  char path[1024], in[1100];
  snprintf(path, sizeof(path), "%s/token", dir);
  cr_assert_eq(tmp_write_at(path, "s3cret\n"), 0);
  snprintf(in, sizeof(in), "Bearer ${file:%s}", path);
  SUB_EQ(in, "Bearer s3cret"); /* the newline that ends the file is not the secret's */
  cr_assert_eq(tmp_write_at(path, "two\nlines\r\n\n"), 0);
  snprintf(in, sizeof(in), "${file:%s}", path);
  SUB_EQ(in, "two\nlines");
  /* Relative to the config's directory; the path may use ${...} itself. */
  setenv("SIPHON_CONFIG_DIR", dir, 1);
  SUB_EQ("${file:token}", "two\nlines");
  setenv("SIPHON_E_DIR", dir, 1);
  SUB_EQ("${file:${SIPHON_E_DIR}/token}", "two\nlines");
  unsetenv("SIPHON_CONFIG_DIR");
  tmp_rmtree(dir);
  free(dir);
}

Test(env, secret_file_errors) {
  char *dir = tmp_dir();
  char path[1024], in[1100], want[1200];
  unsetenv("SIPHON_CONFIG_DIR");
  SUB_ERR("${file:/nonexistent-siphon-dir/token}",
          "cannot read the file /nonexistent-siphon-dir/token: No such file or directory");
  SUB_ERR("${file:}", "\"${file:}\": expected a file's path after \"file:\"");
  SUB_ERR("${file:${SIPHON_E_UNSET}}", "environment variable SIPHON_E_UNSET is not set");
  snprintf(path, sizeof(path), "%s/big", dir);
  char *big = malloc(70000);
  memset(big, 'a', 69999);
  big[69999] = '\0';
  cr_assert_eq(tmp_write_at(path, big), 0);
  free(big);
  snprintf(in, sizeof(in), "${file:%s}", path);
  snprintf(want, sizeof(want), "the file %s is over 64 KiB: ${file:...} reads one value", path);
  SUB_ERR(in, want);
  snprintf(in, sizeof(in), "${file:%s}", dir);
  snprintf(want, sizeof(want), "%s is not a file", dir);
  SUB_ERR(in, want);
  /* An empty secret is refused, as an unset ${VAR} is. */
  snprintf(path, sizeof(path), "%s/empty", dir);
  cr_assert_eq(tmp_write_at(path, "\n"), 0);
  snprintf(in, sizeof(in), "${file:%s}", path);
  snprintf(want, sizeof(want), "the file %s is empty", path);
  SUB_ERR(in, want);
  /* A FIFO does not hold the check: it is no file. */
  snprintf(path, sizeof(path), "%s/fifo", dir);
  cr_assert_eq(mkfifo(path, 0600), 0);
  snprintf(in, sizeof(in), "${file:%s}", path);
  snprintf(want, sizeof(want), "%s is not a file", path);
  SUB_ERR(in, want);
  tmp_rmtree(dir);
  free(dir);
}

static uint64_t dur(const char *s) {
  uint64_t ms = 12345;
  cr_assert_eq(siphon__duration_parse_str(s, &ms), 0, "%s", s);
  return ms;
}

static int dur_bad(const char *s) {
  uint64_t ms = 777;
  int rc = siphon__duration_parse_str(s, &ms);
  return (rc == -EINVAL || rc == -ERANGE) && ms == 777;
}

static int dur_too_long(const char *s) {
  uint64_t ms = 777;
  return siphon__duration_parse_str(s, &ms) == -ERANGE && ms == 777;
}

Test(duration, accepted) {
  cr_expect_eq(dur("250ms"), 250);
  cr_expect_eq(dur("10s"), 10000);
  cr_expect_eq(dur("1.5s"), 1500);
  cr_expect_eq(dur(".5s"), 500);
  cr_expect_eq(dur("1m"), 60000);
  cr_expect_eq(dur("2h"), 7200000);
  cr_expect_eq(dur("1h30m"), 5400000);
  cr_expect_eq(dur("1m30.5s"), 90500);
  cr_expect_eq(dur("0s"), 0);
  cr_expect_eq(dur("0.0004s"), 0, "below a millisecond rounds to the nearest");
  cr_expect_eq(dur("1.0006s"), 1001);
}

Test(duration, refused) {
  const char *bad[] = {"",
                       "10",
                       "s",
                       "1.s",
                       "-1s",
                       "10 s",
                       " 10s",
                       "10s ",
                       "1d",
                       "10S",
                       "1ms5",
                       "ten",
                       "1.5",
                       "ms",
                       "1e3ms",
                       "99999999999999999999h",
                       "6000000000000h"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_expect(dur_bad(bad[i]), "\"%s\" was accepted", bad[i]);
  }
  /* Told apart from a misspelling, so the message can say so. */
  cr_expect(dur_too_long("99999999999999999999h"));
  cr_expect(dur_too_long("6000000000000h"));
  cr_expect(!dur_too_long("ten"));
}

Test(duration, json_values) {
  uint64_t ms = 0;
  json_t *v = json_integer(1500);
  cr_expect_eq(siphon__duration_parse(v, &ms), 0);
  cr_expect_eq(ms, 1500);
  json_decref(v);
  v = json_real(2000.0);
  cr_expect_eq(siphon__duration_parse(v, &ms), 0, "a whole real is a number of ms");
  cr_expect_eq(ms, 2000);
  json_decref(v);
  const char *bad[] = {"-1", "1.5", "true", "null", "[]", "{}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    cr_assert_not_null(v);
    cr_expect_eq(siphon__duration_parse(v, &ms), -EINVAL, "%s was accepted", bad[i]);
    json_decref(v);
  }
}

Test(duration, format) {
  const struct {
    uint64_t ms;
    const char *text;
  } cases[] = {{0, "0s"},       {250, "250ms"},   {1000, "1s"},  {1500, "1.5s"},
               {1250, "1.25s"}, {1001, "1.001s"}, {60000, "1m"}, {90000, "90s"},
               {7200000, "2h"}, {5400000, "90m"}, {999, "999ms"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[32];
    siphon__duration_format(cases[i].ms, buf, sizeof(buf));
    cr_expect_str_eq(buf, cases[i].text, "%llu ms", (unsigned long long)cases[i].ms);
  }
}

Test(size, accepted_and_refused) {
  const struct {
    const char *s;
    uint64_t bytes;
  } ok[] = {{"0", 0},
            {"100", 100},
            {"100B", 100},
            {"512KiB", 512 * 1024},
            {"64MiB", 64ull << 20},
            {"64 MiB", 64ull << 20},
            {"64mib", 64ull << 20},
            {"1GiB", 1ull << 30},
            {"2TiB", 2ull << 40},
            {"100MB", 100000000},
            {"1.5GB", 1500000000},
            {"10kB", 10000}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    uint64_t b = 0;
    cr_expect_eq(siphon__size_parse_str(ok[i].s, &b), 0, "%s", ok[i].s);
    cr_expect_eq(b, ok[i].bytes, "%s", ok[i].s);
  }
  const char *bad[] = {"", "lots", "MiB", "1.5B", "1.5", "-1MiB", "10 M", "1PiB", "64MiBs"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint64_t b = 0;
    cr_expect_eq(siphon__size_parse_str(bad[i], &b), -EINVAL, "\"%s\" was accepted", bad[i]);
  }
  json_t *v = json_integer(-1);
  uint64_t b = 0;
  cr_expect_eq(siphon__size_parse(v, &b), -EINVAL);
  json_decref(v);
}

Test(suggest, nearest_known_key) {
  const char *const keys[] = {"name",   "plugin",  "interval", "timeout",
                              "jitter", "options", "tags",     NULL};
  cr_expect_str_eq(siphon__suggest("intervall", keys), "interval");
  cr_expect_str_eq(siphon__suggest("intreval", keys), "interval");
  cr_expect_str_eq(siphon__suggest("Timeout", keys), "timeout");
  cr_expect_str_eq(siphon__suggest("plgin", keys), "plugin");
  cr_expect_str_eq(siphon__suggest("option", keys), "options");
  cr_expect_str_eq(siphon__suggest("time", keys), "timeout");
  cr_expect_null(siphon__suggest("url", keys));
  cr_expect_null(siphon__suggest("x", keys));
  cr_expect_null(siphon__suggest("", keys));
  cr_expect_null(siphon__suggest("completely_different", keys));
}

/* What an error names of a substituted value: the variables, never a
 * default, which may be a secret; a file's path, which is not one. */
Test(env, names_without_defaults) {
  static const char *const cases[][2] = {
      {"http://${SIPHON_TN_UNSET:-h}:${SIPHON_TN_SET:-x}/${SIPHON_TN_SET:?set it}",
       "${SIPHON_TN_UNSET} (unset or empty: its default), ${SIPHON_TN_SET}, ${SIPHON_TN_SET}"},
      {"${file:/run/secrets/token}", "${file:/run/secrets/token}"},
      {"${file:-mongodb://admin:hunter2@h/db}", "${file} (unset or empty: its default)"},
      {"${file:?no file}", "${file}"},
      {"$${NOT}", NULL},
  };
  unsetenv("SIPHON_TN_UNSET");
  setenv("SIPHON_TN_SET", "v", 1);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *got = siphon__env_names(cases[i][0]);
    if (cases[i][1] == NULL) {
      cr_expect_null(got, "%s: %s", cases[i][0], got);
    } else {
      cr_expect_str_eq(got, cases[i][1], "%s", cases[i][0]);
    }
    free(got);
  }
}
