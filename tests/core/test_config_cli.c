/* The config as a user meets it: `siphon --check -c FILE` (and a plain
 * run) on bad configs exits 2, prints every error on stderr in the
 * "siphon: FILE: PATH: TEXT" form, and collects nothing. */
#include <criterion/criterion.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "proc.h"
#include "tmpfile.h"

#define RUN_MS 10000

/* A config with the test plugins on the plugin path. */
static char *config(const char *sources) {
  return tmp_write("siphon.json",
                   "{\"siphon\": {\"plugin_path\": [\"%s\"]},\n \"sources\": [\n%s\n]}\n",
                   SIPHON_TEST_PLUGIN_DIR, sources);
}

static void remove_config(char *path) {
  char *slash = strrchr(path, '/');
  *slash = '\0';
  tmp_rmtree(path);
  free(path);
}

static void expect_in(const char *haystack, const char *path, const char *rest) {
  size_t n = strlen(path) + strlen(rest) + 16;
  char *want = malloc(n);
  cr_assert_not_null(want);
  snprintf(want, n, "siphon: %s%s", path, rest);
  cr_expect_not_null(strstr(haystack, want), "want: %s\nstderr:\n%s", want, haystack);
  free(want);
}

Test(config_cli, check_reports_every_error_and_exits_2) {
  char *cfg = config(
      "{\"name\": \"a\", \"plugin\": \"tick\", \"intervall\": \"1s\"},\n"
      "{\"name\": \"a\", \"plugin\": \"tick\", \"interval\": \"10s\", \"timeout\": \"20s\"},\n"
      "{\"name\": \"c\", \"plugin\": \"tick\", \"interval\": \"ten\"}");
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 2, "stderr:\n%s", p.err);
  expect_in(p.err, cfg, ": sources[0].intervall: unknown key; did you mean \"interval\"?");
  expect_in(p.err, cfg, ": sources[1].name: \"a\" is already the name of sources[0]");
  expect_in(p.err, cfg, ": sources[1].timeout: 20s is longer than the interval 10s");
  expect_in(p.err, cfg, ": sources[2].interval: expected a duration such as \"10s\"");
  cr_expect_eq(p.out_len, 0, "nothing on stdout: %s", p.out);
  tproc_free(&p);
  remove_config(cfg);
}

Test(config_cli, bad_config_collects_nothing) {
  char *cfg = config(
      "{\"name\": \"a\", \"plugin\": \"tick\", \"interval\": \"100ms\"},\n"
      "{\"name\": \"b\", \"plugin\": \"tick\", \"interval\": 0}");
  const char *modes[] = {"--once", NULL};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    tproc p;
    int status = modes[i] != NULL ? tproc_siphon(&p, RUN_MS, modes[i], "-c", cfg, NULL)
                                  : tproc_siphon(&p, RUN_MS, "-c", cfg, NULL);
    cr_expect_eq(status, 2, "%s: exit %d, stderr:\n%s", modes[i] ? modes[i] : "run", status, p.err);
    expect_in(p.err, cfg, ": sources[1].interval: expected a duration greater than 0, got 0");
    cr_expect_eq(p.out_len, 0, "no record from the good source either: %s", p.out);
    tproc_free(&p);
  }
  remove_config(cfg);
}

Test(config_cli, syntax_error_line_and_column) {
  char *cfg = config("{\"name\": \"a\", \"plugin\": \"tick\",, \"interval\": \"1s\"}");
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 2);
  /* line 3 of the file (after the "siphon" line and " \"sources\": ["), the
   * second comma is the 32nd character. */
  expect_in(p.err, cfg, ":3:32: string or '}' expected near ','");
  cr_expect_eq(p.out_len, 0);
  tproc_free(&p);
  remove_config(cfg);
}

Test(config_cli, missing_file) {
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", "/nonexistent/siphon.json", NULL);
  cr_expect_eq(status, 2);
  cr_expect_not_null(
      strstr(p.err, "siphon: /nonexistent/siphon.json: cannot read: No such file or directory"),
      "%s", p.err);
  cr_expect_eq(p.out_len, 0);
  tproc_free(&p);
}

