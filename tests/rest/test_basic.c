/* rest end to end: what a round emits and how each request option shows
 * up at the server (httpfix's /echo reflects the request back). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restt.h"
#include "tmpfile.h"

RESTT_SUITE(rest_basic);

static const char *str_at(json_t *o, const char *ptr) {
  json_t *v = o;
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", ptr);
  for (char *t = strtok(buf, "."); t != NULL && v != NULL; t = strtok(NULL, ".")) {
    v = json_object_get(v, t);
  }
  return json_string_value(v);
}

Test(rest_basic, whole_json_document_with_meta) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/json\"}", port);
  json_t *d = restt_only_data(&r);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(d, "meta"), "count")), 3);
  json_t *meta = json_object_get(json_array_get(r.records, 0), "meta");
  cr_assert_eq(json_integer_value(json_object_get(meta, "status")), 200);
  cr_assert_eq(json_integer_value(json_object_get(meta, "page")), 1);
  cr_assert(json_is_number(json_object_get(meta, "elapsed_ms")));
  cr_assert(json_is_number(json_object_get(meta, "wait_ms")));
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/json", port);
  cr_assert_str_eq(json_string_value(json_object_get(meta, "url")), url);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r.records, 0), "plugin")),
                   "rest");
  restt_run_free(&r);
}

Test(rest_basic, wait_and_elapsed_are_told_apart) {
  /* The server takes 300 ms: that is the request's time (less up to a few
   * ms: the server's timer counts from its loop's cached clock). One source
   * alone on the loop waits next to nothing in siphon before libcurl
   * starts it. */
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/delay?ms=300\"}", port);
  restt_only_data(&r);
  json_t *meta = json_object_get(json_array_get(r.records, 0), "meta");
  double elapsed = json_number_value(json_object_get(meta, "elapsed_ms"));
  double wait = json_number_value(json_object_get(meta, "wait_ms"));
  cr_assert(elapsed >= 280, "elapsed_ms %f", elapsed);
  cr_assert(wait > 0 && wait < 150, "wait_ms %f", wait);
  restt_run_free(&r);
}

Test(rest_basic, select_and_split) {
  restt_run r =
      restt_once("", "{\"url\": \"http://127.0.0.1:%d/json\", \"select\": \"/items\"}", port);
  json_t *d = restt_only_data(&r);
  cr_assert(json_is_array(d) && json_array_size(d) == 3, "select returns the array whole");
  restt_run_free(&r);

  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/json\", \"select\": \"/items\", "
                 "\"split\": true}",
                 port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 3, "one record per element");
  for (size_t i = 0; i < 3; i++) {
    json_t *d2 = json_object_get(json_array_get(r.records, i), "data");
    cr_assert_eq(json_integer_value(json_object_get(d2, "id")), (json_int_t)i + 1);
  }
  restt_run_free(&r);
}

Test(rest_basic, select_pointer_escapes_and_indexes) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/json\", "
                           "\"select\": \"/meta/a~1b/m~0n\"}",
                           port);
  cr_assert_str_eq(json_string_value(restt_only_data(&r)), "escaped");
  restt_run_free(&r);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/json\", \"select\": \"/items/0/name\"}",
                 port);
  cr_assert_str_eq(json_string_value(restt_only_data(&r)), "a/b");
  restt_run_free(&r);
}

Test(rest_basic, select_missing_fails_the_round) {
  restt_run r =
      restt_once("", "{\"url\": \"http://127.0.0.1:%d/json\", \"select\": \"/nope\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0);
  /* What is there instead, so a misspelt key shows at once. */
  cr_assert_not_null(strstr(r.err,
                            "select \"/nope\" matches nothing in the response: the "
                            "response is an object with keys items, meta"),
                     "%s", r.err);
  restt_run_free(&r);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/json\", \"select\": \"/items/7/id\"}", port);
  cr_assert_not_null(strstr(r.err, "/items is an array of 3 elements"), "%s", r.err);
  restt_run_free(&r);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/json\", \"select\": \"/meta/count/x\"}",
                 port);
  cr_assert_not_null(strstr(r.err, "/meta/count is a number, with nothing inside"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_basic, split_of_a_non_array_is_one_record) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/json\", \"select\": \"/meta\", "
                           "\"split\": true}",
                           port);
  cr_assert(json_is_object(restt_only_data(&r)));
  restt_run_free(&r);
}

