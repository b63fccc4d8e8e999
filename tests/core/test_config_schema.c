/* config/siphon.schema.json is what editors check configs with: it must
 * know exactly the keys the host knows, with the host's defaults. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "options.h"
#include "siphon/plugin.h"
#include "util.h"

static json_t *schema;

static void load_schema(void) {
  json_error_t err;
  schema =
      json_load_file(SIPHON_SOURCE_DIR "/config/siphon.schema.json", JSON_REJECT_DUPLICATES, &err);
  cr_assert_not_null(schema, "siphon.schema.json:%d:%d: %s", err.line, err.column, err.text);
}

static void free_schema(void) {
  json_decref(schema);
}

/* The "properties" of a section of the schema. */
static json_t *props(const char *section) {
  json_t *root_props = json_object_get(schema, "properties");
  if (strcmp(section, "") == 0) {
    return root_props;
  }
  json_t *siphon = json_object_get(json_object_get(root_props, "siphon"), "properties");
  if (strcmp(section, "siphon") == 0) {
    return siphon;
  }
  if (strcmp(section, "siphon.output") == 0) {
    return json_object_get(json_object_get(siphon, "output"), "properties");
  }
  json_t *defs = json_object_get(schema, "$defs");
  return json_object_get(json_object_get(defs, "source"), "properties");
}

static int in_list(const char *key, const char *const *list) {
  for (size_t i = 0; list[i] != NULL; i++) {
    if (strcmp(list[i], key) == 0) {
      return 1;
    }
  }
  return 0;
}

Test(config_schema, same_keys_as_the_host, .init = load_schema, .fini = free_schema) {
  const char *sections[] = {"", "siphon", "siphon.output", "sources[]"};
  for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
    const char *const *host = siphon__config_keys(sections[s]);
    json_t *p = props(sections[s]);
    cr_assert_not_null(host, "%s", sections[s]);
    cr_assert(json_is_object(p), "schema has no properties for \"%s\"", sections[s]);
    for (size_t i = 0; host[i] != NULL; i++) {
      cr_expect_not_null(json_object_get(p, host[i]), "the schema lacks %s.%s", sections[s],
                         host[i]);
    }
    const char *key;
    json_t *v;
    json_object_foreach(p, key, v) {
      cr_expect(in_list(key, host), "the schema has %s.%s, the host does not", sections[s], key);
      cr_expect(json_is_string(json_object_get(v, "description")), "%s.%s has no description",
                sections[s], key);
    }
  }
}

static const char *def_string(const char *section, const char *key) {
  json_t *d = json_object_get(json_object_get(props(section), key), "default");
  cr_assert(json_is_string(d), "%s.%s has no string default", section, key);
  return json_string_value(d);
}

Test(config_schema, defaults_are_the_hosts, .init = load_schema, .fini = free_schema) {
  siphon__config c;
  siphon__diag d;
  siphon__diag_init(&d);
  cr_assert_eq(siphon__config_load_string("{\"sources\": [{\"name\": \"a\", \"plugin\": \"p\"}]}",
                                          "t.json", &c, &d),
               0);
  uint64_t n = 0;
  cr_assert_eq(siphon__size_parse_str(def_string("siphon", "buffer_limit"), &n), 0);
  cr_expect_eq(n, c.buffer_max_bytes);
  cr_assert_eq(siphon__duration_parse_str(def_string("siphon", "shutdown_grace"), &n), 0);
  cr_expect_eq(n, c.shutdown_grace_ms);
  cr_expect_str_eq(def_string("siphon", "state_dir"), c.state_dir);
  cr_expect_str_eq(def_string("siphon", "log_level"), "info");
  cr_expect_eq(c.log_level, SIPHON_LOG_INFO);
  cr_expect_str_eq(def_string("siphon.output", "type"), "stdout");
  cr_expect_eq(c.output_type, SIPHON__OUTPUT_STDOUT);
  cr_assert_eq(siphon__duration_parse_str(def_string("sources[]", "interval"), &n), 0);
  cr_expect_eq(n, c.sources[0].interval_ms);
  json_t *stats = json_object_get(json_object_get(props("siphon"), "stats_interval"), "default");
  cr_assert_eq(siphon__duration_parse(stats, &n), 0);
  cr_expect_eq(n, c.stats_interval_ms);
  cr_assert_eq(siphon__duration_parse_str(def_string("siphon", "release_memory_after"), &n), 0);
  cr_expect_eq(n, c.release_memory_after_ms);
  json_t *jitter = json_object_get(json_object_get(props("sources[]"), "jitter"), "default");
  cr_assert_eq(siphon__duration_parse(jitter, &n), 0);
  cr_expect_eq(n, c.sources[0].jitter_ms);
  siphon__config_free(&c);
  siphon__diag_free(&d);
}

