/* rest options checked by `siphon --check`: every mistake reported with
 * its JSON path and what was expected; secrets never printed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restt.h"
#include "tmpfile.h"

/* Runs --check over one rest source with `options`; returns stderr. */
static char *check(const char *options, int want_status) {
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": [{\"name\": "
                        "\"s\", \"plugin\": \"rest\", \"options\": %s}]}",
                        SIPHON_PLUGIN_DIR, options);
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, want_status, "--check exit %d for %s: %s", st, options, p.err);
  char *err = strdup(p.err);
  tproc_free(&p);
  char *d = strdup(cfg);
  *strrchr(d, '/') = '\0';
  tmp_rmtree(d);
  free(d);
  free(cfg);
  return err;
}

static void expect(const char *options, const char *where, const char *what) {
  char *err = check(options, 2);
  cr_assert_not_null(strstr(err, where), "expected %s in: %s", where, err);
  cr_assert_not_null(strstr(err, what), "expected %s in: %s", what, err);
  free(err);
}

Test(rest_config, good_options_pass) {
  free(
      check("{\"url\": \"https://api.example.com/v1\", \"query\": {\"a\": 1}, "
            "\"paginate\": {\"type\": \"next_url\", \"next_url\": \"/next\"}, "
            "\"accept_status\": [404, \"5xx\", \"300-304\"], \"select\": \"\"}",
            0));
}

Test(rest_config, url) {
  expect("{}", "sources[0].options", "missing required option \"url\"");
  expect("{\"url\": \"ftp://x/\"}", "sources[0].options.url", "http, https or file");
  expect("{\"url\": \"not a url\"}", "sources[0].options.url", "absolute");
}

/* The plugin's own check of a substituted value names the variable. */
Test(rest_config, a_url_from_the_environment_names_its_variable) {
  setenv("SIPHON_TEST_PORT", "abc", 1);
  expect("{\"url\": \"http://127.0.0.1:${SIPHON_TEST_PORT}/x\"}", "sources[0].options.url",
         "(the value came from ${SIPHON_TEST_PORT})");
  unsetenv("SIPHON_TEST_PORT");
}

/* A token with a line break would end the header and start another
 * (header injection); an empty one is an unset variable. Neither is
 * sent, and the token is never shown. A proxy URL libcurl would refuse
 * at the first round, with its password in the message, is refused now,
 * masked. */
Test(rest_config, bearer_and_proxy_are_checked_and_never_shown) {
  expect("{\"url\": \"http://x/\", \"bearer\": \"T0K\\r\\nX-Injected: 1\"}",
         "sources[0].options.bearer", "holds a line break");
  expect("{\"url\": \"http://x/\", \"bearer\": \"\"}", "sources[0].options.bearer", "is empty");
  char *e = check("{\"url\": \"http://x/\", \"bearer\": \"T0K\\n\"}", 2);
  cr_assert_null(strstr(e, "T0K"), "%s", e);
  free(e);
  expect("{\"url\": \"http://x/\", \"proxy\": \"http://u:PROXYPASS@127.0.0.1:abc\"}",
         "sources[0].options.proxy", "\"http://u:****@127.0.0.1:abc\": Port number");
  e = check("{\"url\": \"http://x/\", \"proxy\": \"http://u:PROXYPASS@127.0.0.1:abc\"}", 2);
  cr_assert_null(strstr(e, "PROXYPASS"), "%s", e);
  free(e);
  e = check("{\"url\": \"http://x/\", \"proxy\": \"u:PROXYPASS@pro xy:3128\"}", 2);
  cr_assert_null(strstr(e, "PROXYPASS"), "without a scheme too: %s", e);
  free(e);
  /* A scheme libcurl has no proxy for fails every round with a message
   * that quotes the proxy whole, password included: refused here. */
  expect("{\"url\": \"http://x/\", \"proxy\": \"foo://u:PROXYPASS@127.0.0.1:3128\"}",
         "sources[0].options.proxy", "\"foo://u:****@127.0.0.1:3128\": a scheme");
  e = check("{\"url\": \"http://x/\", \"proxy\": \"foo://u:PROXYPASS@127.0.0.1:3128\"}", 2);
  cr_assert_null(strstr(e, "PROXYPASS"), "%s", e);
  free(e);
  free(check("{\"url\": \"http://x/\", \"proxy\": \"socks5h://u:p@127.0.0.1:1080\"}", 0));
  free(check("{\"url\": \"http://x/\", \"proxy\": \"proxy.corp:3128\"}", 0));
  /* "" is libcurl's "no proxy", even with http_proxy set. */
  free(check("{\"url\": \"http://x/\", \"proxy\": \"\"}", 0));
}

