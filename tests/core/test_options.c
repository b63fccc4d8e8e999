/* Plugin options against an options table: what create() receives and
 * what the user is told when the options are wrong. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "util.h"

static const siphon_option table[] = {
    {"url", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, NULL, "the URL to fetch"},
    {"method", SIPHON_OPT_STRING, 0, "\"GET\"", "GET|POST|PUT|DELETE", "HTTP method"},
    {"retries", SIPHON_OPT_INT, 0, "3", NULL, "attempts"},
    {"ratio", SIPHON_OPT_NUMBER, 0, "0.5", NULL, "a share"},
    {"verify", SIPHON_OPT_BOOL, 0, "true", NULL, "check TLS"},
    {"read_timeout", SIPHON_OPT_DURATION, 0, "\"2s\"", NULL, "per read"},
    {"headers", SIPHON_OPT_OBJECT, 0, "{}", NULL, "extra headers"},
    {"fields", SIPHON_OPT_ARRAY, 0, NULL, NULL, "fields to keep"},
    {"body", SIPHON_OPT_ANY, 0, NULL, NULL, "request body"},
    {"password", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL, NULL, "basic auth"},
    {NULL, 0, 0, NULL, NULL, NULL}};

#define WHERE "t.json: sources[2].options"

static json_t *valid(const siphon_option *t, const char *json) {
  json_t *in = json_loads(json, 0, NULL);
  cr_assert_not_null(in, "bad test JSON: %s", json);
  siphon__diag d;
  siphon__diag_init(&d);
  json_t *out = NULL;
  int rc = siphon__options_validate(t, in, WHERE, &out, &d);
  for (size_t i = 0; i < d.count; i++) {
    cr_log_error("%s: %s", d.entries[i].where, d.entries[i].text);
  }
  cr_assert_eq(rc, 0, "refused: %s", json);
  cr_assert_not_null(out);
  cr_assert_neq(out, in, "a new object is returned");
  json_decref(in);
  siphon__diag_free(&d);
  return out;
}

static char *invalid(const siphon_option *t, const char *json) {
  json_t *in = json_loads(json, 0, NULL);
  cr_assert_not_null(in, "bad test JSON: %s", json);
  siphon__diag d;
  siphon__diag_init(&d);
  json_t *out = (json_t *)1;
  int rc = siphon__options_validate(t, in, WHERE, &out, &d);
  cr_assert_eq(rc, -EINVAL, "accepted: %s", json);
  cr_assert_null(out);
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
  json_decref(in);
  siphon__diag_free(&d);
  return all;
}

#define REFUSED(t, json, want)                                            \
  do {                                                                    \
    char *e_ = invalid(t, json);                                          \
    cr_expect_not_null(strstr(e_, want), "want: %s\ngot:\n%s", want, e_); \
    free(e_);                                                             \
  } while (0)

Test(options, defaults_filled_in_table_order) {
  json_t *o = valid(table, "{\"url\": \"http://x\"}");
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  cr_expect_str_eq(text,
                   "{\"url\":\"http://x\",\"method\":\"GET\",\"retries\":3,\"ratio\":0.5,"
                   "\"verify\":true,\"read_timeout\":2000,\"headers\":{}}");
  free(text);
  json_decref(o);
}

Test(options, every_type_accepted) {
  json_t *o = valid(table,
                    "{\"body\": [1, {\"a\": null}], \"password\": \"pw\", \"fields\": [\"a\"],"
                    " \"headers\": {\"X-A\": \"1\"}, \"read_timeout\": \"1.5s\", \"verify\": false,"
                    " \"ratio\": 2, \"retries\": -1, \"method\": \"POST\", \"url\": \"u\"}");
  cr_expect_str_eq(json_string_value(json_object_get(o, "method")), "POST");
  cr_expect_eq(json_integer_value(json_object_get(o, "retries")), -1);
  cr_expect_eq(json_number_value(json_object_get(o, "ratio")), 2.0, "an integer is a number");
  cr_expect(json_is_false(json_object_get(o, "verify")));
  cr_expect_eq(json_integer_value(json_object_get(o, "read_timeout")), 1500);
  cr_expect_eq(json_array_size(json_object_get(o, "fields")), 1);
  cr_expect(json_is_array(json_object_get(o, "body")));
  cr_expect_str_eq(json_string_value(json_object_get(o, "password")), "pw");
  json_decref(o);
}

Test(options, duration_normalized_to_ms) {
  const char *forms[][2] = {
      {"250", "250"}, {"\"250ms\"", "250"}, {"\"1m\"", "60000"}, {"\"1h30m\"", "5400000"}};
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    char *json = siphon__asprintf("{\"url\": \"u\", \"read_timeout\": %s}", forms[i][0]);
    json_t *o = valid(table, json);
    json_t *v = json_object_get(o, "read_timeout");
    cr_expect(json_is_integer(v), "%s", forms[i][0]);
    cr_expect_eq(json_integer_value(v), atoll(forms[i][1]), "%s", forms[i][0]);
    json_decref(o);
    free(json);
  }
}

Test(options, no_table_takes_nothing) {
  json_t *o = valid(NULL, "{}");
  cr_expect_eq(json_object_size(o), 0);
  json_decref(o);
  REFUSED(NULL, "{\"x\": 1}", WHERE ".x: unknown option; this plugin takes no options");
}

Test(options, null_options_mean_empty) {
  siphon__diag d;
  siphon__diag_init(&d);
  json_t *out = NULL;
  cr_expect_eq(siphon__options_validate(table, NULL, WHERE, &out, &d), -EINVAL);
  cr_expect_eq(d.count, 1, "only url is missing");
  siphon__diag_free(&d);
}

Test(options, missing_required) {
  REFUSED(table, "{}", WHERE ": missing required option \"url\" (string: the URL to fetch)");
}

Test(options, unknown_key_suggests) {
  REFUSED(table, "{\"url\": \"u\", \"methd\": \"GET\"}",
          WHERE ".methd: unknown option; did you mean \"method\"?");
  REFUSED(table, "{\"url\": \"u\", \"zzz\": 1}",
          WHERE ".zzz: unknown option; this plugin's options are: url, method, retries");
}

Test(options, a_source_key_inside_options_says_where_it_goes) {
  REFUSED(table, "{\"url\": \"u\", \"timeout\": \"1s\"}",
          WHERE
          ".timeout: unknown option; \"timeout\" is a key of the source itself: put it "
          "beside \"options\", not inside");
}

Test(options, wrong_types_name_the_json_type) {
  REFUSED(table, "{\"url\": 5}", WHERE ".url: expected a string, got a number (5)");
  REFUSED(table, "{\"url\": \"u\", \"retries\": 1.5}",
          WHERE ".retries: expected an integer, got a number (1.5)");
  REFUSED(table, "{\"url\": \"u\", \"retries\": \"3\"}",
          WHERE ".retries: expected an integer, got a string (\"3\")");
  REFUSED(table, "{\"url\": \"u\", \"ratio\": \"half\"}",
          WHERE ".ratio: expected a number, got a string (\"half\")");
  REFUSED(table, "{\"url\": \"u\", \"verify\": \"yes\"}",
          WHERE ".verify: expected true or false, got a string (\"yes\")");
  REFUSED(table, "{\"url\": \"u\", \"headers\": []}",
          WHERE ".headers: expected an object, got an array");
  REFUSED(table, "{\"url\": \"u\", \"fields\": {}}",
          WHERE ".fields: expected an array, got an object");
  REFUSED(table, "{\"url\": null}", WHERE ".url: expected a string, got null");
}

Test(options, bad_duration) {
  REFUSED(table, "{\"url\": \"u\", \"read_timeout\": \"fast\"}",
          WHERE
          ".read_timeout: expected a duration such as \"10s\", \"250ms\", \"1m\" or a "
          "number of milliseconds, got \"fast\"");
  REFUSED(table, "{\"url\": \"u\", \"read_timeout\": -1}",
          WHERE ".read_timeout: expected a duration such as");
  REFUSED(table, "{\"url\": \"u\", \"read_timeout\": \"9999999999999999h\"}",
          WHERE ".read_timeout: \"9999999999999999h\" is too long");
  /* Digits in a string: the same words as for the host's own durations. */
  REFUSED(table, "{\"url\": \"u\", \"read_timeout\": \"10\"}",
          WHERE
          ".read_timeout: \"10\" has no unit: write \"10s\" for seconds or \"10ms\" for "
          "milliseconds");
  REFUSED(table, "{\"url\": \"u\", \"read_timeout\": false}", "got a boolean (false)");
}

