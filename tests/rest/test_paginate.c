/* rest end to end: pagination in one round (Link header, next URL in the
 * body, cursor), max_pages, loops, and the round's timeout over pages. */
#include <criterion/criterion.h>
#include <string.h>

#include "restt.h"

RESTT_SUITE(rest_paginate);

/* The records' data joined by ',' ("11,12,21"). */
static char *joined(const restt_run *r) {
  static char buf[1024];
  buf[0] = '\0';
  for (size_t i = 0; i < json_array_size(r->records); i++) {
    json_t *rec = json_array_get(r->records, i);
    char *d = json_dumps(json_object_get(rec, "data"), JSON_ENCODE_ANY | JSON_COMPACT);
    strncat(buf, i ? "," : "", sizeof(buf) - strlen(buf) - 1);
    strncat(buf, d, sizeof(buf) - strlen(buf) - 1);
    free(d);
  }
  return buf;
}

static json_int_t page_of(const restt_run *r, size_t i) {
  return json_integer_value(
      json_object_get(json_object_get(json_array_get(r->records, i), "meta"), "page"));
}

Test(rest_paginate, link_header) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/link?page=1&pages=3\", "
                           "\"select\": \"/items\", \"split\": true, "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "11,12,21,22,31,32");
  cr_assert_eq(page_of(&r, 0), 1);
  cr_assert_eq(page_of(&r, 5), 3);
  restt_run_free(&r);
}

Test(rest_paginate, without_paginate_only_the_first_page) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/link?page=1&pages=3\", "
                           "\"select\": \"/items\", \"split\": true}",
                           port);
  cr_assert_str_eq(joined(&r), "11,12");
  restt_run_free(&r);
}

Test(rest_paginate, next_url_relative) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/next?pages=4\", "
                           "\"select\": \"/data\", \"split\": true, "
                           "\"paginate\": {\"type\": \"next_url\", \"next_url\": \"/links/next\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "{\"page\":1},{\"page\":2},{\"page\":3},{\"page\":4}");
  restt_run_free(&r);
}

Test(rest_paginate, cursor_with_default_param) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/cursor\", "
                           "\"query\": {\"pages\": 3}, \"select\": \"/rows\", \"split\": true, "
                           "\"paginate\": {\"type\": \"cursor\", \"cursor\": \"/next_cursor\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "\"r1\",\"r2\",\"r3\"");
  const char *url = json_string_value(
      json_object_get(json_object_get(json_array_get(r.records, 2), "meta"), "url"));
  cr_assert_not_null(strstr(url, "pages=3&cursor=c3"), "%s", url);
  restt_run_free(&r);
}

/* A next cursor of 0 ends the listing, as Twitter's next_cursor does: a
 * cursor 0 could only lead back to the start. */
Test(rest_paginate, a_cursor_of_zero_ends_it) {
  const char *ends[] = {"0", "s0"};
  for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
    restt_run r = restt_once("",
                             "{\"url\": \"http://127.0.0.1:%d/cursor?end=%s\", "
                             "\"query\": {\"pages\": 2}, \"select\": \"/rows\", \"split\": true, "
                             "\"paginate\": {\"type\": \"cursor\", \"cursor\": \"/next_cursor\"}}",
                             port, ends[i]);
    cr_assert_eq(r.status, 0, "end %s: %s", ends[i], r.err);
    cr_assert_str_eq(joined(&r), "\"r1\",\"r2\"", "end %s", ends[i]);
    restt_run_free(&r);
  }
}

Test(rest_paginate, cursor_param) {
  /* The fixture reads the cursor from the parameter `param` names. */
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/cursor?param=after\", "
                           "\"query\": {\"pages\": 2}, \"select\": \"/rows\", \"split\": true, "
                           "\"paginate\": {\"type\": \"cursor\", \"cursor\": \"/next_cursor\", "
                           "\"cursor_param\": \"after\"}}",
                           port);
  cr_assert_str_eq(joined(&r), "\"r1\",\"r2\"");
  restt_run_free(&r);
  /* With the wrong parameter the server never sees the cursor: page 1
   * again, which is a loop. */
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/cursor?param=after\", "
                 "\"query\": {\"pages\": 2}, \"select\": \"/rows\", \"split\": true, "
                 "\"paginate\": {\"type\": \"cursor\", \"cursor\": \"/next_cursor\", "
                 "\"cursor_param\": \"page_token\"}, \"max_pages\": 3}",
                 port);
  cr_assert_str_neq(joined(&r), "\"r1\",\"r2\"");
  restt_run_free(&r);
}

Test(rest_paginate, max_pages_stops_without_error) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/link?page=1&pages=10\", "
                           "\"select\": \"/items\", \"split\": true, \"max_pages\": 2, "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "11,12,21,22");
  cr_assert_not_null(strstr(r.err, "max_pages (2)"), "warned: %s", r.err);
  restt_run_free(&r);
}