Test(rest_basic, format_text) {
  restt_run r =
      restt_once("", "{\"url\": \"http://127.0.0.1:%d/text\", \"format\": \"text\"}", port);
  cr_assert_str_eq(json_string_value(restt_only_data(&r)), "hello, world\n");
  restt_run_free(&r);
  /* Text that is not UTF-8 cannot be a JSON string: the round fails. */
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/latin1\", \"format\": \"text\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "the response is not valid UTF-8 text (format \"text\")"), "%s",
                     r.err);
  restt_run_free(&r);
  /* The same body as JSON is an error naming the byte. */
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/text\"}", port);
  cr_assert_eq(r.status, 1);
  /* "hello, world": the token that is not JSON starts the body. */
  cr_assert_not_null(strstr(r.err, "invalid JSON at byte 0: "), "%s", r.err);
  restt_run_free(&r);
  /* An empty 200 is said to be empty, not invalid at byte 0. */
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/status?code=200&empty=1\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "the response body is empty (HTTP 200): expected JSON"), "%s",
                     r.err);
  restt_run_free(&r);
}

Test(rest_basic, invalid_json_names_source_and_byte) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/invalid\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0);
  /* {"ok": true, "items": [1, 2,, 3]}: the second comma is at 28. */
  cr_assert_not_null(strstr(r.err, "invalid JSON at byte 28: unexpected token near ','"), "%s",
                     r.err);
  cr_assert_not_null(strstr(r.err, "src"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_basic, method_query_headers) {
  restt_run r =
      restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/echo?fixed=1\", \"method\": \"DELETE\", "
                 "\"query\": {\"q\": \"a b&c\", \"n\": 5, \"on\": true}, "
                 "\"headers\": {\"X-Team\": \"blue\", \"Accept\": \"application/vnd.x+json\"}}",
                 port);
  json_t *d = restt_only_data(&r);
  cr_assert_str_eq(str_at(d, "method"), "DELETE");
  cr_assert_str_eq(str_at(d, "query"), "fixed=1&q=a+b%26c&n=5&on=true");
  cr_assert_str_eq(str_at(d, "headers.x-team"), "blue");
  cr_assert_str_eq(str_at(d, "headers.accept"), "application/vnd.x+json");
  restt_run_free(&r);
}

Test(rest_basic, secret_query_is_sent_and_never_shown) {
  /* An API key in the URL: the server gets it, meta.url masks it (and
   * a name that needs encoding is still found). */
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/echo?fixed=1\", \"query\": {\"q\": "
                           "\"x\"}, \"secret_query\": {\"appid\": \"s3cr3t\", \"api key\": "
                           "\"k&y\"}}",
                           port);
  json_t *d = restt_only_data(&r);
  cr_assert_str_eq(str_at(d, "query"), "fixed=1&q=x&appid=s3cr3t&api+key=k%26y");
  const char *url = json_string_value(
      json_object_get(json_object_get(json_array_get(r.records, 0), "meta"), "url"));
  cr_assert_not_null(url);
  cr_assert_not_null(strstr(url, "/echo?fixed=1&q=x&appid=****&api+key=****"), "%s", url);
  cr_assert_null(strstr(url, "s3cr3t"), "%s", url);
  restt_run_free(&r);
}

Test(rest_basic, string_body_is_sent_as_is) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/echo\", \"method\": \"POST\", "
                           "\"body\": \"a=1&b=2\", \"headers\": {\"Content-Type\": "
                           "\"application/x-www-form-urlencoded\"}}",
                           port);
  json_t *d = restt_only_data(&r);
  cr_assert_str_eq(str_at(d, "method"), "POST");
  cr_assert_str_eq(str_at(d, "body"), "a=1&b=2");
  cr_assert_str_eq(str_at(d, "headers.content-type"), "application/x-www-form-urlencoded");
  restt_run_free(&r);
}

Test(rest_basic, json_body_is_serialized_with_content_type) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/echo\", \"method\": \"PUT\", "
                           "\"body\": {\"query\": [1, 2], \"x\": null}}",
                           port);
  json_t *d = restt_only_data(&r);
  cr_assert_str_eq(str_at(d, "method"), "PUT");
  json_t *sent = json_loads(str_at(d, "body"), 0, NULL);
  cr_assert_not_null(sent, "the body is JSON: %s", str_at(d, "body"));
  cr_assert_eq(json_array_size(json_object_get(sent, "query")), 2);
  json_decref(sent);
  cr_assert_str_eq(str_at(d, "headers.content-type"), "application/json");
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/echo\", \"method\": \"PATCH\", "
                 "\"body\": [1]}",
                 port);
  cr_assert_str_eq(str_at(restt_only_data(&r), "method"), "PATCH");
  cr_assert_str_eq(str_at(restt_only_data(&r), "body"), "[1]");
  restt_run_free(&r);
}