/* --options is read as the config file is: a key twice is an error. */
Test(config_cli, options_flag_refuses_a_key_twice) {
  tproc p;
  int st = tproc_siphon(&p, RUN_MS, "--plugin", SIPHON_TEST_PLUGIN_DIR "/tick.so", "--options",
                        "{\"count\": 1, \"count\": 2}", "--check", NULL);
  cr_assert_eq(st, 2, "%s", p.err);
  cr_assert(strstr(p.err, "duplicate object key near '\"count\"'") != NULL, "%s", p.err);
  tproc_free(&p);
}

Test(config_cli, options_flag_names_a_trailing_comma) {
  tproc p;
  int status =
      tproc_siphon(&p, RUN_MS, "--plugin", "socket", "--options",
                   "{\"mode\": \"probe\", \"address\": \"tcp://127.0.0.1:9\",}", "--check", NULL);
  cr_expect_eq(status, 2, "%s", p.err);
  cr_expect(strstr(p.err,
                   "siphon: --options: invalid JSON at column 49: trailing comma before "
                   "'}'") != NULL,
            "%s", p.err);
  tproc_free(&p);
}

Test(config_cli, output_and_log_are_never_the_config_itself) {
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"], \"output\": {\"type\": "
                        "\"file\", \"path\": \"./siphon.json\"}},\n \"sources\": [{\"name\": "
                        "\"a\", \"plugin\": \"tick\"}]}\n",
                        SIPHON_TEST_PLUGIN_DIR);
  char *before = tmp_read(cfg, NULL);
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--once", "-c", cfg, NULL);
  cr_expect_eq(status, 2, "%s", p.err);
  expect_in(p.err, cfg, ": siphon.output.path: ");
  cr_expect(strstr(p.err, "is the config file itself: records would be appended to it") != NULL,
            "%s", p.err);
  tproc_free(&p);
  char *after = tmp_read(cfg, NULL);
  cr_expect_str_eq(after, before, "the config is untouched");
  free(after);
  free(before);
  remove_config(cfg);

  cfg = config("{\"name\": \"a\", \"plugin\": \"tick\"}");
  status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, "--log-file", cfg, NULL);
  cr_expect_eq(status, 2, "%s", p.err);
  cr_expect(strstr(p.err, "siphon: --log-file: ") != NULL &&
                strstr(p.err, "is the config file itself: the log would be appended to it") != NULL,
            "%s", p.err);
  tproc_free(&p);
  remove_config(cfg);
}

Test(config_cli, secret_from_a_file_beside_the_config) {
  char *cfg = config(
      "{\"name\": \"a\", \"plugin\": \"tick\", \"options\": {\"secret\": "
      "\"${file:token}\"}}");
  char token[1100];
  snprintf(token, sizeof(token), "%.*s/token", (int)(strrchr(cfg, '/') - cfg), cfg);
  cr_assert_eq(tmp_write_at(token, "tok-4f9a\n"), 0);
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 0, "%s", p.err);
  cr_expect(strstr(p.out, "\"secret\":\"********\"") != NULL, "masked: %s", p.out);
  cr_expect(strstr(p.out, "tok-4f9a") == NULL && strstr(p.err, "tok-4f9a") == NULL,
            "the secret is never shown: %s%s", p.out, p.err);
  tproc_free(&p);

  cr_assert_eq(unlink(token), 0);
  status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 2);
  expect_in(p.err, cfg, ": sources[0].options.secret: cannot read the file ");
  cr_expect(strstr(p.err, "/token: No such file or directory") != NULL, "%s", p.err);
  tproc_free(&p);
  remove_config(cfg);
}