Test(options, choices) {
  REFUSED(table, "{\"url\": \"u\", \"method\": \"FETCH\"}",
          WHERE ".method: expected one of GET|POST|PUT|DELETE, got \"FETCH\"");
  REFUSED(table, "{\"url\": \"u\", \"method\": \"get\"}",
          WHERE ".method: expected one of GET|POST|PUT|DELETE, got \"get\"; did you mean \"GET\"?");
}

Test(options, every_error_at_once) {
  char *e = invalid(table, "{\"methd\": 1, \"retries\": \"x\", \"verify\": 0}");
  cr_expect_not_null(strstr(e, WHERE ".methd: unknown option"), "%s", e);
  cr_expect_not_null(strstr(e, WHERE ".retries: expected an integer"), "%s", e);
  cr_expect_not_null(strstr(e, WHERE ".verify: expected true or false"), "%s", e);
  cr_expect_not_null(strstr(e, WHERE ": missing required option \"url\""), "%s", e);
  size_t lines = 0;
  for (const char *p = e; *p != '\0'; p++) {
    lines += *p == '\n';
  }
  cr_expect_eq(lines, 4, "%s", e);
  free(e);
}

Test(options, plugin_default_bugs_blamed_on_the_plugin) {
  static const siphon_option broken[] = {
      {"size", SIPHON_OPT_INT, 0, "12k", NULL, "not JSON"},
      {"mode", SIPHON_OPT_STRING, 0, "\"fast\"", "slow|safe", "not a choice"},
      {"wait", SIPHON_OPT_DURATION, 0, "\"soon\"", NULL, "not a duration"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  char *e = invalid(broken, "{}");
  cr_expect_not_null(strstr(e, WHERE ".size: the plugin's default '12k' is not valid JSON"), "%s",
                     e);
  cr_expect_not_null(strstr(e, "this is a bug in the plugin"), "%s", e);
  cr_expect_not_null(
      strstr(e, WHERE ".mode: the plugin's default '\"fast\"' is wrong: expected one "
                      "of slow|safe"),
      "%s", e);
  cr_expect_not_null(strstr(e, WHERE ".wait: the plugin's default '\"soon\"' is wrong"), "%s", e);
  free(e);
}

Test(options, options_not_an_object) {
  REFUSED(table, "[1]", WHERE ": expected an object of options, got an array");
}

Test(options, type_names) {
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_STRING), "string");
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_INT), "integer");
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_NUMBER), "number");
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_BOOL), "boolean");
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_DURATION), "duration");
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_OBJECT), "object");
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_ARRAY), "array");
  cr_expect_str_eq(siphon__opt_type_name(SIPHON_OPT_ANY), "any");
}