/* POST, PUT and PATCH without a body send an empty one, its length said
 * (some servers answer 411 without it) and no form Content-Type. */
Test(rest_basic, a_method_without_a_body_sends_an_empty_one) {
  const char *methods[] = {"POST", "PUT", "PATCH"};
  for (size_t i = 0; i < 3; i++) {
    restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/echo\", \"method\": \"%s\"}",
                             port, methods[i]);
    json_t *d = restt_only_data(&r);
    cr_assert_str_eq(str_at(d, "method"), methods[i]);
    cr_assert_str_eq(str_at(d, "headers.content-length"), "0", "%s", methods[i]);
    cr_assert_null(str_at(d, "headers.content-type"), "%s: %s", methods[i],
                   str_at(d, "headers.content-type"));
    restt_run_free(&r);
  }
}

Test(rest_basic, head_and_no_content_emit_null) {
  restt_run r =
      restt_once("", "{\"url\": \"http://127.0.0.1:%d/json\", \"method\": \"HEAD\"}", port);
  cr_assert(json_is_null(restt_only_data(&r)));
  restt_run_free(&r);
  /* No body comes, so a length over max_body_bytes is no error. */
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/headbig\", \"method\": \"HEAD\", "
                 "\"max_body_bytes\": \"1MiB\"}",
                 port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(json_is_null(restt_only_data(&r)));
  restt_run_free(&r);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/empty\"}", port);
  cr_assert(json_is_null(restt_only_data(&r)));
  cr_assert_eq(json_integer_value(json_object_get(
                   json_object_get(json_array_get(r.records, 0), "meta"), "status")),
               204);
  restt_run_free(&r);
}

Test(rest_basic, gzip_is_decoded) {
  restt_run r =
      restt_once("", "{\"url\": \"http://127.0.0.1:%d/gzip\", \"select\": \"/items\"}", port);
  cr_assert_eq(json_array_size(restt_only_data(&r)), 3);
  restt_run_free(&r);
}

Test(rest_basic, basic_auth) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/basic\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "HTTP 401"), "%s", r.err);
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/basic\", \"basic\": {\"user\": \"alice\", "
                 "\"password\": \"s3cret\"}}",
                 port);
  cr_assert(json_is_true(json_object_get(restt_only_data(&r), "authorized")));
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/basic\", \"basic\": {\"user\": \"alice\", "
                 "\"password\": \"wrong\"}}",
                 port);
  cr_assert_eq(r.status, 1);
  restt_run_free(&r);
}

