/* The template plugin, driven by the real siphon binary exactly as the
 * README tells an author to try it: `siphon --plugin template ...`. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "sdk_util.h"

#define T_MS 20000

static const char *str(json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "(none)";
}

static json_int_t num(json_t *obj, const char *key) {
  return json_integer_value(json_object_get(obj, key));
}

Test(template, once_emits_count_records_with_fields) {
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", "template", "--options",
                        "{\"message\": \"hi\", \"count\": 3, \"fields\": {\"env\": \"dev\"}}",
                        "--once", NULL);
  cr_assert_eq(st, 0, "exit %d, stderr: %s", st, p.err);
  json_t *recs = sdk_records(p.out);
  cr_assert_eq(json_array_size(recs), 3, "stdout: %s", p.out);
  for (size_t i = 0; i < 3; i++) {
    json_t *rec = json_array_get(recs, i);
    cr_assert_str_eq(str(rec, "source"), "template");
    cr_assert_str_eq(str(rec, "plugin"), "template");
    json_t *data = sdk_data(recs, i);
    cr_assert_str_eq(str(data, "message"), "hi");
    cr_assert_eq(num(data, "seq"), (json_int_t)i);
    cr_assert_eq(num(data, "round"), 1);
    cr_assert_str_eq(str(data, "env"), "dev", "fields are copied into every record");
  }
  cr_assert(strstr(p.err, "round: 1 source, 1 ok, 0 failed, 3 records") != NULL, "%s", p.err);
  json_decref(recs);
  tproc_free(&p);
}

Test(template, case_choice_changes_the_message) {
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", "template", "--options",
                        "{\"message\": \"Hello\", \"case\": \"upper\"}", "--once", NULL);
  cr_assert_eq(st, 0, "exit %d, stderr: %s", st, p.err);
  json_t *recs = sdk_records(p.out);
  cr_assert_eq(json_array_size(recs), 1, "count defaults to 1: %s", p.out);
  cr_assert_str_eq(str(sdk_data(recs, 0), "message"), "HELLO");
  json_decref(recs);
  tproc_free(&p);
}

Test(template, choice_outside_the_table_is_refused) {
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", "template", "--options",
                        "{\"message\": \"m\", \"case\": \"title\"}", "--once", NULL);
  cr_assert_eq(st, 2, "a config error exits 2, got %d: %s", st, p.err);
  cr_assert(strstr(p.err, "--options: case") != NULL, "names the option: %s", p.err);
  cr_assert(strstr(p.err, "upper") != NULL, "lists the choices: %s", p.err);
  cr_assert_eq(p.out_len, 0, "no records: %s", p.out);
  tproc_free(&p);
}

Test(template, missing_required_message_is_refused) {
  tproc p;
  int st =
      tproc_siphon(&p, T_MS, "--plugin", "template", "--options", "{\"count\": 2}", "--once", NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "message") != NULL, "names the missing option: %s", p.err);
  tproc_free(&p);
}

Test(template, create_rejects_a_count_out_of_range_with_its_path) {
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", "template", "--options",
                        "{\"message\": \"m\", \"count\": 5000}", "--once", NULL);
  cr_assert_eq(st, 2, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "--options: count") != NULL, "path from err->path: %s", p.err);
  cr_assert(strstr(p.err, "expected 0 to 1000 records per round, got 5000") != NULL, "%s", p.err);
  tproc_free(&p);
}

Test(template, failing_round_exits_1_with_the_plugin_text) {
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", "template", "--options",
                        "{\"message\": \"m\", \"fail\": true}", "--once", NULL);
  cr_assert_eq(st, 1, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "failing as configured") != NULL, "%s", p.err);
  cr_assert(strstr(p.err, "0 ok, 1 failed") != NULL, "%s", p.err);
  cr_assert_eq(p.out_len, 0, "a failed round emits nothing: %s", p.out);
  tproc_free(&p);
}

Test(template, runs_every_interval_until_sigterm) {
  tproc p;
  const char *argv[] = {
      SIPHON_BIN,   "--plugin", "template", "--options", "{\"message\": \"tick\", \"count\": 2}",
      "--interval", "100ms",    NULL};
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  int seen = tproc_wait_stdout(&p, "\"round\":3", T_MS);
  tproc_kill(&p, SIGTERM);
  int st = tproc_finish(&p, T_MS);
  cr_assert(seen, "no third round within %d ms: %s / %s", T_MS, p.out, p.err);
  cr_assert_eq(st, 0, "SIGTERM is a graceful stop, exit %d: %s", st, p.err);
  json_t *recs = sdk_records(p.out);
  cr_assert_geq(json_array_size(recs), 6);
  /* seq runs on across rounds; each round holds two records. */
  for (size_t i = 0; i < json_array_size(recs); i++) {
    cr_assert_eq(num(sdk_data(recs, i), "seq"), (json_int_t)i);
    cr_assert_eq(num(sdk_data(recs, i), "round"), (json_int_t)(i / 2 + 1));
  }
  json_decref(recs);
  tproc_free(&p);
}

Test(template, help_comes_from_the_options_table) {
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--help-plugin", "template", NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  const char *keys[] = {"message", "count", "case", "fields", "fail", "token"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    cr_assert(strstr(p.out, keys[i]) != NULL, "option %s missing: %s", keys[i], p.out);
  }
  cr_assert(strstr(p.out, "required") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "secret") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "as-is|upper|lower") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "text each record carries") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "\"fields\": {\"env\": \"dev\"}") != NULL, "the example: %s", p.out);
  tproc_free(&p);

  st = tproc_siphon(&p, T_MS, "--list-plugins", NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.out, "template 1.0.0") != NULL, "%s", p.out);
  tproc_free(&p);
}

Test(template, the_token_is_never_printed) {
  tproc p;
  int st = tproc_siphon(&p, T_MS, "--plugin", "template", "--options",
                        "{\"message\": \"m\", \"token\": \"s3cr3t-value\"}", "--check",
                        "--log-level", "debug", NULL);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.err, "token set") != NULL, "create() logs at debug: %s", p.err);
  cr_assert(strstr(p.out, "s3cr3t") == NULL && strstr(p.err, "s3cr3t") == NULL,
            "the secret leaked: %s / %s", p.out, p.err);
  tproc_free(&p);
}