/* The duration pattern accepts what the host accepts, and refuses what it
 * refuses (POSIX regex standing in for the editor's ECMAScript one: the
 * pattern uses only features both share). */
/* The host's parser and the schema's pattern say the same of each
 * sample. */
static void pattern_agrees(const char *def, int (*host)(const char *, uint64_t *),
                           const char *const *samples, size_t n) {
  json_t *any = json_object_get(json_object_get(json_object_get(schema, "$defs"), def), "anyOf");
  const char *pattern = json_string_value(json_object_get(json_array_get(any, 1), "pattern"));
  cr_assert_not_null(pattern);
  regex_t re;
  cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0, "%s", pattern);
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    int host_ok = host(samples[i], &v) == 0;
    int schema_ok = regexec(&re, samples[i], 0, NULL, 0) == 0;
    cr_expect_eq(schema_ok, host_ok, "%s \"%s\": host %s, schema %s", def, samples[i],
                 host_ok ? "accepts" : "refuses", schema_ok ? "accepts" : "refuses");
  }
  regfree(&re);
}

Test(config_schema, duration_pattern_agrees_with_host, .init = load_schema, .fini = free_schema) {
  const char *samples[] = {"250ms", "10s",  "1.5s", ".5s", "1m",  "2h", "1h30m", "0s", "10", "ten",
                           "1d",    "10 s", "1.s",  "-1s", "10S", "",   "ms",    "0",  "00", "0 s"};
  pattern_agrees("duration", siphon__duration_parse_str, samples,
                 sizeof(samples) / sizeof(samples[0]));
}

/* An interval's pattern refuses what the host refuses as no time at
 * all, "0" among them, and takes the rest. */
Test(config_schema, positive_duration_agrees_with_host, .init = load_schema, .fini = free_schema) {
  json_t *any = json_object_get(
      json_object_get(json_object_get(schema, "$defs"), "positiveDuration"), "anyOf");
  json_t *str = json_array_get(any, 1);
  const char *pattern = json_string_value(json_object_get(str, "pattern"));
  const char *zero = json_string_value(json_object_get(json_object_get(str, "not"), "pattern"));
  cr_assert_not_null(pattern);
  cr_assert_not_null(zero);
  regex_t re;
  regex_t zre;
  cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0, "%s", pattern);
  cr_assert_eq(regcomp(&zre, zero, REG_EXTENDED | REG_NOSUB), 0, "%s", zero);
  const char *samples[] = {"0", "0s", "0.0ms", "00m", ".0h", "0s0ms", "1ms", "0.5s", "0s1ms", "10"};
  for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
    uint64_t v = 0;
    int host_ok = siphon__duration_parse_str(samples[i], &v) == 0 && v > 0;
    int schema_ok =
        regexec(&re, samples[i], 0, NULL, 0) == 0 && regexec(&zre, samples[i], 0, NULL, 0) != 0;
    cr_expect_eq(schema_ok, host_ok, "\"%s\": host %s, schema %s", samples[i],
                 host_ok ? "accepts" : "refuses", schema_ok ? "accepts" : "refuses");
  }
  regfree(&re);
  regfree(&zre);
}