static char *redacted(const siphon_option *t, const char *json) {
  json_t *in = json_loads(json, 0, NULL);
  cr_assert_not_null(in);
  json_t *before = json_deep_copy(in);
  json_t *out = siphon__options_redact(t, in);
  cr_assert(json_equal(in, before), "the input is not modified");
  char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(out);
  json_decref(before);
  json_decref(in);
  return text;
}

Test(options, redact_secrets_and_url_passwords) {
  char *s = redacted(table,
                     "{\"url\": \"mongodb://user:pa:ss@db.example:27017/x?authSource=admin\","
                     " \"password\": \"hunter2\", \"method\": \"GET\"}");
  cr_expect_str_eq(s,
                   "{\"url\":\"mongodb://user:****@db.example:27017/x?authSource=admin\","
                   "\"password\":\"********\",\"method\":\"GET\"}");
  free(s);
  s = redacted(NULL,
               "{\"a\": \"https://u:p@w@h/p@x\", \"b\": [\"redis://:tok@h:6379\"],"
               " \"c\": {\"d\": \"http://user@h/\"}, \"e\": \"http://h:80/a:b@c\", \"n\": 1}");
  cr_expect_str_eq(s,
                   "{\"a\":\"https://u:****@h/p@x\",\"b\":[\"redis://:****@h:6379\"],"
                   "\"c\":{\"d\":\"http://user@h/\"},\"e\":\"http://h:80/a:b@c\",\"n\":1}");
  free(s);
}