Test(rest_config, cursor_param_is_a_name) {
  expect(
      "{\"url\": \"http://x/\", \"paginate\": {\"type\": \"cursor\", \"cursor\": \"/c\", "
      "\"cursor_param\": \"\"}}",
      "sources[0].options.paginate.cursor_param", "expected a query parameter's name");
}

Test(rest_config, method_choices) {
  expect("{\"url\": \"http://x/\", \"method\": \"GTE\"}", "sources[0].options.method", "GET");
  expect("{\"url\": \"http://x/\", \"body\": \"x\"}", "sources[0].options.body", "POST");
}

Test(rest_config, headers_and_query) {
  expect("{\"url\": \"http://x/\", \"headers\": {\"X\": 1}}", "sources[0].options.headers.X",
         "expected a string header value, got a number");
  expect("{\"url\": \"http://x/\", \"headers\": {\"Bad Name\": \"v\"}}",
         "sources[0].options.headers[\"Bad Name\"]", "header name");
  expect("{\"url\": \"http://x/\", \"query\": {\"q\": [1]}}", "sources[0].options.query.q",
         "expected a string, number or boolean, got an array");
  /* A key with a dot is bracketed, as the host writes paths. */
  expect("{\"url\": \"http://x/\", \"query\": {\"a.b\": [1]}}",
         "sources[0].options.query[\"a.b\"]: expected a string", "");
}

Test(rest_config, pointers_and_statuses) {
  expect("{\"url\": \"http://x/\", \"select\": \"items\"}", "sources[0].options.select",
         "JSON Pointer");
  expect("{\"url\": \"http://x/\", \"accept_status\": [\"4xy\"]}",
         "sources[0].options.accept_status[0]", "\"4xx\"");
  expect("{\"url\": \"http://x/\", \"accept_status\": [700]}",
         "sources[0].options.accept_status[0]", "range");
}

Test(rest_config, paginate) {
  expect("{\"url\": \"http://x/\", \"paginate\": {}}", "sources[0].options.paginate.type",
         "required");
  expect("{\"url\": \"http://x/\", \"paginate\": {\"type\": \"pages\"}}",
         "sources[0].options.paginate.type", "link_header");
  expect("{\"url\": \"http://x/\", \"paginate\": {\"type\": \"cursor\"}}",
         "sources[0].options.paginate.cursor", "required");
  expect("{\"url\": \"http://x/\", \"paginate\": {\"type\": \"next_url\"}}",
         "sources[0].options.paginate.next_url", "required");
  expect("{\"url\": \"http://x/\", \"paginate\": {\"type\": \"link_header\", \"nxt\": \"/a\"}}",
         "sources[0].options.paginate.nxt", "unknown key");
  expect("{\"url\": \"http://x/\", \"paginate\": {\"type\": \"next_url\", \"next_url\": 1}}",
         "sources[0].options.paginate.next_url", "expected a string, got a number");
  expect("{\"url\": \"http://x/\", \"max_pages\": 0}", "sources[0].options.max_pages",
         "at least 1");
}

