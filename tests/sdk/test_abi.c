/* The loader's ABI guard, seen from the command line: plugins built for
 * an older or newer minor load and run; everything else is refused with a
 * message that names the file and says what to do. The plugins are in
 * tests/plugins/abi. */
#define _GNU_SOURCE /* asprintf */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "sdk_util.h"
#include "siphon/plugin.h"
#include "tmpfile.h"

#define T_MS 20000
#define ABI_DIR SIPHON_TEST_PLUGIN_DIR "/abi"

/* `siphon --plugin PATH --once`; returns the exit status. */
static int run_plugin(tproc *p, const char *path) {
  return tproc_siphon(p, T_MS, "--plugin", path, "--once", NULL);
}

static void assert_has(const char *hay, const char *needle) {
  cr_assert(strstr(hay, needle) != NULL, "expected \"%s\" in:\n%s", needle, hay);
}

/* The record the ABI test plugins emit: which ABI they were built for. */
static void assert_ran(tproc *p, int st, const char *plugin, const char *built_for) {
  cr_assert_eq(st, 0, "exit %d, stderr: %s", st, p->err);
  json_t *recs = sdk_records(p->out);
  cr_assert_eq(json_array_size(recs), 1, "stdout: %s", p->out);
  json_t *rec = json_array_get(recs, 0);
  cr_assert_str_eq(json_string_value(json_object_get(rec, "plugin")), plugin);
  json_t *data = sdk_data(recs, 0);
  cr_assert_str_eq(json_string_value(json_object_get(data, "built_for")), built_for);
  /* The host always hands its own, current API table. */
  cr_assert(json_is_true(json_object_get(data, "host_has_set_streaming")), "%s", p->out);
  json_decref(recs);
}

Test(abi, older_minor_loads_and_runs) {
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/old_minor.so");
  assert_ran(&p, st, "old_minor", "1.0");
  tproc_free(&p);

  /* Fields the 1.0 descriptor lacks read as absent: no example shown. */
  st = tproc_siphon(&p, T_MS, "--help-plugin", ABI_DIR "/old_minor.so", NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  assert_has(p.out, "old_minor 0.9.0");
  assert_has(p.out, "ABI:  1.0");
  assert_has(p.out, "an option, so the table is read");
  cr_assert(strstr(p.out, "example") == NULL, "a 1.0 plugin has no example: %s", p.out);
  tproc_free(&p);
}

Test(abi, newer_minor_loads_and_its_extra_fields_are_ignored) {
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/new_minor.so");
  assert_ran(&p, st, "new_minor", "1.9");
  tproc_free(&p);
}

Test(abi, another_major_is_refused_with_what_to_rebuild) {
  const char *cases[][2] = {{"wrong_major.so", "2.0"}, {"major_zero.so", "0.0"}};
  for (size_t i = 0; i < 2; i++) {
    char path[512], want[1024];
    snprintf(path, sizeof(path), "%s/%s", ABI_DIR, cases[i][0]);
    tproc p;
    int st = run_plugin(&p, path);
    cr_assert_eq(st, 2, "%s: exit %d: %s", cases[i][0], st, p.err);
    snprintf(want, sizeof(want),
             "%s: plugin built for siphon ABI %s, this host speaks ABI %d.%d: rebuild the "
             "plugin against siphon %d.x headers",
             path, cases[i][1], SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR, SIPHON_ABI_MAJOR);
    assert_has(p.err, want);
    cr_assert_eq(p.out_len, 0, "nothing ran: %s", p.out);
    tproc_free(&p);
  }
}

Test(abi, descriptor_smaller_than_1_0_is_refused) {
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/too_small.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  char want[512];
  snprintf(want, sizeof(want), "%s: plugin descriptor is %zu bytes, ABI %d.x needs at least %zu",
           ABI_DIR "/too_small.so", offsetof(siphon_plugin_desc, destroy), SIPHON_ABI_MAJOR,
           (size_t)SIPHON_PLUGIN_DESC_MIN_SIZE);
  assert_has(p.err, want);
  assert_has(p.err, "rebuild the plugin");
  tproc_free(&p);
}

Test(abi, descriptor_of_another_size_than_its_minor_is_refused) {
  /* ABI 1.1 says how big its descriptor is: a struct_size written by
   * hand is refused, with the two fields to set. */
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/wrong_size.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  char want[512];
  snprintf(want, sizeof(want),
           "%s: plugin descriptor is 4096 bytes, but ABI %d.%d's is %zu: set "
           ".abi_version = SIPHON_ABI_VERSION and .struct_size = sizeof(siphon_plugin_desc)",
           ABI_DIR "/wrong_size.so", SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR,
           sizeof(siphon_plugin_desc));
  assert_has(p.err, want);
  cr_assert_eq(p.out_len, 0, "nothing ran: %s", p.out);
  tproc_free(&p);
}

Test(abi, invalid_name_is_shown) {
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/bad_name.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err,
             "bad_name.so: invalid plugin descriptor: its name \"FileStat\" is not made of "
             "[a-z0-9_-]");
  tproc_free(&p);
}