/* libcurl takes a proxy without a scheme, so --check must not show its
 * password either. */
Test(options, redact_a_password_without_a_scheme) {
  char *s = redacted(NULL,
                     "{\"proxy\": \"alice:s3cret@proxy.example:3128\","
                     " \"p\": \"a b:c@d\", \"q\": \"user@host\", \"r\": \"x/a:b@c\"}");
  cr_expect_str_eq(s,
                   "{\"proxy\":\"alice:****@proxy.example:3128\",\"p\":\"a b:c@d\","
                   "\"q\":\"user@host\",\"r\":\"x/a:b@c\"}");
  free(s);
}

Test(options, redact_secret_of_any_type) {
  static const siphon_option t[] = {{"token", SIPHON_OPT_ANY, SIPHON_OPT_SECRET, NULL, NULL, "x"},
                                    {"key", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL, NULL, "x"},
                                    {NULL, 0, 0, NULL, NULL, NULL}};
  char *s = redacted(t, "{\"token\": {\"k\": \"v\"}, \"key\": null}");
  cr_expect_str_eq(s, "{\"token\":\"********\",\"key\":null}");
  free(s);
}

Test(options, schema_of_a_table) {
  json_t *s = siphon__options_schema(table);
  char *text = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
  cr_log_info("%s", text);
  free(text);
  cr_expect(json_is_false(json_object_get(s, "additionalProperties")));
  json_t *props = json_object_get(s, "properties");
  const char *keys[] = {"url",          "method",  "retries", "ratio", "verify",
                        "read_timeout", "headers", "fields",  "body",  "password"};
  size_t i = 0;
  const char *key;
  json_t *v;
  json_object_foreach(props, key, v) {
    cr_assert_lt(i, sizeof(keys) / sizeof(keys[0]));
    cr_expect_str_eq(key, keys[i], "properties in table order");
    cr_expect_str_eq(json_string_value(json_object_get(v, "description")), table[i].description);
    i++;
  }
  cr_expect_eq(i, sizeof(keys) / sizeof(keys[0]));
  json_t *want = json_pack("[s]", "url");
  cr_expect(json_equal(json_object_get(s, "required"), want), "only url is required");
  json_decref(want);

  json_t *method = json_object_get(props, "method");
  want = json_pack("[s,s,s,s]", "GET", "POST", "PUT", "DELETE");
  cr_expect(json_equal(json_object_get(json_array_get(json_object_get(method, "anyOf"), 0), "enum"),
                       want));
  json_decref(want);
  cr_expect_str_eq(json_string_value(json_object_get(method, "default")), "GET");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(props, "retries"), "type")),
                   "integer");
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(props, "retries"), "default")),
               3);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(props, "ratio"), "type")),
                   "number");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(props, "verify"), "type")),
                   "boolean");
  json_t *rt = json_object_get(props, "read_timeout");
  cr_expect_str_eq(json_string_value(json_object_get(rt, "default")), "2s");
  cr_expect_eq(json_array_size(json_object_get(rt, "anyOf")), 3, "ms, a duration string or ${VAR}");
  cr_expect_null(json_object_get(json_object_get(props, "body"), "type"), "any value");
  cr_expect(json_is_true(json_object_get(json_object_get(props, "password"), "writeOnly")));
  cr_expect_null(json_object_get(json_object_get(props, "url"), "writeOnly"));
  json_decref(s);

  s = siphon__options_schema(NULL);
  cr_expect_eq(json_object_size(json_object_get(s, "properties")), 0);
  cr_expect_null(json_object_get(s, "required"));
  json_decref(s);
}
