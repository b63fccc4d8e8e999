/* Bad configs: each must be refused with a message that names the file,
 * the JSON path and what was expected, and every error must be reported,
 * not just the first. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tmpfile.h"
#include "util.h"

/* Every diag line as the user sees it ("WHERE: TEXT\n"), from a config
 * that must be refused. */
static char *errors_of(const char *json) {
  siphon__config cfg;
  siphon__diag d;
  siphon__diag_init(&d);
  int rc = siphon__config_load_string(json, "t.json", &cfg, &d);
  cr_assert_eq(rc, -EINVAL, "config was accepted: %s", json);
  cr_assert_gt(d.count, 0);
  size_t len = 1;
  for (size_t i = 0; i < d.count; i++) {
    len += strlen(d.entries[i].where) + strlen(d.entries[i].text) + 3;
  }
  char *all = siphon__xcalloc(1, len);
  for (size_t i = 0; i < d.count; i++) {
    strcat(all, d.entries[i].where);
    strcat(all, ": ");
    strcat(all, d.entries[i].text);
    strcat(all, "\n");
  }
  siphon__diag_free(&d);
  siphon__config_free(&cfg);
  return all;
}

static size_t lines_of(const char *s) {
  size_t n = 0;
  for (; *s != '\0'; s++) {
    n += *s == '\n';
  }
  return n;
}

/* Asserts that the refusal says `want` (a whole "WHERE: TEXT" fragment). */
#define REFUSED(json, want)                                                     \
  do {                                                                          \
    char *errs_ = errors_of(json);                                              \
    cr_expect_not_null(strstr(errs_, want), "want: %s\ngot:\n%s", want, errs_); \
    free(errs_);                                                                \
  } while (0)

#define SRC(extra) "{\"sources\": [{\"name\": \"a\", \"plugin\": \"tick\"" extra "}]}"

Test(config_bad, unknown_source_key_suggests_nearest) {
  REFUSED(SRC(", \"intervall\": \"10s\""),
          "t.json: sources[0].intervall: unknown key; did you mean \"interval\"?");
}

Test(config_bad, unknown_key_transposed_letters) {
  REFUSED(SRC(", \"tiemout\": \"1s\""),
          "sources[0].tiemout: unknown key; did you mean \"timeout\"?");
}

Test(config_bad, unknown_top_key_suggests_and_sources_missing) {
  char *e = errors_of("{\"source\": []}");
  cr_expect_not_null(strstr(e, "t.json: source: unknown key; did you mean \"sources\"?"), "%s", e);
  cr_expect_not_null(strstr(e, "t.json: missing required key \"sources\""), "%s", e);
  free(e);
}

Test(config_bad, unknown_siphon_key) {
  REFUSED("{\"siphon\": {\"thread\": 4}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "t.json: siphon.thread: unknown key; did you mean \"threads\"?");
}

Test(config_bad, unknown_key_far_from_all_lists_known_keys) {
  REFUSED(SRC(", \"zzzzzz\": 1"), "sources[0].zzzzzz: unknown key; expected one of: name, plugin");
}

Test(config_bad, unknown_output_key) {
  REFUSED(
      "{\"siphon\": {\"output\": {\"type\": \"file\", \"paht\": \"x\"}}, \"sources\": "
      "[{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "siphon.output.paht: unknown key; did you mean \"path\"?");
}

Test(config_bad, top_level_array) {
  REFUSED("[]",
          "t.json: expected an object such as {\"sources\": [...]} at the top level, got an array");
}

Test(config_bad, sources_not_an_array) {
  REFUSED("{\"sources\": {\"name\": \"a\"}}",
          "t.json: sources: expected an array of sources, got an object");
}

Test(config_bad, empty_sources) {
  REFUSED("{\"sources\": []}", "t.json: sources: expected at least one source");
  REFUSED("{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\", \"enabled\": false}]}",
          "t.json: sources: every source is disabled (\"enabled\": false): nothing would be "
          "collected");
}

