/* Good configs: what the host gets after defaults, substitution and
 * normalization. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "siphon/plugin.h"
#include "tmpfile.h"
#include "util.h"

static void load_ok(const char *json, siphon__config *cfg) {
  siphon__diag d;
  siphon__diag_init(&d);
  int rc = siphon__config_load_string(json, "t.json", cfg, &d);
  for (size_t i = 0; i < d.count; i++) {
    cr_log_error("%s: %s", d.entries[i].where, d.entries[i].text);
  }
  cr_assert_eq(rc, 0, "config refused: %s", json);
  cr_assert_eq(d.count, 0);
  siphon__diag_free(&d);
}

Test(config_load, defaults) {
  siphon__config c;
  load_ok("{\"sources\": [{\"name\": \"a\", \"plugin\": \"tick\"}]}", &c);
  cr_expect_str_eq(c.path, "t.json");
  cr_expect_eq(c.threads, 0);
  cr_expect_eq(c.max_pool_share, 0.0);
  cr_expect_eq(c.log_level, SIPHON_LOG_INFO);
  cr_expect_eq(c.plugin_path_count, 0);
  cr_expect_eq(c.output_type, SIPHON__OUTPUT_STDOUT);
  cr_expect_null(c.output_path);
  cr_expect_null(c.log_file, "the log is stderr unless siphon.log_file says");
  cr_expect_eq(c.buffer_max_bytes, 64ull << 20);
  cr_expect_eq(c.shutdown_grace_ms, 5000);
  cr_expect_eq(c.stats_interval_ms, 0, "no stats records unless asked");
  cr_expect_eq(c.release_memory_after_ms, 10000);
  cr_expect_str_eq(c.state_dir, "siphon-state");
  cr_assert_eq(c.source_count, 1);
  const siphon__source_conf *s = &c.sources[0];
  cr_expect_eq(s->index, 0);
  cr_expect_str_eq(s->name, "a");
  cr_expect_str_eq(s->plugin, "tick");
  cr_expect_eq(s->interval_ms, 10000);
  cr_expect_eq(s->timeout_ms, 10000, "the timeout defaults to the interval");
  cr_expect_eq(s->jitter_ms, 0);
  cr_expect_eq(s->max_backoff_ms, 5 * 60 * 1000);
  cr_expect(json_is_object(s->tags) && json_object_size(s->tags) == 0);
  cr_expect(json_is_object(s->options) && json_object_size(s->options) == 0);
  siphon__config_free(&c);
}

Test(config_load, every_key) {
  siphon__config c;
  load_ok(
      "{\"$schema\": \"../config/siphon.schema.json\",\n"
      " \"siphon\": {\"threads\": 16, \"log_level\": \"debug\", \"plugin_path\": [\"plugins\", "
      "\"/opt/p\"],\n"
      "   \"output\": {\"type\": \"file\", \"path\": \"/tmp/out.jsonl\"}, \"buffer_limit\": "
      "\"512KiB\",\n"
      "   \"shutdown_grace\": \"2.5s\", \"state_dir\": \"/var/lib/siphon\", "
      "\"max_pool_share\": 0.25, \"stats_interval\": \"30s\", \"release_memory_after\": \"2s\"},\n"
      " \"sources\": [{\"name\": \"users-api\", \"plugin\": \"rest\", \"interval\": \"1m\", "
      "\"timeout\": \"5s\",\n"
      "   \"jitter\": \"1s\", \"max_backoff\": \"1h\", \"tags\": {\"team\": \"a\"},\n"
      "   \"options\": {\"url\": \"http://127.0.0.1:8080/users\", \"n\": [1, 2]}, \"enabled\": "
      "true}]}",
      &c);
  cr_expect_eq(c.threads, 16);
  cr_expect_eq(c.log_level, SIPHON_LOG_DEBUG);
  cr_assert_eq(c.plugin_path_count, 2);
  cr_expect_str_eq(c.plugin_path[0], "plugins", "plugin_path is kept as written");
  cr_expect_str_eq(c.plugin_path[1], "/opt/p");
  cr_expect_eq(c.output_type, SIPHON__OUTPUT_FILE);
  cr_expect_str_eq(c.output_path, "/tmp/out.jsonl");
  cr_expect_eq(c.buffer_max_bytes, 512 * 1024);
  cr_expect_eq(c.shutdown_grace_ms, 2500);
  cr_expect_str_eq(c.state_dir, "/var/lib/siphon");
  cr_expect_eq(c.max_pool_share, 0.25);
  cr_expect_eq(c.stats_interval_ms, 30000);
  cr_expect_eq(c.release_memory_after_ms, 2000);
  const siphon__source_conf *s = &c.sources[0];
  cr_expect_eq(s->interval_ms, 60000);
  cr_expect_eq(s->timeout_ms, 5000);
  cr_expect_eq(s->jitter_ms, 1000);
  cr_expect_eq(s->max_backoff_ms, 3600000);
  cr_expect_str_eq(json_string_value(json_object_get(s->tags, "team")), "a");
  cr_expect_str_eq(json_string_value(json_object_get(s->options, "url")),
                   "http://127.0.0.1:8080/users");
  cr_expect_eq(json_array_size(json_object_get(s->options, "n")), 2);
  siphon__config_free(&c);
}

Test(config_load, log_level_warning_is_warn) {
  /* As --log-level takes it, and as Fluent Bit's configs write it. */
  siphon__config c;
  load_ok(
      "{\"siphon\": {\"log_level\": \"warning\"}, \"sources\": [{\"name\": \"a\", \"plugin\": "
      "\"p\"}]}",
      &c);
  cr_expect_eq(c.log_level, SIPHON_LOG_WARN);
  siphon__config_free(&c);
}