Test(rest_basic, a_password_in_the_url_is_used_and_never_shown) {
  restt_run r = restt_once("", "{\"url\": \"http://alice:s3cret@127.0.0.1:%d/basic\"}", port);
  cr_assert(json_is_true(json_object_get(restt_only_data(&r), "authorized")));
  json_t *meta = json_object_get(json_array_get(r.records, 0), "meta");
  char want[128];
  snprintf(want, sizeof(want), "http://alice:****@127.0.0.1:%d/basic", port);
  cr_assert_str_eq(json_string_value(json_object_get(meta, "url")), want);
  restt_run_free(&r);
  /* A failing round's message and the summary do not show it either. */
  r = restt_once("", "{\"url\": \"http://alice:s3cret@127.0.0.1:%d/status?code=500\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_null(strstr(r.err, "s3cret"), "%s", r.err);
  restt_run_free(&r);
  /* Nor does a pagination loop's. */
  r = restt_once("",
                 "{\"url\": \"http://alice:s3cret@127.0.0.1:%d/next?page=1&loop=1\", "
                 "\"paginate\": {\"type\": \"next_url\", \"next_url\": \"/links/next\"}}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "pagination loop"), "%s", r.err);
  cr_assert_null(strstr(r.err, "s3cret"), "%s", r.err);
  restt_run_free(&r);
}

/* A server that repeats the credentials it refused: the URL's password
 * is masked there as basic's is. */
Test(rest_basic, a_password_in_the_url_that_a_server_echoes_is_masked) {
  restt_run r = restt_once("", "{\"url\": \"http://alice:WRONGPASS1@127.0.0.1:%d/whoami\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "HTTP 401: "), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "alice:****"), "%s", r.err);
  cr_assert_null(strstr(r.err, "WRONGPASS1"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_basic, bearer_auth) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/bearer\"}", port);
  cr_assert_eq(r.status, 1);
  restt_run_free(&r);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/bearer\", \"bearer\": \"tok-123\"}", port);
  cr_assert(json_is_true(json_object_get(restt_only_data(&r), "authorized")));
  cr_assert_null(strstr(r.err, "tok-123"), "the token never appears: %s", r.err);
  restt_run_free(&r);
}

/* bearer_file is read at the start and again in the first round after it
 * changes (a Kubernetes token replaced by a new file, or rewritten), and
 * the token it holds is masked like bearer's. */
Test(rest_basic, bearer_file_is_read_again_when_it_changes) {
  char *dir = tmp_dir();
  char tok[512];
  snprintf(tok, sizeof(tok), "%s/token", dir);
  cr_assert_eq(tmp_write_at(tok, "tok-123\n"), 0);
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/bearer\", \"bearer_file\": \"%s\"}",
                           port, tok);
  cr_assert_eq(r.status, 0, "the newline is not the token's: %s", r.err);
  cr_assert(json_is_true(json_object_get(restt_only_data(&r), "authorized")));
  restt_run_free(&r);
  /* A continuous run: the file is replaced, and a later round sends the
   * new token (the server echoes the headers it got). */
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": [{\"name\": "
                        "\"k\", \"plugin\": \"rest\", \"interval\": \"100ms\", \"options\": "
                        "{\"url\": \"http://127.0.0.1:%d/echo\", \"bearer_file\": \"%s\"}}]}",
                        SIPHON_PLUGIN_DIR, port, tok);
  tproc p;
  const char *argv[] = {SIPHON_BIN, "-c", cfg, NULL};
  cr_assert_eq(tproc_start(&p, argv, NULL), 0);
  cr_assert(tproc_wait_stdout(&p, "Bearer tok-123", 5000), "%s", p.err);
  char next[520];
  snprintf(next, sizeof(next), "%s.new", tok);
  cr_assert_eq(tmp_write_at(next, "rotated-token-456"), 0);
  cr_assert_eq(rename(next, tok), 0);
  cr_assert(tproc_wait_stdout(&p, "Bearer rotated-token-456", 5000), "%s", p.err);
  /* Rewritten in place (a new size and time, the same inode). */
  cr_assert_eq(tmp_write_at(tok, "rewritten-token-7890"), 0);
  cr_assert(tproc_wait_stdout(&p, "Bearer rewritten-token-7890", 5000), "%s", p.err);
  tproc_kill(&p, SIGTERM);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  tproc_free(&p);
  tmp_discard(cfg);
  /* A server that echoes the token it refused: masked, as bearer's is. */
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/echoerr\", \"bearer_file\": \"%s\"}", port,
                 tok);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "Bearer ****"), "%s", r.err);
  cr_assert_null(strstr(r.err, "rewritten-token-7890"), "%s", r.err);
  restt_run_free(&r);
  /* A file that is not there, or holds no token, is --check's error. */
  cr_assert_eq(unlink(tok), 0);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/bearer\", \"bearer_file\": \"%s\"}", port,
                 tok);
  cr_assert_eq(r.status, 2);
  cr_assert_not_null(strstr(r.err, "sources[0].options.bearer_file: cannot read "), "%s", r.err);
  restt_run_free(&r);
  cr_assert_eq(tmp_write_at(tok, "\n"), 0);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/bearer\", \"bearer_file\": \"%s\"}", port,
                 tok);
  cr_assert_eq(r.status, 2);
  cr_assert_not_null(strstr(r.err, "holds no token (the file is empty)"), "%s", r.err);
  restt_run_free(&r);
  tmp_rmtree(dir);
  free(dir);
}