Test(rest_paginate, loop_is_an_error_and_emits_nothing) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/next?page=1&loop=1\", "
                           "\"paginate\": {\"type\": \"next_url\", \"next_url\": \"/links/next\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0);
  cr_assert_not_null(strstr(r.err, "pagination loop"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_paginate, a_failing_page_fails_the_round) {
  /* Page 2 of /next points nowhere useful once the select is wrong:
   * here page 1 is fine and the JSON Pointer to the next URL names a
   * number, which is an error. */
  restt_run r =
      restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/next?pages=3\", "
                 "\"paginate\": {\"type\": \"next_url\", \"next_url\": \"/data/0/page\"}}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0, "nothing from page 1 either");
  cr_assert_not_null(strstr(r.err, "is not a URL string"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_paginate, an_http_error_on_a_later_page_names_the_page) {
  /* Page 2 answers 500: the round fails, says which page, and emits
   * nothing of page 1. */
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/next?pages=3&fail=2\", "
                           "\"paginate\": {\"type\": \"next_url\", \"next_url\": \"/links/next\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0, "nothing from page 1 either");
  cr_assert_not_null(strstr(r.err, "page 2: HTTP 500: {\"error\":\"page failed\"}"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_paginate, timeout_bounds_all_pages) {
  /* Every page takes 250 ms, well inside the 700 ms timeout, but four of
   * them do not fit: the round fails and emits none of them. */
  restt_run r = restt_once("\"timeout\": \"700ms\", ",
                           "{\"url\": \"http://127.0.0.1:%d/link?page=1&pages=4&ms=250\", "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 1, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 0);
  /* Either the last request's share of the timeout ran out ("timed
   * out") or the host's deadline came first ("timeout"). */
  cr_assert(strstr(r.err, "timed out") != NULL || strstr(r.err, "timeout") != NULL, "%s", r.err);
  restt_run_free(&r);
  /* Two of them do. */
  r = restt_once("\"timeout\": \"2s\", ",
                 "{\"url\": \"http://127.0.0.1:%d/link?page=1&pages=2&ms=250\", "
                 "\"select\": \"/page\", \"paginate\": {\"type\": \"link_header\"}}",
                 port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "1,2");
  restt_run_free(&r);
}

Test(rest_paginate, a_next_page_waits_for_nothing_but_its_predecessor) {
  /* Each page takes 300 ms at the server (less up to a few ms, its timer
   * counting from a cached clock): that is elapsed_ms. Page 2 is
   * asked for when page 1 is in, so its wait_ms leaves page 1's time out;
   * page 1's is from the round's start, with nothing before it. */
  restt_run r = restt_once("\"timeout\": \"5s\", ",
                           "{\"url\": \"http://127.0.0.1:%d/link?page=1&pages=2&ms=300\", "
                           "\"select\": \"/page\", \"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *meta = json_object_get(json_array_get(r.records, i), "meta");
    double elapsed = json_number_value(json_object_get(meta, "elapsed_ms"));
    double wait = json_number_value(json_object_get(meta, "wait_ms"));
    cr_assert(elapsed >= 280, "page %zu: elapsed_ms %f", i + 1, elapsed);
    cr_assert(wait > 0 && wait < 150, "page %zu: wait_ms %f", i + 1, wait);
  }
  restt_run_free(&r);
}

/* Link headers parsed as RFC 8288 writes them: each case's next page is
 * case 0, whose data is 0; a parser that searches for rel=next stops at
 * the first page, or follows /prev (a 404). */
Test(rest_paginate, link_header_parsed_not_searched) {
  const char *what[] = {
      NULL,
      "spaces around =",
      "a tab before rel",
      "rel=next inside a quoted title",
      "a < and a comma inside a quoted value",
      "a second rel, which does not count",
  };
  for (int k = 1; k <= 5; k++) {
    restt_run r = restt_once("",
                             "{\"url\": \"http://127.0.0.1:%d/linkcase?case=%d\", "
                             "\"select\": \"/case\", \"paginate\": {\"type\": \"link_header\"}}",
                             port, k);
    cr_assert_eq(r.status, 0, "%s: %s", what[k], r.err);
    char want[8];
    snprintf(want, sizeof(want), "%d,0", k);
    cr_assert_str_eq(joined(&r), want, "%s", what[k]);
    restt_run_free(&r);
  }
  /* Unquoted values that are no tokens ("type=text/html", "title=go
   * on") before rel: read to their ';', as browsers do, not taken for
   * the link's end. */
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/linkcase?case=16\", "
                           "\"select\": \"/case\", \"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "16,0");
  restt_run_free(&r);
}

/* A next page from the server goes nowhere but the source's own host: its
 * request would carry the source's credentials and headers. */
Test(rest_paginate, a_next_page_on_another_host_is_not_fetched) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/linkcase?case=6\", "
                           "\"bearer\": \"SEKRET\", \"select\": \"/case\", "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_eq(json_array_size(r.records), 0, "a failed round emits nothing");
  cr_assert_not_null(strstr(r.err,
                            "the next page \"http://elsewhere.invalid/steal\" is not on "
                            "the source's host"),
                     "%s", r.err);
  cr_assert_null(strstr(r.err, "SEKRET"), "%s", r.err);
  restt_run_free(&r);
}

/* Nor to a local file, by a Link or by a URL in the body: the error would
 * show the file's first bytes. */
Test(rest_paginate, a_next_page_is_never_a_local_file) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/linkcase?case=7\", "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "the next page \"file:///etc/hostname\" is not on"), "%s",
                     r.err);
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/linkcase?case=9\", "
                 "\"paginate\": {\"type\": \"next_url\", \"next_url\": \"/next\"}}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "the next page \"file:///etc/hostname\" is not on"), "%s",
                     r.err);
  restt_run_free(&r);
}