/* The size pattern takes what the host takes: no fraction of a byte. */
Test(config_schema, size_pattern_agrees_with_host, .init = load_schema, .fini = free_schema) {
  const char *samples[] = {"64MiB", "512KiB", "100MB", "1.5KiB", ".5KiB", "10 KiB", "1.5KIB",
                           "1 kib", "7",      "10b",   "10 B",   "1.0b",  "1.5",    "0.5b",
                           "1.7b",  "2k",     "1.5 M", "",       "MiB",   "-1KiB",  "1  KiB"};
  pattern_agrees("size", siphon__size_parse_str, samples, sizeof(samples) / sizeof(samples[0]));
  /* And plugins' size options, the same pattern. */
  json_t *any = json_object_get(json_object_get(json_object_get(schema, "$defs"), "size"), "anyOf");
  static const siphon_option t[] = {{"z", SIPHON_OPT_SIZE, 0, NULL, NULL, "x"},
                                    {NULL, 0, 0, NULL, NULL, NULL}};
  json_t *os = siphon__options_schema(t);
  json_t *mine = json_object_get(json_object_get(json_object_get(os, "properties"), "z"), "anyOf");
  cr_expect(json_equal(json_object_get(json_array_get(mine, 1), "pattern"),
                       json_object_get(json_array_get(any, 1), "pattern")),
            "the size patterns differ");
  json_decref(os);
}

/* Plugin option schemas (siphon__options_schema) take durations in the
 * same forms as the config's schema. */
Test(config_schema, options_schema_same_duration_forms, .init = load_schema, .fini = free_schema) {
  static const siphon_option t[] = {{"d", SIPHON_OPT_DURATION, 0, NULL, NULL, "x"},
                                    {NULL, 0, 0, NULL, NULL, NULL}};
  json_t *os = siphon__options_schema(t);
  json_t *mine = json_object_get(json_object_get(json_object_get(os, "properties"), "d"), "anyOf");
  json_t *defs = json_object_get(schema, "$defs");
  json_t *any = json_object_get(json_object_get(defs, "duration"), "anyOf");
  cr_assert_eq(json_array_size(mine), 3);
  cr_expect(json_equal(json_array_get(mine, 0), json_array_get(any, 0)), "milliseconds differ");
  cr_expect(json_equal(json_array_get(mine, 1), json_array_get(any, 1)), "duration strings differ");
  cr_expect(json_equal(json_object_get(json_array_get(mine, 2), "pattern"),
                       json_object_get(json_object_get(defs, "envString"), "pattern")),
            "${VAR} patterns differ");
  json_decref(os);
}

/* A choice the host takes after ${VAR} substitution takes ${VAR} in the
 * schema too, or an editor flags a config siphon runs. */
Test(config_schema, choices_take_env_strings, .init = load_schema, .fini = free_schema) {
  const char *where[][2] = {{"siphon", "log_level"}, {"siphon.output", "type"}};
  for (size_t i = 0; i < 2; i++) {
    json_t *any = json_object_get(json_object_get(props(where[i][0]), where[i][1]), "anyOf");
    cr_assert_eq(json_array_size(any), 2, "%s.%s", where[i][0], where[i][1]);
    cr_expect(json_is_array(json_object_get(json_array_get(any, 0), "enum")), "%s.%s", where[i][0],
              where[i][1]);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(any, 1), "$ref")),
                     "#/$defs/envString", "%s.%s", where[i][0], where[i][1]);
  }
}

/* The host refuses "siphon" as a source's name (its stats records use
 * it): an editor must flag it too. */
Test(config_schema, reserved_source_name, .init = load_schema, .fini = free_schema) {
  json_t *name = json_object_get(props("sources[]"), "name");
  json_t *plain = json_array_get(json_object_get(name, "anyOf"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(plain, "pattern")), "^[A-Za-z0-9_.:-]+$");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(plain, "not"), "const")),
                   "siphon", "the schema accepts the name \"siphon\", which the host refuses");
}