Test(rest_config, limits) {
  expect("{\"url\": \"http://x/\", \"max_body_bytes\": 0}", "sources[0].options.max_body_bytes",
         "positive");
  expect("{\"url\": \"http://x/\", \"max_redirects\": -1}", "sources[0].options.max_redirects",
         "0 or more");
  expect("{\"url\": \"http://x/\", \"max_connections\": -1}", "sources[0].options.max_connections",
         "0 (no cap)");
  expect("{\"url\": \"http://x/\", \"client_key\": \"k.pem\"}", "sources[0].options.client_key",
         "client_cert");
  expect("{\"url\": \"http://x/\", \"format\": \"xml\"}", "sources[0].options.format", "json");
}

Test(rest_config, tls_files_are_found_by_check) {
  /* Not first by every round's "could not load PEM client certificate". */
  expect("{\"url\": \"https://127.0.0.1:1/\", \"ca_file\": \"/nonexistent-siphon/ca.pem\"}",
         "sources[0].options.ca_file",
         "cannot read /nonexistent-siphon/ca.pem: No such file or directory");
  expect("{\"url\": \"https://127.0.0.1:1/\", \"client_cert\": \"/tmp\"}",
         "sources[0].options.client_cert", "/tmp is not a file");
  /* Only found, not parsed: a readable file passes, its key does not. */
  expect(
      "{\"url\": \"https://127.0.0.1:1/\", \"client_cert\": \"/etc/passwd\", "
      "\"client_key\": \"/nonexistent-siphon/client.key\"}",
      "sources[0].options.client_key", "cannot read /nonexistent-siphon/client.key");
}

Test(rest_config, bad_port_says_so) {
  expect("{\"url\": \"http://127.0.0.1:99999/x\"}", "sources[0].options.url",
         "got \"http://127.0.0.1:99999/x\": Port number was not a decimal number between 0 and "
         "65535");
}

Test(rest_config, headers_never_printed_by_check) {
  /* Many APIs take their key in a header, and a login its password in
   * the body: --check's listing of the source must show neither. */
  char *cfg = tmp_write("siphon.json",
                        "{\"siphon\": {\"plugin_path\": [\"%s\"]}, \"sources\": [{\"name\": "
                        "\"s\", \"plugin\": \"rest\", \"options\": {\"url\": \"http://x/\", "
                        "\"headers\": {\"X-Api-Key\": \"s3cr3t\"}, \"secret_query\": "
                        "{\"appid\": \"s3cr3t\"}, \"method\": \"POST\", \"body\": "
                        "{\"user\": \"u\", \"password\": \"s3cr3t\"}}}]}",
                        SIPHON_PLUGIN_DIR);
  tproc p;
  int st = tproc_siphon(&p, 10000, "--check", "-c", cfg, NULL);
  cr_assert_eq(st, 0, "%s", p.err);
  cr_assert(strstr(p.out, "\"headers\":\"********\"") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "\"secret_query\":\"********\"") != NULL, "%s", p.out);
  cr_assert(strstr(p.out, "\"body\":\"********\"") != NULL, "%s", p.out);
  cr_assert_null(strstr(p.out, "s3cr3t"), "%s", p.out);
  cr_assert_null(strstr(p.err, "s3cr3t"), "%s", p.err);
  tproc_free(&p);
  char *d = strdup(cfg);
  *strrchr(d, '/') = '\0';
  tmp_rmtree(d);
  free(d);
  free(cfg);
}

/* A connect_timeout over the source's timeout never applies: said at
 * start, not of the default (which a short interval never chose). */
Test(rest_config, a_connect_timeout_the_timeout_cuts_short_is_warned_of) {
  char *err = check("{\"url\": \"http://x/\", \"connect_timeout\": \"1h\"}", 0);
  cr_assert_not_null(strstr(err,
                            "[s] connect_timeout (3600.000 s) is longer than the source's "
                            "timeout (10.000 s)"),
                     "%s", err);
  free(err);
  err = check("{\"url\": \"http://x/\", \"connect_timeout\": \"2s\"}", 0);
  cr_assert_null(strstr(err, "connect_timeout"), "%s", err);
  free(err);
}