/* http:// to https:// on the same host and port is an upgrade, and
 * followed: here page 2's TLS handshake with the plain-HTTP fixture runs
 * out of connect_timeout. On another port it is another origin. */
Test(rest_paginate, a_next_page_may_move_to_https_on_its_host_and_port) {
  restt_run r = restt_once("\"timeout\": \"5s\", ",
                           "{\"url\": \"http://127.0.0.1:%d/linkcase?case=8\", "
                           "\"connect_timeout\": \"300ms\", "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "page 2: "), "%s", r.err);
  cr_assert_null(strstr(r.err, "is not on the source's host"), "%s", r.err);
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"http://127.0.0.1:%d/linkcase?case=12\", "
                 "\"paginate\": {\"type\": \"link_header\"}}",
                 port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "is not on the source's host, scheme and port"), "%s", r.err);
  restt_run_free(&r);
}

/* An empty parameter (";;") is skipped, not the end of the link. */
Test(rest_paginate, an_empty_link_parameter_is_skipped) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/linkcase?case=13\", "
                           "\"select\": \"/case\", \"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "13,0");
  restt_run_free(&r);
}

/* libcurl bounds each header, not their number: 100 KiB of Link headers
 * fail the page instead of growing without end. */
Test(rest_paginate, link_headers_are_bounded) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/manylinks\", "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "page 1: the response's Link headers are over 64 KiB"), "%s",
                     r.err);
  restt_run_free(&r);
  /* Without link_header pagination they are not kept, so not bounded. */
  r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/manylinks\"}", port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  restt_run_free(&r);
}

/* An API key in secret_query goes on to a next page whose link lacks it,
 * and is not added twice to one that has it. */
Test(rest_paginate, secret_query_goes_on_to_the_next_page) {
  const char *want[] = {"page=2&appid=K1", "page=2&appid=theirs"};
  for (int i = 0; i < 2; i++) {
    restt_run r = restt_once("",
                             "{\"url\": \"http://127.0.0.1:%d/linkcase?case=%d\", "
                             "\"secret_query\": {\"appid\": \"K1\"}, "
                             "\"paginate\": {\"type\": \"link_header\"}}",
                             port, 10 + i);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(json_array_size(r.records), 2);
    json_t *page2 = json_object_get(json_array_get(r.records, 1), "data");
    cr_assert_str_eq(json_string_value(json_object_get(page2, "query")), want[i]);
    /* And masked where siphon shows the URL. */
    const char *url = json_string_value(
        json_object_get(json_object_get(json_array_get(r.records, 1), "meta"), "url"));
    cr_assert_null(strstr(url, "K1"), "%s", url);
    restt_run_free(&r);
  }
}

/* "<>" and "<#frag>" are the page itself (RFC 3986): a loop, said so,
 * not a page one directory up. */
/* A password in the URL goes to every page, as basic's does: a next
 * page the server names in full (as GitHub's Link headers do) has no
 * userinfo of its own. */
Test(rest_paginate, a_password_in_the_url_goes_on_to_the_next_page) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://alice:s3cret@127.0.0.1:%d/whoami?pages=3\", "
                           "\"paginate\": {\"type\": \"link_header\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "{\"page\":1},{\"page\":2},{\"page\":3}");
  cr_assert_null(strstr(r.err, "s3cret"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_paginate, a_link_to_the_page_itself_is_a_loop) {
  for (int k = 14; k <= 15; k++) {
    restt_run r = restt_once("",
                             "{\"url\": \"http://127.0.0.1:%d/linkcase?case=%d\", "
                             "\"paginate\": {\"type\": \"link_header\"}}",
                             port, k);
    cr_assert_eq(r.status, 1, "case %d", k);
    cr_assert_not_null(strstr(r.err, "pagination loop: page 2 is"), "case %d: %s", k, r.err);
    restt_run_free(&r);
  }
}

/* A url that carries a first cursor has it replaced by the next one, not
 * joined by it (which servers read as the first again: a loop). */
Test(rest_paginate, a_first_cursor_in_the_url_is_replaced) {
  restt_run r = restt_once("",
                           "{\"url\": \"http://127.0.0.1:%d/cursor?pages=3&cursor=c2\", "
                           "\"select\": \"/rows\", \"split\": true, "
                           "\"paginate\": {\"type\": \"cursor\", \"cursor\": \"/next_cursor\"}}",
                           port);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(joined(&r), "\"r2\",\"r3\"");
  restt_run_free(&r);
}