Test(abi, missing_symbol_is_refused_and_says_how_to_define_it) {
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/no_symbol.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, ABI_DIR "/no_symbol.so: no 'siphon_plugin' symbol");
  assert_has(p.err, "SIPHON_PLUGIN_DEFINE");
  tproc_free(&p);
}

Test(abi, a_file_that_is_not_a_shared_object_is_refused) {
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/x.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, ABI_DIR "/x.so: not a loadable shared object");
  tproc_free(&p);
}

Test(abi, a_descriptor_missing_a_callback_is_refused) {
  tproc p;
  int st = run_plugin(&p, ABI_DIR "/no_collect.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err,
             "no_collect.so: invalid plugin descriptor: an async polled plugin needs "
             "collect()");
  tproc_free(&p);
  /* The one it lacks, by name. */
  st = run_plugin(&p, ABI_DIR "/no_destroy.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, "no_destroy.so: invalid plugin descriptor: it lacks destroy()");
  tproc_free(&p);
}

Test(abi, a_faulty_options_table_is_refused_at_load) {
  static const struct {
    const char *file, *says;
  } cases[] = {
      {"bad_options_1.so",
       "invalid plugin descriptor: its options table: options[0] and "
       "options[1] are both \"path\""},
      {"bad_options_2.so",
       "its options table: option \"mode\" has type 99, which is no "
       "siphon_opt_type"},
      {"bad_options_3.so",
       "its options table: option \"min_bytes\" has the default 'one', "
       "which is not JSON"},
      {"bad_options_4.so",
       "its options table: option \"every\" has the default '\"soon\"': "
       "expected a duration"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", ABI_DIR, cases[i].file);
    tproc p;
    int st = run_plugin(&p, path);
    cr_expect_eq(st, 2, "%s: exit %d: %s", cases[i].file, st, p.err);
    assert_has(p.err, cases[i].says);
    tproc_free(&p);
  }
}

/* Slips the host can run with, found by checks newer than some plugins:
 * warned of at load, not refused, so that a plugin that loaded before an
 * upgrade still loads after it. */
Test(abi, a_harmless_descriptor_slip_is_warned_of_and_loads) {
  static const struct {
    const char *file, *says;
  } cases[] = {
      {"bad_options_5.so",
       "its options table: option \"level\" has choices \"low|high\", but choices are for "
       "SIPHON_OPT_STRING options only"},
      {"bad_options_6.so",
       "its options table: option \"mode\" has choices \"fast||slow\", with an empty one"},
      {"bad_options_7.so",
       "its options table: option \"port\" is required and has a default ('80')"},
      {"bad_options_8.so", "its example: example.zz: unknown option"},
      {"bad_options_9.so",
       "an async plugin has collect(), and its collect_blocking() is never "
       "called"},
      {"bad_options_10.so",
       "a blocking plugin's cancel() is never called (its round sees round_cancelled() "
       "instead)"},
      /* Every slip of a table at once, not one a build. */
      {"bad_options_11.so",
       "its options table: option \"level\" has choices \"low|high\", but choices are for "
       "SIPHON_OPT_STRING options only; option \"port\" is required and has a default ('80')"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", ABI_DIR, cases[i].file);
    /* bad_options_7's and _11's "port" is required, default or not. */
    int port = strcmp(cases[i].file, "bad_options_7.so") == 0 ||
               strcmp(cases[i].file, "bad_options_11.so") == 0;
    const char *options = port ? "{\"port\": 80}" : "{}";
    tproc p;
    int st = tproc_siphon(&p, T_MS, "--plugin", path, "--options", options, "--check", NULL);
    cr_expect_eq(st, 0, "%s: exit %d: %s", cases[i].file, st, p.err);
    assert_has(p.err, cases[i].says);
    assert_has(p.err, "a bug in the plugin, loaded all the same");
    tproc_free(&p);
  }
}

Test(abi, a_missing_file_is_named) {
  tproc p;
  int st = run_plugin(&p, "/nonexistent/dir/nope.so");
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, "'/nonexistent/dir/nope.so' not found");
  tproc_free(&p);
}

Test(abi, an_unknown_name_lists_where_the_host_looked) {
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"]},\n"
                        " \"sources\": [{\"name\": \"a\", \"plugin\": \"nope\"}]}\n",
                        ABI_DIR);
  tproc p;
  int st = tproc_siphon(&p, T_MS, "-c", cfg, "--once", NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, "unknown plugin \"nope\": no nope.so in ");
  assert_has(p.err, "add its directory to siphon.plugin_path or SIPHON_PLUGIN_PATH");
  assert_has(p.err, ABI_DIR);
  /* The install-layout directory beside the binary does not exist in a
   * build tree; it is still shown as a plain path. */
  assert_has(p.err, "/lib/siphon/plugins");
  cr_assert(strstr(p.err, "/../") == NULL, "a path with '..' in: %s", p.err);
  assert_has(p.err, SIPHON_PLUGIN_DIR);
  assert_has(p.err, "sources[0]");
  tproc_free(&p);
  free(cfg);
}

Test(abi, check_reports_every_refused_plugin_at_once) {
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"]},\n"
                        " \"sources\": [{\"name\": \"a\", \"plugin\": \"wrong_major\"},\n"
                        "   {\"name\": \"b\", \"plugin\": \"too_small\"},\n"
                        "   {\"name\": \"c\", \"plugin\": \"%s/x.so\"},\n"
                        "   {\"name\": \"d\", \"plugin\": \"old_minor\"}]}\n",
                        ABI_DIR, ABI_DIR);
  tproc p;
  int st = tproc_siphon(&p, T_MS, "-c", cfg, "--check", NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, "wrong_major.so: plugin built for siphon ABI 2.0");
  assert_has(p.err, "too_small.so: plugin descriptor is");
  assert_has(p.err, "x.so: not a loadable shared object");
  assert_has(p.err, "sources[0]");
  assert_has(p.err, "sources[2]");
  cr_assert(strstr(p.err, "old_minor") == NULL, "the good plugin is not blamed: %s", p.err);
  tproc_free(&p);
  free(cfg);
}