Test(rest_config, bearer_file_is_the_one_authorization) {
  expect("{\"url\": \"http://x/\", \"bearer_file\": \"/t\", \"bearer\": \"tok-zzz\"}",
         "sources[0].options.bearer_file",
         "set one of basic, bearer and bearer_file, not bearer too");
  expect(
      "{\"url\": \"http://x/\", \"bearer_file\": \"/t\", \"basic\": {\"user\": \"u\", "
      "\"password\": \"p\"}}",
      "sources[0].options.bearer_file", "set one of basic, bearer and bearer_file, not basic too");
  expect(
      "{\"url\": \"http://x/\", \"bearer_file\": \"/t\", \"headers\": {\"Authorization\": "
      "\"Bearer x\"}}",
      "sources[0].options.headers.Authorization",
      "and bearer_file both set the Authorization header");
}

Test(rest_config, secret_query_given_once) {
  expect(
      "{\"url\": \"http://x/\", \"query\": {\"appid\": \"a\"}, \"secret_query\": "
      "{\"appid\": \"s3cr3t\"}}",
      "sources[0].options.secret_query.appid", "is in query too");
  expect("{\"url\": \"http://x/\", \"secret_query\": {\"a=b\": \"s3cr3t\"}}",
         "sources[0].options.secret_query[\"a=b\"]", "a query parameter's name cannot hold '='");
}

Test(rest_config, auth_and_secrets_never_printed) {
  char *err = check(
      "{\"url\": \"http://x/\", \"basic\": {\"user\": \"u\", \"password\": "
      "\"hunter2\"}, \"bearer\": \"tok-zzz\"}",
      2);
  cr_assert_not_null(strstr(err, "not both"), "%s", err);
  cr_assert_null(strstr(err, "hunter2"), "%s", err);
  cr_assert_null(strstr(err, "tok-zzz"), "%s", err);
  free(err);
  expect("{\"url\": \"http://x/\", \"basic\": {\"password\": \"hunter2\"}}",
         "sources[0].options.basic", "missing required key \"user\"");
  /* A wrong password says its type, never its value. */
  err = check("{\"url\": \"http://x/\", \"basic\": {\"user\": \"u\", \"password\": 12345678}}", 2);
  cr_assert_not_null(strstr(err, "basic.password: expected a string, got a number"), "%s", err);
  cr_assert_null(strstr(err, "12345678"), "%s", err);
  free(err);
  err =
      check("{\"url\": \"ftp://x/\", \"basic\": {\"user\": \"u\", \"password\": \"hunter2\"}}", 2);
  cr_assert_null(strstr(err, "hunter2"), "%s", err);
  free(err);
}

/* A secret given with the wrong type: the message says its type, never
 * the value (which is still the token). */
Test(rest_config, a_secret_of_the_wrong_type_is_not_shown) {
  char *err = check(
      "{\"url\": \"http://x/\", \"headers\": \"X-Key: supersecret\", "
      "\"bearer\": 123456, \"basic\": \"alice:s3cr3t\"}",
      2);
  cr_assert_not_null(
      strstr(err, "headers: expected an object, got a string (not shown: the option is secret)"),
      "%s", err);
  cr_assert_not_null(strstr(err, "bearer: expected a string, got a number (not shown"), "%s", err);
  cr_assert_null(strstr(err, "supersecret"), "%s", err);
  cr_assert_null(strstr(err, "123456"), "%s", err);
  cr_assert_null(strstr(err, "s3cr3t"), "%s", err);
  free(err);
  /* A URL that does not parse keeps its password hidden too. */
  err = check("{\"url\": \"http://alice:PASSW0RD@127.0.0.1:99999/\"}", 2);
  cr_assert_not_null(strstr(err, "got \"http://alice:****@127.0.0.1:99999/\""), "%s", err);
  cr_assert_null(strstr(err, "PASSW0RD"), "%s", err);
  free(err);
}