Test(config_load, plugin_path_as_one_string) {
  siphon__config c;
  load_ok(
      "{\"siphon\": {\"plugin_path\": \"build/plugins\"}, \"sources\": [{\"name\": \"a\", "
      "\"plugin\": \"p\"}]}",
      &c);
  cr_assert_eq(c.plugin_path_count, 1);
  cr_expect_str_eq(c.plugin_path[0], "build/plugins");
  siphon__config_free(&c);
}

Test(config_load, durations_in_every_form) {
  siphon__config c;
  load_ok(
      "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\", \"interval\": 1500, \"timeout\": "
      "\"250ms\"},\n"
      " {\"name\": \"b\", \"plugin\": \"p\", \"interval\": \"2h\", \"timeout\": \"1h30m\", "
      "\"jitter\": \"1.5s\"}]}",
      &c);
  cr_expect_eq(c.sources[0].interval_ms, 1500);
  cr_expect_eq(c.sources[0].timeout_ms, 250);
  cr_expect_eq(c.sources[1].interval_ms, 2 * 3600 * 1000);
  cr_expect_eq(c.sources[1].timeout_ms, 90 * 60 * 1000);
  cr_expect_eq(c.sources[1].jitter_ms, 1500);
  cr_expect_eq(c.sources[1].max_backoff_ms, 2 * 3600 * 1000,
               "the backoff cap is never below the interval");
  siphon__config_free(&c);
}

Test(config_load, sizes_in_every_form) {
  const struct {
    const char *json;
    uint64_t bytes;
  } cases[] = {
      {"4096", 4096},           {"\"64MiB\"", 64ull << 20}, {"\"1GiB\"", 1ull << 30},
      {"\"100MB\"", 100000000}, {"\"1.5KiB\"", 1536},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *json = siphon__asprintf(
        "{\"siphon\": {\"buffer_limit\": %s}, \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
        cases[i].json);
    siphon__config c;
    load_ok(json, &c);
    cr_expect_eq(c.buffer_max_bytes, cases[i].bytes, "%s", cases[i].json);
    siphon__config_free(&c);
    free(json);
  }
}

Test(config_load, env_substitution_in_values) {
  setenv("SIPHON_T_HOST", "db.example", 1);
  setenv("SIPHON_T_INTERVAL", "30s", 1);
  setenv("SIPHON_T_EMPTY", "", 1);
  unsetenv("SIPHON_T_UNSET");
  siphon__config c;
  load_ok(
      "{\"siphon\": {\"plugin_path\": [\"${SIPHON_T_UNSET:-/opt/siphon}/plugins\"]},\n"
      " \"sources\": [{\"name\": \"a\", \"plugin\": \"p\", \"interval\": "
      "\"${SIPHON_T_INTERVAL}\",\n"
      "  \"tags\": {\"${SIPHON_T_HOST}\": \"${SIPHON_T_HOST}\"},\n"
      "  \"options\": {\"url\": \"mongodb://${SIPHON_T_HOST}:27017\", \"price\": \"$$5 or $5\",\n"
      "   \"e\": \"[${SIPHON_T_EMPTY}]\", \"d\": \"${SIPHON_T_EMPTY:-fallback}\",\n"
      "   \"nested\": \"${SIPHON_T_UNSET:-${SIPHON_T_HOST}}\", \"q\": \"${SIPHON_T_HOST:?need "
      "it}\",\n"
      "   \"list\": [\"${SIPHON_T_HOST}\"]}}]}",
      &c);
  const siphon__source_conf *s = &c.sources[0];
  cr_expect_str_eq(c.plugin_path[0], "/opt/siphon/plugins");
  cr_expect_eq(s->interval_ms, 30000);
  json_t *o = s->options;
  cr_expect_str_eq(json_string_value(json_object_get(o, "url")), "mongodb://db.example:27017");
  cr_expect_str_eq(json_string_value(json_object_get(o, "price")), "$5 or $5");
  cr_expect_str_eq(json_string_value(json_object_get(o, "e")), "[]",
                   "a set but empty variable is empty");
  cr_expect_str_eq(json_string_value(json_object_get(o, "d")), "fallback");
  cr_expect_str_eq(json_string_value(json_object_get(o, "nested")), "db.example");
  cr_expect_str_eq(json_string_value(json_object_get(o, "q")), "db.example");
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(o, "list"), 0)), "db.example");
  cr_expect_str_eq(json_string_value(json_object_get(s->tags, "${SIPHON_T_HOST}")), "db.example",
                   "keys are not substituted, values are");
  siphon__config_free(&c);
}