Test(config_cli, env_var_unset_then_set) {
  char *cfg = config(
      "{\"name\": \"a\", \"plugin\": \"tick\", \"interval\": "
      "\"${SIPHON_CLI_IVAL}\", \"options\": {\"secret\": \"${SIPHON_CLI_SECRET:?put "
      "the token in SIPHON_CLI_SECRET}\"}}");
  tproc p;
  const char *argv[] = {SIPHON_BIN, "--check", "-c", cfg, NULL};
  const char *unset_env[] = {"SIPHON_CLI_IVAL=", NULL};
  unsetenv("SIPHON_CLI_SECRET");
  unsetenv("SIPHON_CLI_IVAL");
  int status = tproc_run(&p, argv, NULL, RUN_MS);
  cr_expect_eq(status, 2);
  expect_in(p.err, cfg, ": sources[0].interval: environment variable SIPHON_CLI_IVAL is not set");
  expect_in(p.err, cfg,
            ": sources[0].options.secret: SIPHON_CLI_SECRET: put the token in SIPHON_CLI_SECRET");
  tproc_free(&p);

  /* Set but empty: not a duration. */
  status = tproc_run(&p, argv, unset_env, RUN_MS);
  cr_expect_eq(status, 2);
  expect_in(p.err, cfg, ": sources[0].interval: expected a duration such as");
  tproc_free(&p);

  const char *env[] = {"SIPHON_CLI_IVAL=250ms", "SIPHON_CLI_SECRET=hunter2", NULL};
  status = tproc_run(&p, argv, env, RUN_MS);
  cr_expect_eq(status, 0, "stderr:\n%s", p.err);
  cr_expect_not_null(strstr(p.out, "every 0.250 s"), "stdout:\n%s", p.out);
  cr_expect_null(strstr(p.out, "hunter2"), "a secret is never printed:\n%s", p.out);
  cr_expect_null(strstr(p.err, "hunter2"), "a secret is never printed:\n%s", p.err);
  tproc_free(&p);
  remove_config(cfg);
}

Test(config_cli, plugin_option_errors_named_by_path) {
  char *cfg = config(
      "{\"name\": \"a\", \"plugin\": \"tick\", \"options\": {\"cont\": 3}},\n"
      "{\"name\": \"b\", \"plugin\": \"tick\", \"options\": {\"count\": \"3\", \"delay\": "
      "\"soon\"}}");
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 2, "stderr:\n%s", p.err);
  expect_in(p.err, cfg, ": sources[0].options.cont: unknown option; did you mean \"count\"?");
  expect_in(p.err, cfg, ": sources[1].options.count: expected an integer, got a string (\"3\")");
  expect_in(p.err, cfg, ": sources[1].options.delay: expected a duration such as");
  cr_expect_eq(p.out_len, 0);
  tproc_free(&p);
  remove_config(cfg);
}

/* "enabled": false keeps a source from running, not from being checked:
 * its plugin must exist and its options fit the plugin's table. */
Test(config_cli, disabled_sources_plugin_and_options_are_checked) {
  char *cfg = config(
      "{\"name\": \"a\", \"plugin\": \"tick\"},\n"
      "{\"name\": \"b\", \"plugin\": \"tick\", \"enabled\": false, \"options\": {\"cont\": 1}},\n"
      "{\"name\": \"c\", \"plugin\": \"nosuch\", \"enabled\": false}");
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 2, "stderr:\n%s", p.err);
  expect_in(p.err, cfg, ": sources[1].options.cont: unknown option; did you mean \"count\"?");
  expect_in(p.err, cfg, ": sources[2].plugin: unknown plugin \"nosuch\"");
  expect_in(p.err, cfg, ": 2 errors");
  tproc_free(&p);
  remove_config(cfg);
}

/* One slip in a generated config repeats over every source: three of its
 * errors are shown and the rest counted in one line, and an error with
 * another message, after them, is not buried. */