Test(config_bad, source_not_an_object) {
  REFUSED(
      "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}, \"b\"]}",
      "t.json: sources[1]: expected an object with \"name\" and \"plugin\" describing a source, "
      "got a string (\"b\")");
}

Test(config_bad, missing_name) {
  REFUSED("{\"sources\": [{\"plugin\": \"p\"}]}",
          "t.json: sources[0]: missing required key \"name\"");
}

Test(config_bad, missing_plugin) {
  REFUSED("{\"sources\": [{\"name\": \"a\"}]}",
          "t.json: sources[0]: missing required key \"plugin\"");
}

Test(config_bad, name_wrong_type) {
  REFUSED("{\"sources\": [{\"name\": 7, \"plugin\": \"p\"}]}",
          "t.json: sources[0].name: expected a string, got a number (7)");
}

Test(config_bad, empty_plugin_name) {
  REFUSED("{\"sources\": [{\"name\": \"a\", \"plugin\": \"\"}]}",
          "sources[0].plugin: expected a non-empty string, got \"\"");
}

Test(config_bad, duplicate_names_name_both_indexes) {
  REFUSED(
      "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}, {\"name\": \"b\", \"plugin\": \"p\"},"
      " {\"name\": \"a\", \"plugin\": \"p\"}]}",
      "t.json: sources[2].name: \"a\" is already the name of sources[0]");
}

Test(config_bad, name_with_space) {
  REFUSED("{\"sources\": [{\"name\": \"my api\", \"plugin\": \"p\"}]}",
          "sources[0].name: \"my api\" has a character not allowed in names (' ')");
  /* The whole character, not its first byte. */
  REFUSED("{\"sources\": [{\"name\": \"caf\u00e9\", \"plugin\": \"p\"}]}",
          "sources[0].name: \"caf\xc3\xa9\" has a character not allowed in names ('\xc3\xa9')");
  REFUSED("{\"sources\": [{\"name\": \"a\\tb\", \"plugin\": \"p\"}]}",
          "has a character not allowed in names (U+0009)");
}

Test(config_bad, duration_not_understood) {
  REFUSED(
      SRC(", \"interval\": \"ten\""),
      "t.json: sources[0].interval: expected a duration such as \"10s\", \"250ms\", \"1m\" or a "
      "number of milliseconds, got \"ten\"");
  /* A duration that does not fit is said to be too long, not misread. */
  REFUSED(SRC(", \"interval\": \"9999999999999999h\""),
          "t.json: sources[0].interval: \"9999999999999999h\" is too long: a duration may be at "
          "most 100 years (876600h)");
  /* One that fits 64 bits but wraps a plugin's time plus it. */
  REFUSED(SRC(", \"interval\": \"5124095576030h\""),
          "t.json: sources[0].interval: \"5124095576030h\" is too long");
  REFUSED(SRC(", \"interval\": 3155760000001"),
          "t.json: sources[0].interval: 3155760000001 is too long");
}

Test(config_bad, duration_without_unit) {
  REFUSED(SRC(", \"interval\": \"10\""),
          "sources[0].interval: \"10\" has no unit: write \"10s\" for seconds or \"10ms\" for "
          "milliseconds");
}

/* "interval": 10 is valid (10 ms) and likely a collectd user's 10 s: the
 * config is taken, with a warning that says both ways to write it. */