Test(config_load, disabled_sources_dropped_index_kept) {
  siphon__config c;
  load_ok(
      "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\", \"enabled\": false},\n"
      " {\"name\": \"b\", \"plugin\": \"p\"}, {\"name\": \"c\", \"plugin\": \"p\", \"enabled\": "
      "true}]}",
      &c);
  cr_assert_eq(c.source_count, 2);
  cr_expect_str_eq(c.sources[0].name, "b");
  cr_expect_eq(c.sources[0].index, 1, "index is the position in the file, for messages");
  cr_expect_str_eq(c.sources[1].name, "c");
  cr_expect_eq(c.sources[1].index, 2);
  cr_assert_eq(c.disabled_count, 1, "kept apart, to be checked");
  cr_expect_str_eq(c.disabled[0].name, "a");
  cr_expect_eq(c.disabled[0].index, 0);
  siphon__config_free(&c);
}

Test(config_load, tags_become_strings) {
  siphon__config c;
  load_ok(
      "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\", \"tags\": {\"s\": \"x\", \"i\": 42, "
      "\"r\": 0.5, \"b\": true}}]}",
      &c);
  json_t *t = c.sources[0].tags;
  cr_expect_str_eq(json_string_value(json_object_get(t, "s")), "x");
  cr_expect_str_eq(json_string_value(json_object_get(t, "i")), "42");
  cr_expect_str_eq(json_string_value(json_object_get(t, "r")), "0.5");
  cr_expect_str_eq(json_string_value(json_object_get(t, "b")), "true");
  siphon__config_free(&c);
}

Test(config_load, name_characters) {
  siphon__config c;
  load_ok("{\"sources\": [{\"name\": \"Users_API-1.eu:west\", \"plugin\": \"p\"}]}", &c);
  cr_expect_str_eq(c.sources[0].name, "Users_API-1.eu:west");
  siphon__config_free(&c);
}

/* Relative paths in a file mean the same from any working directory. */
Test(config_load, relative_paths_from_the_config_dir) {
  char *path = tmp_write("siphon.json",
                         "{\"siphon\": {\"plugin_path\": [\"plugins\"], \"output\": {\"type\": "
                         "\"file\", \"path\": \"out/records.jsonl\"}, \"log_file\": "
                         "\"out/siphon.log\"},\n"
                         " \"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}\n");
  char *dir = siphon__xstrdup(path);
  *strrchr(dir, '/') = '\0';
  char *out_dir = siphon__asprintf("%s/out", dir); /* the file's directory must exist */
  cr_assert_eq(mkdir(out_dir, 0755), 0);
  free(out_dir);
  siphon__config c;
  siphon__diag d;
  siphon__diag_init(&d);
  cr_assert_eq(siphon__config_load_file(path, &c, &d), 0);
  cr_expect_str_eq(c.dir, dir);
  cr_expect_str_eq(c.plugin_path[0], "plugins", "the loader joins plugin_path with dir");
  char *want = siphon__asprintf("%s/out/records.jsonl", dir);
  cr_expect_str_eq(c.output_path, want);
  free(want);
  want = siphon__asprintf("%s/out/siphon.log", dir);
  cr_expect_str_eq(c.log_file, want);
  free(want);
  want = siphon__asprintf("%s/siphon-state", dir);
  cr_expect_str_eq(c.state_dir, want);
  free(want);
  siphon__config_free(&c);
  siphon__diag_free(&d);
  tmp_rmtree(dir);
  free(dir);
  free(path);
}

Test(config_load, file_in_working_directory) {
  char *dir = tmp_dir();
  char *cwd = getcwd(NULL, 0);
  cr_assert_eq(chdir(dir), 0);
  cr_assert_eq(tmp_write_at("s.json", "{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}"), 0);
  siphon__config c;
  siphon__diag d;
  siphon__diag_init(&d);
  cr_expect_eq(siphon__config_load_file("s.json", &c, &d), 0);
  cr_expect_str_eq(c.path, "s.json");
  cr_expect_str_eq(c.dir, ".");
  cr_expect_str_eq(c.state_dir, "siphon-state");
  siphon__config_free(&c);
  siphon__diag_free(&d);
  cr_assert_eq(chdir(cwd), 0);
  free(cwd);
  tmp_rmtree(dir);
  free(dir);
}

/* Notepad saves UTF-8 with a byte order mark; positions still match. */
Test(config_load, byte_order_mark) {
  siphon__config c;
  load_ok("\xEF\xBB\xBF{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}", &c);
  cr_expect_eq(c.source_count, 1);
  siphon__config_free(&c);
  siphon__diag d;
  siphon__diag_init(&d);
  cr_assert_eq(siphon__config_load_string("\xEF\xBB\xBF{\"sources\": [,]}", "t.json", &c, &d),
               -EINVAL);
  cr_assert_eq(d.count, 1);
  cr_expect_str_eq(d.entries[0].where, "t.json:1:14");
  siphon__config_free(&c);
  siphon__diag_free(&d);
}