/* Credentials given twice are refused, rather than one silently winning. */
Test(rest_config, credentials_given_twice_are_refused) {
  expect(
      "{\"url\": \"http://x/\", \"bearer\": \"t\", \"headers\": {\"Authorization\": \"Token a\"}}",
      "sources[0].options.headers.Authorization",
      "and bearer both set the Authorization header: keep one");
  expect("{\"url\": \"http://bob:pw@x/\", \"basic\": {\"user\": \"a\", \"password\": \"b\"}}",
         "sources[0].options.url", "holds a user, and basic gives one too: keep one");
  expect("{\"url\": \"http://x/\", \"basic\": {\"user\": \"alice\"}}", "sources[0].options.basic",
         "missing required key \"password\" (write \"\" for an API");
  expect("{\"url\": \"http://x/\", \"basic\": {\"user\": \"a:b\", \"password\": \"\"}}",
         "sources[0].options.basic.user", "cannot hold ':'");
  expect(
      "{\"url\": \"http://x/\", \"headers\": {\"Content-Type\": \"a\", \"content-type\": \"b\"}}",
      "sources[0].options.headers.content-type",
      "is headers.Content-Type again (header names ignore case)");
}

/* A key in a custom header goes along followed redirects: said at start. */
Test(rest_config, a_key_header_with_redirects_followed_is_warned_about) {
  char *err =
      check("{\"url\": \"http://x/\", \"headers\": {\"X-Api-Key\": \"k\", \"Accept\": \"a\"}}", 0);
  cr_assert_not_null(strstr(err, "[s] headers.X-Api-Key goes along every redirect"), "%s", err);
  cr_assert_null(strstr(err, "headers.Accept goes"), "%s", err);
  free(err);
  err = check(
      "{\"url\": \"http://x/\", \"follow_redirects\": false, \"headers\": {\"X-Api-Key\": "
      "\"k\"}}",
      0);
  cr_assert_null(strstr(err, "goes along"), "%s", err);
  free(err);
}

/* Options that could never take effect are refused at --check, where
 * they used to fail every round or do nothing. */
Test(rest_config, options_that_never_take_effect_are_refused) {
  expect(
      "{\"url\": \"http://x/\", \"paginate\": {\"type\": \"cursor\", \"cursor\": \"/c\", "
      "\"next_url\": \"/n\"}}",
      "sources[0].options.paginate.next_url",
      "is not used by type cursor (only by type next_url): remove it");
  expect(
      "{\"url\": \"http://x/\", \"paginate\": {\"type\": \"link_header\", \"cursor_param\": "
      "\"c\"}}",
      "sources[0].options.paginate.cursor_param", "is not used by type link_header");
  expect("{\"url\": \"http://x/\", \"format\": \"text\", \"select\": \"/a\"}",
         "sources[0].options.select", "format \"text\" gives a string");
  expect("{\"url\": \"http://x/\", \"method\": \"HEAD\", \"select\": \"/a\"}",
         "sources[0].options.select", "method HEAD has none");
  /* A pointer into the body finds no next page there: one page a round,
   * and not a word of why. */
  expect(
      "{\"url\": \"http://x/\", \"format\": \"text\", \"paginate\": {\"type\": \"next_url\", "
      "\"next_url\": \"/next\"}}",
      "sources[0].options.paginate.type", "format \"text\" gives a string");
  expect(
      "{\"url\": \"http://x/\", \"method\": \"HEAD\", \"paginate\": {\"type\": \"cursor\", "
      "\"cursor\": \"/c\"}}",
      "sources[0].options.paginate.type", "method HEAD has none");
}

Test(rest_config, slips_get_a_pointed_message) {
  expect("{\"url\": \"http://x/\", \"accept_status\": [\"404-400\"]}",
         "sources[0].options.accept_status[0]", "the range runs backwards: write \"400-404\"");
  expect("{\"url\": \"http://x/\", \"paginate\": {\"type\": \"linkheader\"}}",
         "sources[0].options.paginate.type", "did you mean \"link_header\"?");
}