Test(rest_basic, error_status_carries_first_200_bytes) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/status?code=503\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0);
  cr_assert_not_null(strstr(r.err, "HTTP 503: status 503 body: xxx"), "%s", r.err);
  cr_assert_null(strstr(r.err, "TAIL"), "only the first 200 bytes: %s", r.err);
  restt_run_free(&r);
  /* An error without a body says so, rather than end at the colon. */
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/status?code=500&empty=1\"}", port);
  cr_assert_not_null(strstr(r.err, "HTTP 500: (an empty body)"), "%s", r.err);
  restt_run_free(&r);
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/nope\"}", port);
  cr_assert_not_null(strstr(r.err, "HTTP 404: {\"error\":\"no such route\"}"), "%s", r.err);
  restt_run_free(&r);
  /* An HTML error page reads as its text, on one line. */
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/htmlerror\"}", port);
  cr_assert_not_null(
      strstr(r.err, "HTTP 404: Error response Error code: 404 Message: File not found."), "%s",
      r.err);
  restt_run_free(&r);
}

Test(rest_basic, accept_status_widens_success) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/nope\", \"accept_status\": "
                           "[404]}",
                           port);
  cr_assert_str_eq(json_string_value(json_object_get(restt_only_data(&r), "error")),
                   "no such route");
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/status?code=503\", \"format\": \"text\", "
                 "\"accept_status\": [\"400-404\", \"5xx\"]}",
                 port);
  cr_assert(json_is_string(restt_only_data(&r)));
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/status?code=500\", \"format\": \"text\", "
                 "\"accept_status\": [\"501-599\", 404]}",
                 port);
  cr_assert_eq(r.status, 1, "500 is outside every accepted range");
  restt_run_free(&r);
}

Test(rest_basic, file_url_goes_through_select_and_split) {
  char *path = tmp_write("data.json", "{\"rows\": [{\"a\": 1}, {\"a\": 2}]}");
  restt_run r =
      restt_once("", "{\"url\": \"file://%s\", \"select\": \"/rows\", \"split\": true}", path);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 2);
  cr_assert_eq(json_integer_value(
                   json_object_get(json_object_get(json_array_get(r.records, 1), "data"), "a")),
               2);
  restt_run_free(&r);
  *strrchr(path, '/') = '\0';
  tmp_rmtree(path);
  free(path);
}

/* A UTF-8 byte order mark before the JSON is skipped (RFC 8259 lets a
 * parser ignore it), and an error after it counts it in the offset. */
Test(rest_basic, a_byte_order_mark_is_skipped) {
  char *path = tmp_write("bom.json", "\xef\xbb\xbf{\"a\": 1}");
  restt_run r = restt_once("", "{\"url\": \"file://%s\", \"select\": \"/a\"}", path);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_integer_value(restt_only_data(&r)), 1);
  restt_run_free(&r);
  *strrchr(path, '/') = '\0';
  tmp_rmtree(path);
  free(path);
  path = tmp_write("bom.json", "\xef\xbb\xbf{\"a\": ,}");
  r = restt_once("", "{\"url\": \"file://%s\"}", path);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "invalid JSON at byte 9"), "%s", r.err);
  restt_run_free(&r);
  /* A directory is no file: libcurl would read it as empty. */
  *strrchr(path, '/') = '\0';
  r = restt_once("", "{\"url\": \"file://%s\"}", path);
  cr_assert_eq(r.status, 2);
  cr_assert_not_null(strstr(r.err, "is a directory: expected a file"), "%s", r.err);
  restt_run_free(&r);
  tmp_rmtree(path);
  free(path);
}

/* A uint64 beyond jansson's integers (a byte total) does not fail the
 * round: the page's integers are read as reals. */
Test(rest_basic, an_integer_beyond_64_bits_is_read_as_a_real) {
  char *path = tmp_write("big.json", "{\"bytes\": 18446744073709551615, \"n\": 3}");
  restt_run r = restt_once("", "{\"url\": \"file://%s\"}", path);
  cr_assert_eq(r.status, 0, "%s", r.err);
  json_t *d = restt_only_data(&r);
  cr_assert(json_is_real(json_object_get(d, "bytes")), "%s", r.err);
  cr_assert_float_eq(json_real_value(json_object_get(d, "bytes")), 18446744073709551615.0, 1e4);
  cr_assert(json_is_real(json_object_get(d, "n")));
  cr_assert_float_eq(json_real_value(json_object_get(d, "n")), 3.0, 1e-9);
  restt_run_free(&r);
  *strrchr(path, '/') = '\0';
  tmp_rmtree(path);
  free(path);
}