Test(config_bad, a_bare_small_interval_is_warned_of) {
  static const struct {
    const char *json;
    int warned;
  } cases[] = {
      {SRC(", \"interval\": 10"), 1},      {SRC(", \"interval\": 999"), 1},
      {SRC(", \"interval\": 1000"), 0},    {SRC(", \"interval\": \"10ms\""), 0},
      {SRC(", \"interval\": \"10s\""), 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    siphon__config cfg;
    siphon__diag d;
    siphon__diag_init(&d);
    int rc = siphon__config_load_string(cases[i].json, "t.json", &cfg, &d);
    cr_assert_eq(rc, 0, "%s", cases[i].json);
    cr_assert_eq(cfg.warnings.count, (size_t)cases[i].warned, "%s", cases[i].json);
    if (cases[i].warned) {
      cr_expect_str_eq(cfg.warnings.entries[0].where, "t.json: sources[0].interval");
      cr_expect_not_null(strstr(cfg.warnings.entries[0].text,
                                " milliseconds (a bare number is milliseconds): write \""),
                         "%s", cfg.warnings.entries[0].text);
    }
    siphon__diag_free(&d);
    siphon__config_free(&cfg);
  }
}

Test(config_bad, duration_wrong_type) {
  REFUSED(SRC(", \"timeout\": [1]"), "sources[0].timeout: expected a duration such as \"10s\"");
  REFUSED(SRC(", \"timeout\": [1]"), "or a number of milliseconds, got an array");
  REFUSED(SRC(", \"jitter\": true"), "sources[0].jitter: expected a duration");
  REFUSED(SRC(", \"jitter\": true"), "got a boolean (true)");
}

Test(config_bad, negative_interval) {
  REFUSED(SRC(", \"interval\": -5"), "sources[0].interval: expected a duration such as");
  REFUSED(SRC(", \"interval\": -5"), "got -5");
}

Test(config_bad, zero_interval) {
  REFUSED(SRC(", \"interval\": 0"),
          "sources[0].interval: expected a duration greater than 0, got 0");
  REFUSED(SRC(", \"interval\": \"0s\""),
          "sources[0].interval: expected a duration greater than 0, got \"0s\"");
}

Test(config_bad, zero_timeout) {
  REFUSED(SRC(", \"timeout\": \"0ms\""),
          "sources[0].timeout: expected a duration greater than 0, got \"0ms\"");
}

Test(config_bad, timeout_longer_than_interval) {
  REFUSED(
      "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}, {\"name\": \"b\", \"plugin\": "
      "\"p\", \"interval\": \"10s\", \"timeout\": \"20s\"}]}",
      "t.json: sources[1].timeout: 20s is longer than the interval 10s");
}

Test(config_bad, timeout_longer_than_default_interval) {
  REFUSED(SRC(", \"timeout\": \"1m\""), "sources[0].timeout: 1m is longer than the interval 10s");
}

Test(config_bad, jitter_not_shorter_than_interval) {
  REFUSED(SRC(", \"interval\": \"1.5s\", \"jitter\": 1500"),
          "sources[0].jitter: 1.5s must be shorter than the interval 1.5s");
}

Test(config_bad, max_backoff_shorter_than_interval) {
  REFUSED(SRC(", \"interval\": \"1m\", \"max_backoff\": \"30s\""),
          "sources[0].max_backoff: 30s is shorter than the interval 1m");
}

Test(config_bad, syntax_error_line_and_column) {
  /* The stray comma is on line 3, column 18. */
  REFUSED("{\n  \"sources\": [\n    {\"name\": \"a\",, \"plugin\": \"p\"}\n  ]\n}\n",
          "t.json:3:18: string or '}' expected near ','");
}

Test(config_bad, end_of_file_is_a_column_from_1) {
  /* jansson says column 0 of the line after the last newline; the
   * message points just past the last character, where '}' would go. */
  REFUSED("{\"sources\": [\n  {\"name\": \"a\", \"plugin\": \"p\"}\n]\n\n",
          "t.json:3:2: '}' expected near end of file");
}

Test(config_bad, trailing_comma_is_named_at_the_comma) {
  /* jansson points past it, at the bracket; the message points at it. */
  REFUSED("{\"sources\": [\n  {\"name\": \"a\", \"plugin\": \"p\"},\n]}\n",
          "t.json:2:31: trailing comma before ']': JSON allows none after the last element of an "
          "array");
  REFUSED("{\"sources\": [{\"name\": \"é\", \"plugin\": \"p\",\n  }]}\n",
          "t.json:1:41: trailing comma before '}': JSON allows none after the last member of an "
          "object");
  /* Commas inside strings are no trailing commas, escaped quote or not. */
  char *e = errors_of("{\"sources\": [{\"name\": \"a\\\", ]");
  cr_expect_null(strstr(e, "trailing comma"), "%s", e);
  free(e);
  e = errors_of("{\"sources\": [\"x, ]");
  cr_expect_null(strstr(e, "trailing comma"), "%s", e);
  free(e);
  REFUSED("{\"sources\": [{\"name\": \"a,]\" \"plugin\": \"p\"}]}",
          "t.json:1:29: '}' expected near '\"plugin\"': is a ',' missing before it?");
}

Test(config_bad, commonest_slips_explained) {
  /* Two sources without the comma between them. */
  REFUSED("{\"sources\": [\n  {\"name\": \"a\", \"plugin\": \"p\"}\n  {\"name\": \"b\"}]}",
          "t.json:3:3: ']' expected near '{': is a ',' missing before it?");
  /* A bracket that closes the wrong thing is not a missing comma. */
  char *e = errors_of("{\"sources\": [1, 2}");
  cr_expect_null(strstr(e, "missing"), "%s", e);
  free(e);
  /* Comments, from TOML, YAML or JSONC habits. */
  REFUSED("// the sources\n{\"sources\": []}",
          "t.json:1:1: '[' or '{' expected near '/': JSON has no comments; remove it");
  REFUSED("{\"sources\": [], # later\n}", "JSON has no comments; remove it");
  /* A value without its quotes is neither a comment nor a missing comma. */
  REFUSED("{\"siphon\": {\"state_dir\": /var/lib/siphon}}",
          "t.json:1:26: invalid token near '/': a string needs double quotes");
  REFUSED("{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\", \"interval\": 10s}]}",
          "near 's': a string needs double quotes");
  /* A '#' inside a string is no comment. */
  e = errors_of("{\"sources\": [{\"name\": \"a#\n\"}]}");
  cr_expect_null(strstr(e, "comments"), "%s", e);
  free(e);
  REFUSED("", "t.json: the file is empty: expected a JSON object");
  REFUSED(" \n\t\n", "t.json: the file is empty");
}

Test(config_bad, syntax_error_unterminated_at_end) {
  char *e = errors_of("{\"sources\": [\n");
  cr_expect_not_null(strstr(e, "t.json:1:14: "), "just past the '[': %s", e);
  cr_expect_eq(lines_of(e), 1, "a syntax error stops at the first: %s", e);
  free(e);
}

Test(config_bad, duplicate_key_is_an_error) {
  REFUSED("{\"sources\": [{\"name\": \"a\",\n \"name\": \"b\", \"plugin\": \"p\"}]}",
          "t.json:2:2: duplicate object key near '\"name\"'");
}

Test(config_bad, unset_env_var) {
  unsetenv("SIPHON_TEST_MONGO_URI");
  REFUSED(SRC(", \"options\": {\"url\": \"${SIPHON_TEST_MONGO_URI}\"}"),
          "t.json: sources[0].options.url: environment variable SIPHON_TEST_MONGO_URI is not set");
}

Test(config_bad, required_env_var_message) {
  unsetenv("SIPHON_TEST_TOKEN");
  REFUSED(
      SRC(", \"options\": {\"headers\": {\"auth\": \"Bearer ${SIPHON_TEST_TOKEN:?get one at "
          "https://x/tokens}\"}}"),
      "t.json: sources[0].options.headers.auth: SIPHON_TEST_TOKEN: get one at https://x/tokens");
  setenv("SIPHON_TEST_TOKEN", "", 1);
  REFUSED(SRC(", \"options\": {\"t\": \"${SIPHON_TEST_TOKEN:?}\"}"),
          "sources[0].options.t: environment variable SIPHON_TEST_TOKEN is not set or empty");
  unsetenv("SIPHON_TEST_TOKEN");
}

Test(config_bad, env_var_in_array_element_and_bad_syntax) {
  unsetenv("SIPHON_TEST_DIR");
  REFUSED(
      "{\"siphon\": {\"plugin_path\": [\"a\", \"${SIPHON_TEST_DIR}\"]}, \"sources\": [{\"name\": "
      "\"a\", \"plugin\": \"p\"}]}",
      "t.json: siphon.plugin_path[1]: environment variable SIPHON_TEST_DIR is not set");
  REFUSED(SRC(", \"options\": {\"u\": \"${1X}\"}"),
          "sources[0].options.u: \"${1X}\": expected a variable name after \"${\"");
  REFUSED(SRC(", \"options\": {\"u\": \"${HOME\"}"),
          "sources[0].options.u: \"${\" without a closing");
}

Test(config_bad, env_failure_is_reported_once) {
  unsetenv("SIPHON_TEST_IVAL");
  char *e = errors_of(SRC(", \"interval\": \"${SIPHON_TEST_IVAL}\""));
  cr_expect_not_null(
      strstr(e, "sources[0].interval: environment variable SIPHON_TEST_IVAL is not set"), "%s", e);
  cr_expect_eq(lines_of(e), 1, "the unsubstituted text must not also be called a bad duration: %s",
               e);
  free(e);
}

/* Records would go to stdout while the user looks in the file. (With
 * "type": "stdout" the path is ignored: stdout_ignores_a_path...) */
Test(config_bad, output_path_without_type_file) {
  REFUSED(
      "{\"siphon\": {\"output\": {\"path\": \"out.jsonl\"}}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "t.json: siphon.output.path: is only used with \"type\": \"file\"; add \"type\": \"file\" to "
      "write records to it (without a type they go to standard output)");
}

Test(config_bad, output_file_without_path) {
  REFUSED(
      "{\"siphon\": {\"output\": {\"type\": \"file\"}}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "t.json: siphon.output: missing required key \"path\"");
}

Test(config_bad, output_unknown_type) {
  REFUSED(
      "{\"siphon\": {\"output\": {\"type\": \"kafka\"}}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "t.json: siphon.output.type: expected one of stdout|file, got \"kafka\"");
}

Test(config_bad, bad_log_level_suggests) {
  REFUSED(
      "{\"siphon\": {\"log_level\": \"wran\"}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "siphon.log_level: expected one of error|warn|info|debug, got \"wran\"; did you mean "
      "\"warn\"?");
  REFUSED("{\"siphon\": {\"log_level\": 3}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "siphon.log_level: expected a string, got a number (3)");
}

Test(config_bad, threads_out_of_range) {
  REFUSED("{\"siphon\": {\"threads\": 0}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "t.json: siphon.threads: expected an integer from 1 to 1024, got 0");
  REFUSED("{\"siphon\": {\"threads\": 5000}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "siphon.threads: expected an integer from 1 to 1024, got 5000");
  REFUSED("{\"siphon\": {\"threads\": \"8\"}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "siphon.threads: expected an integer from 1 to 1024, got a string (\"8\"): write 8 "
          "without quotes (a ${VAR} in quotes is always a string)");
}

Test(config_bad, options_not_an_object) {
  REFUSED(SRC(", \"options\": \"url=http://x\""),
          "t.json: sources[0].options: expected an object, got a string (\"url=http://x\")");
}

Test(config_bad, tags_wrong) {
  REFUSED(SRC(", \"tags\": [\"a\"]"), "sources[0].tags: expected an object, got an array");
  REFUSED(SRC(", \"tags\": {\"team\": {\"x\": 1}}"),
          "sources[0].tags.team: expected a string, number or boolean tag value, got an object");
  REFUSED(SRC(", \"tags\": {\"a.b\": null}"), "sources[0].tags[\"a.b\"]: expected a string");
}

Test(config_bad, siphon_not_an_object) {
  REFUSED("{\"siphon\": [], \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "t.json: siphon: expected an object, got an array");
}

Test(config_bad, plugin_path_wrong) {
  REFUSED("{\"siphon\": {\"plugin_path\": 5}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "siphon.plugin_path: expected an array of directories or one string, got a number (5)");
  REFUSED(
      "{\"siphon\": {\"plugin_path\": [\"ok\", false]}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "siphon.plugin_path[1]: expected a directory name, got a boolean (false)");
}

Test(config_bad, buffer_limit_wrong) {
  REFUSED(
      "{\"siphon\": {\"buffer_limit\": \"lots\"}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "siphon.buffer_limit: expected a size such as \"64MiB\", \"512KiB\", \"100MB\" or a number "
      "of bytes, got \"lots\"");
  REFUSED(
      "{\"siphon\": {\"buffer_limit\": 0}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "siphon.buffer_limit: expected a size greater than 0, got 0");
}

Test(config_bad, shutdown_grace_and_state_dir_wrong) {
  REFUSED(
      "{\"siphon\": {\"shutdown_grace\": \"soon\"}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "siphon.shutdown_grace: expected a duration such as");
  REFUSED(
      "{\"siphon\": {\"state_dir\": \"\"}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "siphon.state_dir: expected a non-empty string, got \"\"");
}

Test(config_bad, max_pool_share_out_of_range) {
  REFUSED(
      "{\"siphon\": {\"max_pool_share\": 0}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "siphon.max_pool_share: expected a number greater than 0 and at most 1, such as 0.5, got 0");
  REFUSED(
      "{\"siphon\": {\"max_pool_share\": 1.5}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "siphon.max_pool_share: expected a number greater than 0 and at most 1, such as 0.5, got "
      "1.5");
  REFUSED(
      "{\"siphon\": {\"max_pool_share\": \"half\"}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "got a string (\"half\")");
}

Test(config_bad, enabled_not_boolean) {
  REFUSED(SRC(", \"enabled\": \"no\""), "sources[0].enabled: expected true or false, got a string");
}

Test(config_bad, disabled_source_still_checked) {
  REFUSED(SRC(", \"enabled\": false, \"interval\": \"fast\""),
          "sources[0].interval: expected a duration");
}

Test(config_bad, every_error_reported_together) {
  char *e = errors_of(
      "{\"siphon\": {\"threads\": -1, \"log_level\": \"loud\"},\n"
      " \"sources\": [\n"
      "  {\"name\": \"a\", \"plugin\": \"p\", \"intervall\": \"1s\"},\n"
      "  {\"name\": \"a\", \"plugin\": \"p\", \"interval\": \"ten\"},\n"
      "  {\"plugin\": \"p\", \"interval\": \"10s\", \"timeout\": \"20s\"},\n"
      "  {\"name\": \"d\", \"plugin\": \"p\", \"options\": 1}\n"
      " ]}");
  const char *want[] = {
      "t.json: siphon.threads: expected an integer from 1 to 1024, got -1",
      "t.json: siphon.log_level: expected one of error|warn|info|debug, got \"loud\"",
      "t.json: sources[0].intervall: unknown key; did you mean \"interval\"?",
      "t.json: sources[1].name: \"a\" is already the name of sources[0]",
      "t.json: sources[1].interval: expected a duration",
      "t.json: sources[2]: missing required key \"name\"",
      "t.json: sources[2].timeout: 20s is longer than the interval 10s",
      "t.json: sources[3].options: expected an object, got a number (1)",
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    cr_expect_not_null(strstr(e, want[i]), "want: %s\ngot:\n%s", want[i], e);
  }
  cr_expect_eq(lines_of(e), sizeof(want) / sizeof(want[0]), "exactly these errors:\n%s", e);
  free(e);
}

/* --- files --- */

Test(config_file, unreadable_file_names_it_and_why) {
  siphon__config cfg;
  siphon__diag d;
  siphon__diag_init(&d);
  char *dir = tmp_dir();
  char *missing = siphon__asprintf("%s/nope.json", dir);
  cr_assert_eq(siphon__config_load_file(missing, &cfg, &d), -EINVAL);
  cr_assert_eq(d.count, 1);
  cr_expect_str_eq(d.entries[0].where, missing);
  cr_expect_str_eq(d.entries[0].text, "cannot read: No such file or directory");
  siphon__config_free(&cfg);
  siphon__diag_free(&d);

  siphon__diag_init(&d);
  cr_assert_eq(siphon__config_load_file(dir, &cfg, &d), -EINVAL);
  cr_assert_eq(d.count, 1);
  cr_expect_str_eq(d.entries[0].text, "cannot read: Is a directory");
  siphon__config_free(&cfg);
  siphon__diag_free(&d);
  free(missing);
  tmp_rmtree(dir);
  free(dir);
}

Test(config_file, errors_name_the_file_as_given) {
  char *path = tmp_write("bad.json",
                         "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\",\n"
                         "  \"interval\": \"10 s\"}]}\n");
  siphon__config cfg;
  siphon__diag d;
  siphon__diag_init(&d);
  cr_assert_eq(siphon__config_load_file(path, &cfg, &d), -EINVAL);
  cr_assert_eq(d.count, 1);
  char *where = siphon__asprintf("%s: sources[0].interval", path);
  cr_expect_str_eq(d.entries[0].where, where);
  free(where);
  siphon__config_free(&cfg);
  siphon__diag_free(&d);
  free(path);
}

Test(config_file, syntax_error_in_file_has_line_and_column) {
  char *path = tmp_write("syn.json",
                         "{\n  \"sources\": [\n    {\"name\": \"a\" \"plugin\": \"p\"}\n"
                         "  ]\n}\n");
  siphon__config cfg;
  siphon__diag d;
  siphon__diag_init(&d);
  cr_assert_eq(siphon__config_load_file(path, &cfg, &d), -EINVAL);
  cr_assert_eq(d.count, 1);
  /* `"plugin"` starts at column 18 of line 3 (jansson points at its end):
   * where the reader looks. */
  char *where = siphon__asprintf("%s:3:18", path);
  cr_expect_str_eq(d.entries[0].where, where);
  cr_expect_not_null(strstr(d.entries[0].text, "'}' expected"), "%s", d.entries[0].text);
  free(where);
  siphon__config_free(&cfg);
  siphon__diag_free(&d);
  free(path);
}

/* A value from the environment is wrong in the environment: the error
 * names the variable (its name only: a default may be a secret). */
Test(config_bad, a_substituted_value_names_its_variable) {
  setenv("SIPHON_TEST_IVL", "10", 1);
  REFUSED(SRC(", \"interval\": \"${SIPHON_TEST_IVL:-hidden}\""),
          "t.json: sources[0].interval: \"10\" has no unit: write \"10s\" for seconds or \"10ms\" "
          "for milliseconds (the value came from ${SIPHON_TEST_IVL})");
  unsetenv("SIPHON_TEST_IVL");
  /* Not on an error about the key itself: the fix is in the file. */
  char *e = errors_of(SRC(", \"intervall\": \"${SIPHON_TEST_IVL:-1s}\""));
  cr_expect_not_null(strstr(e, "sources[0].intervall: unknown key"), "%s", e);
  cr_expect_null(strstr(e, "the value came from"), "%s", e);
  free(e);
}

Test(config_bad, errors_in_file_order) {
  unsetenv("SIPHON_TEST_ORDER");
  char *e = errors_of(
      "{\"siphon\": {\"log_level\": \"${SIPHON_TEST_ORDER}\", \"threads\": 0},\n"
      " \"sources\": [{\"name\": \"a\", \"plugin\": \"p\", \"jitter\": \"x\"},\n"
      "  {\"name\": \"b\", \"plugin\": \"${SIPHON_TEST_ORDER}\"}]}");
  const char *order[] = {"siphon.log_level: environment variable", "siphon.threads:",
                         "sources[0].jitter:", "sources[1].plugin: environment variable"};
  const char *at = e;
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
    const char *next = strstr(at, order[i]);
    cr_assert_not_null(next, "\"%s\" missing or out of order in:\n%s", order[i], e);
    at = next;
  }
  cr_expect_eq(lines_of(e), 4, "%s", e);
  free(e);
}

Test(config_bad, real_where_integer_expected) {
  REFUSED("{\"siphon\": {\"threads\": 4.0}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
          "siphon.threads: expected an integer from 1 to 1024, got a number (4.0)");
}

Test(config_bad, name_reserved_for_stats) {
  REFUSED("{\"sources\": [{\"name\": \"siphon\", \"plugin\": \"p\"}]}",
          "t.json: sources[0].name: \"siphon\" is reserved for siphon's own stats records");
}

Test(config_bad, stats_interval_not_a_duration) {
  REFUSED(
      "{\"siphon\": {\"stats_interval\": \"often\"}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "t.json: siphon.stats_interval: expected a duration such as \"10s\"");
}

Test(config_bad, output_file_in_a_missing_directory) {
  /* Found by --check, not first by the run that cannot open it. */
  REFUSED(
      "{\"siphon\": {\"output\": {\"type\": \"file\", \"path\": "
      "\"/nonexistent-siphon-dir/records.jsonl\"}}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "t.json: siphon.output.path: the directory /nonexistent-siphon-dir does not exist: create "
      "it first");
}

Test(config_bad, log_file_in_a_missing_directory) {
  REFUSED(
      "{\"siphon\": {\"log_file\": \"/nonexistent-siphon-dir/siphon.log\"}, \"sources\": "
      "[{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "t.json: siphon.log_file: the directory /nonexistent-siphon-dir does not exist: create it "
      "first");
}

Test(config_bad, log_file_is_not_the_output_file) {
  REFUSED(
      "{\"siphon\": {\"output\": {\"type\": \"file\", \"path\": \"/tmp/x.jsonl\"}, "
      "\"log_file\": \"/tmp/x.jsonl\"}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "t.json: siphon.log_file: /tmp/x.jsonl is also siphon.output.path: log lines would mix "
      "with the records");
}

Test(config_bad, log_file_is_not_the_output_file_by_another_name) {
  REFUSED(
      "{\"siphon\": {\"output\": {\"type\": \"file\", \"path\": \"/tmp/x.jsonl\"}, "
      "\"log_file\": \"/tmp/./x.jsonl\"}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "t.json: siphon.log_file: /tmp/./x.jsonl is also siphon.output.path");
}

Test(config_bad, log_file_that_names_a_directory) {
  REFUSED(
      "{\"siphon\": {\"log_file\": \"/tmp/\"}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "t.json: siphon.log_file: /tmp/ is a directory: expected a file (siphon appends to it)");
  /* Without the slash, and for the output file, as the run would find. */
  REFUSED(
      "{\"siphon\": {\"log_file\": \"/tmp\"}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "t.json: siphon.log_file: /tmp is a directory: expected a file");
  REFUSED(
      "{\"siphon\": {\"output\": {\"type\": \"file\", \"path\": \"/tmp\"}}, \"sources\": "
      "[{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "t.json: siphon.output.path: /tmp is a directory: expected a file");
}

Test(config_bad, every_source_disabled_is_said_beside_other_errors) {
  REFUSED(
      "{\"siphon\": {\"threads\": 0}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\", \"enabled\": false}]}",
      "t.json: sources: every source is disabled");
}

Test(config_bad, log_file_empty) {
  REFUSED(
      "{\"siphon\": {\"log_file\": \"\"}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "t.json: siphon.log_file: expected a non-empty string, got \"\"");
}

Test(config_bad, log_format_is_text_or_json) {
  REFUSED(
      "{\"siphon\": {\"log_format\": \"xml\"}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "t.json: siphon.log_format: expected one of text|json, got \"xml\"");
}

Test(config_bad, global_tag_of_another_type) {
  REFUSED(
      "{\"siphon\": {\"tags\": {\"x\": []}}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      "t.json: siphon.tags.x: expected a string, number or boolean tag value, got an array");
}

Test(config_ok, stdout_ignores_a_path_in_a_missing_directory) {
  siphon__config c;
  siphon__diag d;
  siphon__diag_init(&d);
  int rc = siphon__config_load_string(
      "{\"siphon\": {\"output\": {\"type\": \"stdout\", \"path\": \"/nonexistent-siphon-dir/x\"}}, "
      "\"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
      "t.json", &c, &d);
  cr_expect_eq(rc, 0, "path is ignored for stdout");
  siphon__config_free(&c);
  siphon__diag_free(&d);
}

Test(config_bad, release_memory_after_not_a_duration) {
  REFUSED(
      "{\"siphon\": {\"release_memory_after\": true}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      "t.json: siphon.release_memory_after: expected a duration such as \"10s\"");
}