Test(config_cli, repeated_errors_are_folded) {
  char sources[4096] = "";
  size_t at = 0;
  for (int i = 0; i < 8; i++) {
    at += (size_t)snprintf(sources + at, sizeof(sources) - at,
                           "%s{\"name\": \"s%d\", \"plugin\": \"tick\", \"interval\": \"1s\","
                           " \"timeout\": \"2s\"%s}",
                           i ? ",\n" : "", i, i == 6 ? ", \"intervall\": 1" : "");
  }
  char *cfg = config(sources);
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 2, "stderr:\n%s", p.err);
  cr_expect_eq(tproc_count(p.err, "is longer than the interval"), 3, "%s", p.err);
  expect_in(p.err, cfg, ": sources[2].timeout: 2s is longer than the interval 1s");
  char want[512];
  snprintf(want, sizeof(want),
           "siphon: and 5 more with that message, from %s: sources[3].timeout to "
           "sources[7].timeout (not shown)\n",
           cfg);
  cr_expect_not_null(strstr(p.err, want), "want %s: %s", want, p.err);
  expect_in(p.err, cfg, ": sources[6].intervall: unknown key");
  expect_in(p.err, cfg, ": 9 errors");
  tproc_free(&p);
  remove_config(cfg);
}

Test(config_cli, good_config_checks_ok) {
  char *cfg = config(
      "{\"name\": \"a\", \"plugin\": \"tick\", \"interval\": \"1m\", \"timeout\": "
      "\"1.5s\", \"options\": {\"secret\": \"s3cr3t\"}},\n"
      "{\"name\": \"off\", \"plugin\": \"tick\", \"enabled\": false}");
  tproc p;
  int status = tproc_siphon(&p, RUN_MS, "--check", "-c", cfg, NULL);
  cr_expect_eq(status, 0, "stderr:\n%s", p.err);
  cr_expect_not_null(strstr(p.out, "ok: 1 source, and 1 disabled"),
                     "a disabled source is not run:\n%s", p.out);
  cr_expect_not_null(strstr(p.out, "every 60.000 s, timeout 1.500 s"), "%s", p.out);
  cr_expect_not_null(strstr(p.out, "\"secret\":\"********\""), "%s", p.out);
  cr_expect_null(strstr(p.out, "s3cr3t"), "%s", p.out);
  tproc_free(&p);
  remove_config(cfg);
}

/* The environment variables a config needs but that are unset: those it
 * uses as ${VAR} or ${VAR:?message}. ${VAR:-default} needs nothing. */
static int needs_env(const char *text, char *missing, size_t size) {
  missing[0] = '\0';
  for (const char *p = strstr(text, "${"); p != NULL; p = strstr(p + 2, "${")) {
    if (p > text && p[-1] == '$') {
      continue; /* "$${" is a literal */
    }
    const char *name = p + 2;
    size_t n = 0;
    while (name[n] == '_' || (name[n] >= 'A' && name[n] <= 'Z') ||
           (name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9')) {
      n++;
    }
    if (n == 0 || (name[n] == ':' && name[n + 1] == '-')) {
      continue;
    }
    char var[128];
    snprintf(var, sizeof(var), "%.*s", (int)n, name);
    const char *value = getenv(var);
    char listed[132];
    snprintf(listed, sizeof(listed), " %s ", var);
    char padded[520];
    snprintf(padded, sizeof(padded), "%s ", missing);
    if ((value == NULL || (value[0] == '\0' && name[n] == ':')) && !strstr(padded, listed)) {
      snprintf(missing + strlen(missing), size - strlen(missing), " %s", var);
    }
  }
  return missing[0] != '\0';
}

/* The shipped configs (config/ and config/examples/) that can be checked
 * here: those needing a secret from the environment cannot. */
typedef struct example {
  char *path;
  char *text;
} example;

static size_t shipped_examples(example *out, size_t max) {
  glob_t g;
  memset(&g, 0, sizeof(g));
  int flags = 0;
  if (glob(SIPHON_SOURCE_DIR "/config/*.json", 0, NULL, &g) == 0) {
    flags = GLOB_APPEND;
  }
  glob(SIPHON_SOURCE_DIR "/config/examples/*.json", flags, NULL, &g);
  size_t n = 0;
  for (size_t i = 0; i < g.gl_pathc && n < max; i++) {
    const char *path = g.gl_pathv[i];
    if (strstr(path, "schema") != NULL) {
      continue;
    }
    size_t len = 0;
    char *text = tmp_read(path, &len);
    cr_assert_not_null(text, "%s", path);
    char missing[512];
    if (needs_env(text, missing, sizeof(missing))) {
      cr_log_info("%s: needs%s in the environment; skipped", path, missing);
      free(text);
      continue;
    }
    out[n].path = strdup(path);
    out[n].text = text;
    n++;
  }
  globfree(&g);
  return n;
}

static void free_examples(example *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(e[i].path);
    free(e[i].text);
  }
}