/* An error page that repeats the credentials it refused: the round's
 * message quotes it with every secret of the source's masked. */
Test(rest_basic, secrets_a_server_echoes_are_masked) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/echoerr\", "
                           "\"secret_query\": {\"appid\": \"S3CRETKEY\"}, "
                           "\"bearer\": \"TOKEN1234\", \"headers\": {\"X-Key\": \"HDR/SECRET\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "HTTP 403: "), "%s", r.err);
  cr_assert_null(strstr(r.err, "S3CRETKEY"), "%s", r.err);
  cr_assert_null(strstr(r.err, "TOKEN1234"), "%s", r.err);
  cr_assert_null(strstr(r.err, "HDR/SECRET"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "appid=****"), "%s", r.err);
  restt_run_free(&r);
}

/* The forms a server echoes credentials in, besides the config's own:
 * the Authorization value of basic (and of a url's user and password),
 * base64 of "user:password"; a url's password, which is a secret as
 * basic's is; and the token of an Authorization header without its
 * scheme ("Bearer "). */
Test(rest_basic, credentials_a_server_echoes_in_other_forms_are_masked) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/echoerr\", "
                           "\"basic\": {\"user\": \"alice\", \"password\": \"s3cretpw\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "HTTP 403: "), "%s", r.err);
  cr_assert_null(strstr(r.err, "YWxpY2U6czNjcmV0cHc="), "base64 of alice:s3cretpw: %s", r.err);
  restt_run_free(&r);
  r = restt_once("", "{\"url\": \"http://alice:s3cretpw@127.0.0.1:%d/echoerr?pw=s3cretpw\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "HTTP 403: "), "%s", r.err);
  cr_assert_null(strstr(r.err, "s3cretpw"), "%s", r.err);
  cr_assert_null(strstr(r.err, "YWxpY2U6czNjcmV0cHc="), "%s", r.err);
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/echoerr?t=TOKEN5678\", "
                 "\"headers\": {\"Authorization\": \"Bearer TOKEN5678\"}}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "HTTP 403: "), "%s", r.err);
  cr_assert_null(strstr(r.err, "TOKEN5678"), "%s", r.err);
  restt_run_free(&r);
}

/* The masking's edges: a secret cut by the 200-byte excerpt, one inside
 * another, a space that the query writes as '+'; a header that carries no
 * credential (Accept) is not masked. */
Test(rest_basic, secrets_are_masked_cut_nested_or_plus_encoded) {
  char pad[160];
  memset(pad, 'p', 156);
  pad[156] = '\0';
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/echoerr?x=%s\", "
                           "\"bearer\": \"TOKENSECRET1234567890\"}",
                           port, pad);
  cr_assert_eq(r.status, 1);
  cr_assert_null(strstr(r.err, "TOKENSEC"), "the cut start of the token: %s", r.err);
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/echoerr?type=application/json\", "
                 "\"bearer\": \"abcd1234\", \"secret_query\": {\"appid\": \"my secret key\"}, "
                 "\"headers\": {\"X-Key\": \"abcd1234-LONGSECRETTAIL\", \"Accept\": "
                 "\"application/json\"}}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_null(strstr(r.err, "LONGSECRETTAIL"), "%s", r.err);
  cr_assert_null(strstr(r.err, "my+secret+key"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "type=application/json"), "not a credential: %s", r.err);
  restt_run_free(&r);
}

/* Control characters in an error body (a terminal's ESC sequences, a
 * NUL) are no part of the message, and do not cut it short. */
Test(rest_basic, control_characters_in_an_error_body_are_blanked) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/ctl\"}", port);
  cr_assert_eq(r.status, 1);
  cr_assert_null(strchr(r.err, '\x1b'), "%s", r.err);
  cr_assert_null(strchr(r.err, '\x07'), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "HTTP 500: red [31m bell after nul"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_basic, split_of_a_non_array_warns_and_emits_it_whole) {
  char *path = tmp_write("data.json", "{\"count\": 3}");
  restt_run r =
      restt_once("", "{\"url\": \"file://%s\", \"select\": \"/count\", \"split\": true}", path);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 1);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(r.records, 0), "data")), 3);
  cr_assert(strstr(r.err, "split: the selected value is not an array") != NULL, "%s", r.err);
  restt_run_free(&r);
  *strrchr(path, '/') = '\0';
  tmp_rmtree(path);
  free(path);
}
