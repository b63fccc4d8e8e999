/* The host's log lines as a log pipeline reads them (siphon.log_format). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tmpfile.h"

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

Test(log, long_json_message_cut_inside_a_character_keeps_its_text, .init = cr_redirect_stderr) {
  /* 1,500 two-byte characters: the 2 KiB buffer ends inside one. */
  siphon__log_set_level(SIPHON_LOG_DEBUG);
  siphon__log_set_json(1);
  char big[3001];
  for (size_t i = 0; i < 1500; i++) {
    big[2 * i] = '\xc3';
    big[2 * i + 1] = '\xa9'; /* é */
  }
  big[3000] = '\0';
  siphon__log(SIPHON_LOG_WARN, NULL, "%s", big); /* 2,047 bytes kept: 1,023.5 characters */
  json_t *v = one_json_line(captured());
  const char *msg = json_string_value(json_object_get(v, "msg"));
  cr_assert_not_null(msg);
  cr_expect_null(strchr(msg, '?'), "no character lost to '?': %.40s...", msg);
  cr_expect_eq(strlen(msg), 2046, "the half character dropped, the rest kept: %zu bytes",
               strlen(msg));
  json_decref(v);
}

Test(log, long_text_line_ends_on_a_whole_character, .init = cr_redirect_stderr) {
  siphon__log_set_level(SIPHON_LOG_DEBUG);
  siphon__log_set_json(0);
  char big[4001];
  for (size_t i = 0; i < 1000; i++) {
    memcpy(big + 4 * i, "\xf0\x9f\x99\x82", 4); /* a four-byte character */
  }
  big[4000] = '\0';
  siphon__log(SIPHON_LOG_INFO, NULL, "%s", big);
  const char *out = captured();
  const char *nl = strchr(out, '\n');
  cr_assert_not_null(nl, "the cut line still ends with a newline");
  const char *first = strstr(out, "\xf0");
  cr_assert_not_null(first);
  cr_expect_eq((size_t)(nl - first) % 4, 0, "no partial character before the newline");
  json_t *as_string = json_stringn(out, (size_t)(nl - out));
  cr_expect_not_null(as_string, "the line is valid UTF-8");
  json_decref(as_string);
}

Test(log, log_file_takes_the_lines_and_a_reopen_follows_a_rename, .init = cr_redirect_stderr) {
  siphon__log_set_level(SIPHON_LOG_DEBUG);
  siphon__log_set_json(0);
  char *dir = tmp_dir();
  char path[1024], moved[1100];
  snprintf(path, sizeof(path), "%s/siphon.log", dir);
  snprintf(moved, sizeof(moved), "%s/siphon.log.1", dir);
  char *err = NULL;
  cr_assert_eq(siphon__log_open_file(path, &err), 0, "%s", err ? err : "");
  cr_expect_str_eq(siphon__log_file(), path);
  siphon__log(SIPHON_LOG_INFO, "a", "before the rotation");
  cr_assert_eq(rename(path, moved), 0); /* what logrotate does first */
  cr_assert_eq(siphon__log_reopen(&err), 0, "%s", err ? err : "");
  /* Still not inherited by a plugin's child process after the reopen. */
  int fds = 0;
  for (int fd = 3; fd < 64; fd++) {
    char link[64], target[1100];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n > 0) {
      target[n] = '\0';
      if (strcmp(target, path) == 0) {
        fds++;
        cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd %d is close-on-exec", fd);
      }
    }
  }
  cr_expect_eq(fds, 1, "one descriptor holds the log file");
  siphon__log(SIPHON_LOG_INFO, "a", "after the rotation");
  siphon__log_close_file();
  cr_expect_null(siphon__log_file());
  siphon__log(SIPHON_LOG_INFO, "a", "back on stderr");

  char *old_text = tmp_read(moved, NULL);
  char *new_text = tmp_read(path, NULL);
  cr_assert_not_null(old_text);
  cr_assert_not_null(new_text);
  cr_expect(strstr(old_text, "[a] before the rotation\n") != NULL, "%s", old_text);
  cr_expect_eq(count_lines(old_text), 1, "%s", old_text);
  cr_expect(strstr(new_text, "[a] after the rotation\n") != NULL, "%s", new_text);
  cr_expect_eq(count_lines(new_text), 1, "%s", new_text);
  const char *out = captured();
  cr_expect(strstr(out, "back on stderr") != NULL, "%s", out);
  cr_expect(strstr(out, "rotation") == NULL, "the file's lines stay out of stderr: %s", out);
  free(old_text);
  free(new_text);
  tmp_rmtree(dir);
  free(dir);
}

Test(log, log_file_that_cannot_be_opened_says_which_and_why) {
  char *err = NULL;
  cr_assert_lt(siphon__log_open_file("/nonexistent-siphon-dir/siphon.log", &err), 0);
  cr_assert_not_null(err);
  cr_expect(strstr(err, "/nonexistent-siphon-dir/siphon.log") != NULL, "%s", err);
  cr_expect(strstr(err, "No such file or directory") != NULL, "%s", err);
  cr_expect_null(siphon__log_file(), "the log stays on stderr");
  free(err);
  err = NULL;
  cr_expect_eq(siphon__log_reopen(&err), 1, "nothing to reopen while on stderr");
}