/* The shipped configs load (host keys only: plugin options need the
 * plugins, see shipped_examples_check). */
Test(config_cli, shipped_examples_load) {
  example ex[64];
  size_t n = shipped_examples(ex, 64);
  for (size_t i = 0; i < n; i++) {
    siphon__config c;
    siphon__diag d;
    siphon__diag_init(&d);
    int rc = siphon__config_load_file(ex[i].path, &c, &d);
    for (size_t j = 0; j < d.count; j++) {
      cr_log_error("%s: %s", d.entries[j].where, d.entries[j].text);
    }
    cr_expect_eq(rc, 0, "%s does not load", ex[i].path);
    siphon__config_free(&c);
    siphon__diag_free(&d);
  }
  free_examples(ex, n);
  if (n == 0) {
    cr_skip_test("no example config that can be checked here");
  }
}

/* Every plugin a config names, when all of them are built. */
static int plugins_built(const char *path) {
  json_t *root = json_load_file(path, 0, NULL);
  if (root == NULL) {
    return 1; /* let --check report the syntax error */
  }
  int all = 1;
  size_t i;
  json_t *src;
  json_array_foreach(json_object_get(root, "sources"), i, src) {
    const char *name = json_string_value(json_object_get(src, "plugin"));
    if (name == NULL || strchr(name, '/') != NULL) {
      continue;
    }
    char so[512];
    snprintf(so, sizeof(so), "%s/%s.so", SIPHON_PLUGIN_DIR, name);
    all = all && access(so, R_OK) == 0;
  }
  json_decref(root);
  return all;
}

/* The configs shipped in config/ pass `siphon --check`, plugin options
 * included. Run from a copy, so that --check's state_dir lands in a
 * temporary directory rather than in the source tree. */
Test(config_cli, shipped_examples_check) {
  example ex[64];
  size_t n = shipped_examples(ex, 64);
  size_t checked = 0;
  /* rest-tls.json names its TLS files under ${SIPHON_TLS_DIR:-/etc/siphon}:
   * --check opens them, so they must be there (it does not parse them). */
  char *tls = tmp_dir();
  const char *const tls_files[] = {"internal-ca.pem", "client.pem", "client.key"};
  for (size_t i = 0; i < 3; i++) {
    char path[1100];
    snprintf(path, sizeof(path), "%s/%s", tls, tls_files[i]);
    cr_assert_eq(tmp_write_at(path, "placeholder\n"), 0);
  }
  setenv("SIPHON_TLS_DIR", tls, 1);
  for (size_t i = 0; i < n; i++) {
    if (!plugins_built(ex[i].path)) {
      cr_log_info("%s: not all of its plugins are built; skipped", ex[i].path);
      continue;
    }
    char *copy = tmp_write("example.json", "%s", ex[i].text);
    tproc p;
    int status = tproc_siphon(&p, RUN_MS, "--check", "-c", copy, NULL);
    cr_expect_eq(status, 0, "%s: siphon --check exit %d:\n%s", ex[i].path, status, p.err);
    tproc_free(&p);
    remove_config(copy);
    checked++;
  }
  free_examples(ex, n);
  unsetenv("SIPHON_TLS_DIR");
  tmp_rmtree(tls);
  free(tls);
  if (checked == 0) {
    cr_skip_test("no example config whose plugins are all built");
  }
}