Test(abi, two_files_with_one_plugin_name_are_refused) {
  char *cfg = tmp_write("siphon.json",
                        "{\"sources\": [{\"name\": \"a\", \"plugin\": \"%s/tick.so\"},\n"
                        "   {\"name\": \"b\", \"plugin\": \"%s/dup/tick.so\"}]}\n",
                        SIPHON_TEST_PLUGIN_DIR, SIPHON_TEST_PLUGIN_DIR);
  tproc p;
  int st = tproc_siphon(&p, T_MS, "-c", cfg, "--check", NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, "two plugins named 'tick'");
  assert_has(p.err, SIPHON_TEST_PLUGIN_DIR "/tick.so");
  assert_has(p.err, SIPHON_TEST_PLUGIN_DIR "/dup/tick.so");
  tproc_free(&p);
  free(cfg);
}

Test(abi, listing_shows_good_plugins_and_names_bad_files) {
  const char *env[] = {"SIPHON_PLUGIN_PATH=" ABI_DIR, NULL};
  const char *argv[] = {SIPHON_BIN, "--list-plugins", NULL};
  tproc p;
  int st = tproc_run(&p, argv, env, T_MS);
  cr_assert(st == 0 || st == 2, "exit %d: %s", st, p.err);
  assert_has(p.out, "old_minor 0.9.0");
  assert_has(p.out, "new_minor 2.0.0");
  assert_has(p.out, "template");
  cr_assert(strstr(p.out, "wrong_major") == NULL, "refused plugins are not listed: %s", p.out);
  assert_has(p.err, "wrong_major.so: plugin built for siphon ABI 2.0");
  assert_has(p.err, "x.so: not a loadable shared object");
  assert_has(p.err, "no_symbol.so: no 'siphon_plugin' symbol");
  tproc_free(&p);
}

