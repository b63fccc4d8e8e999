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
