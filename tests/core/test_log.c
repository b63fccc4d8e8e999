/* The host's log lines as a log pipeline reads them (siphon.log_format). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* Everything the log wrote to stderr, as one parsed JSON line. */
static json_t *one_json_line(const char *text) {
  json_error_t err;
  json_t *v = json_loads(text, JSON_DISABLE_EOF_CHECK, &err);
  cr_assert_not_null(v, "not a JSON line: %s (%s)", text, err.text);
  return v;
}

static char *captured(void) {
  fflush(stderr);
  FILE *f = cr_get_redirected_stderr();
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  return buf;
}

Test(log, json_line_names_source_and_level, .init = cr_redirect_stderr) {
  siphon__log_set_level(SIPHON_LOG_DEBUG);
  siphon__log_set_json(1);
  siphon__log(SIPHON_LOG_WARN, "api", "took %d ms, \"slow\"", 1200);
  json_t *v = one_json_line(captured());
  cr_expect_str_eq(json_string_value(json_object_get(v, "level")), "warn");
  cr_expect_str_eq(json_string_value(json_object_get(v, "source")), "api");
  cr_expect_str_eq(json_string_value(json_object_get(v, "msg")), "took 1200 ms, \"slow\"");
  json_decref(v);
}

Test(log, json_line_survives_bytes_that_are_not_utf8, .init = cr_redirect_stderr) {
  /* A plugin may log a server's raw bytes: the line is kept. */
  siphon__log_set_level(SIPHON_LOG_DEBUG);
  siphon__log_set_json(1);
  siphon__log(SIPHON_LOG_ERROR, NULL, "bad reply: %s",
              "ab\xff\xfe"
              "cd");
  json_t *v = one_json_line(captured());
  cr_expect_str_eq(json_string_value(json_object_get(v, "msg")), "bad reply: ab??cd");
  cr_expect_null(json_object_get(v, "source"), "the host's own line names no source");
  json_decref(v);
}

Test(log, text_line_by_default, .init = cr_redirect_stderr) {
  siphon__log_set_level(SIPHON_LOG_DEBUG);
  siphon__log_set_json(0);
  siphon__log(SIPHON_LOG_INFO, "api", "hello");
  const char *out = captured();
  cr_expect(strstr(out, " info  [api] hello\n") != NULL, "%s", out);
}