/* Copies the test plugin tick.so to dir/name. */
static void copy_tick(const char *dir, const char *name) {
  size_t len = 0;
  char *so = tmp_read(SIPHON_TEST_PLUGIN_DIR "/tick.so", &len);
  cr_assert_not_null(so);
  char *copy = NULL;
  cr_assert(asprintf(&copy, "%s/%s", dir, name) > 0);
  FILE *f = fopen(copy, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(so, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
  free(copy);
  free(so);
}

/* A plugin copied to another file name loads only by its path: the
 * listing names the file and the fix instead of offering a name that
 * --plugin or a config would then refuse, whichever of the two files it
 * reads first; a link to the plugin under another name is the plugin. */
Test(abi, listing_refuses_a_file_named_otherwise_than_its_plugin) {
  char *dir = tmp_dir();
  copy_tick(dir, "aaa.so"); /* read before tick.so */
  copy_tick(dir, "tick.so");
  copy_tick(dir, "tock.so"); /* read after it */
  char *link = NULL;
  cr_assert(asprintf(&link, "%s/zz.so", dir) > 0);
  cr_assert_eq(symlink("tick.so", link), 0);
  char *env_path = NULL;
  cr_assert(asprintf(&env_path, "SIPHON_PLUGIN_PATH=%s", dir) > 0);
  const char *env[] = {env_path, NULL};
  const char *argv[] = {SIPHON_BIN, "--list-plugins", NULL};
  tproc p;
  int st = tproc_run(&p, argv, env, T_MS);
  cr_assert(st == 0 || st == 2, "exit %d: %s", st, p.err);
  assert_has(p.err, "aaa.so: file is named 'aaa' but the plugin calls itself 'tick'");
  assert_has(p.err, "tock.so: file is named 'tock' but the plugin calls itself 'tick'");
  assert_has(p.err, "rename the file to tick.so, or load it by its path");
  cr_assert(strstr(p.err, "zz.so") == NULL, "a link is not refused: %s", p.err);
  cr_assert(strstr(p.err, "two plugins named") == NULL, "%s", p.err);
  cr_assert(strncmp(p.out, "tick ", 5) == 0 || strstr(p.out, "\ntick ") != NULL,
            "the plugin itself is listed: %s", p.out);
  cr_assert(
      strstr(p.out, "aaa") == NULL && strstr(p.out, "tock") == NULL && strstr(p.out, "zz") == NULL,
      "no other name is offered: %s", p.out);
  tproc_free(&p);
  /* And by that name it does not load. */
  const char *by_name[] = {SIPHON_BIN, "--plugin", "tock", "--once", NULL};
  st = tproc_run(&p, by_name, env, T_MS);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  assert_has(p.err, "tock.so: file is named 'tock' but the plugin calls itself 'tick'");
  tproc_free(&p);
  free(env_path);
  free(link);
  tmp_rmtree(dir);
  free(dir);
}
