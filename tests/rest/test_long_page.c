/* A long page: its body parsed off the loop and its records written a
 * chunk a loop turn, so that other sources' rounds go on meanwhile. What
 * a user sees: every record of the long page, once and in order, with
 * another source's records among them, and a long body's JSON error
 * still named with its byte offset. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restt.h"

#define LONG_N 100000 /* about 1.3 MB, 196 chunks of records */

RESTT_SUITE(rest_long_page);

Test(rest_long_page, other_sources_are_written_while_a_long_page_is) {
  char sources[1024];
  snprintf(sources, sizeof(sources),
           "[{\"name\": \"long\", \"plugin\": \"rest\", \"interval\": \"1h\", \"timeout\": \"50s\","
           " \"options\": {\"url\": \"http://127.0.0.1:%d/many?n=%d\", \"select\": \"/items\","
           " \"split\": true}},"
           " {\"name\": \"tick\", \"plugin\": \"%s/tick.so\", \"interval\": \"5ms\"}]",
           port, LONG_N, SIPHON_TEST_PLUGIN_DIR);
  /* SIGTERM may come before the long round's last chunk: it finishes in
   * shutdown_grace. */
  json_t *recs = restt_rounds(sources, LONG_N + 50, NULL);
  long next = 0;
  size_t first = 0, last = 0, ticks_between = 0, ticks_seen = 0;
  size_t i;
  json_t *rec;
  json_array_foreach(recs, i, rec) {
    const char *src = json_string_value(json_object_get(rec, "source"));
    cr_assert_not_null(src);
    if (strcmp(src, "tick") == 0) {
      ticks_seen++;
      continue;
    }
    long v = (long)json_integer_value(json_object_get(json_object_get(rec, "data"), "i"));
    cr_assert_eq(v, next, "record %zu of long is i=%ld, expected %ld", i, v, next);
    if (next == 0) {
      first = i;
      ticks_between = ticks_seen;
    }
    next++;
    last = i;
  }
  cr_assert_eq(next, LONG_N, "every record of the long page, once: %ld", next);
  /* Ticks written after the long page's first record and before its last. */
  size_t ticks_before_last = 0;
  json_array_foreach(recs, i, rec) {
    if (i > last) {
      break;
    }
    if (i > first && strcmp(json_string_value(json_object_get(rec, "source")), "tick") == 0) {
      ticks_before_last++;
    }
  }
  cr_assert_gt(ticks_before_last, 0,
               "no tick record among the long page's %d (first at line %zu, last at %zu, %zu "
               "ticks before it): it was written in one go",
               LONG_N, first, last, ticks_between);
  json_decref(recs);
}

Test(rest_long_page, a_long_bodys_json_error_names_its_byte) {
  restt_run r = restt_once("", "{\"url\": \"http://127.0.0.1:%d/many?n=30000&bad=1\"}", port);
  cr_assert_neq(r.status, 0, "%s", r.err);
  cr_assert_eq(json_array_size(r.records), 0);
  /* {"items":[ (10 bytes) then {"i":0} .. {"i":29999} joined by commas:
   * the second ']' is where an object's '}' was expected. */
  long len = 10;
  for (long k = 0; k < 30000; k++) {
    char one[32];
    len += snprintf(one, sizeof(one), "%s{\"i\":%ld}", k > 0 ? "," : "", k);
  }
  char want[64];
  snprintf(want, sizeof(want), "invalid JSON at byte %ld", len + 1);
  cr_assert_not_null(strstr(r.err, want), "want \"%s\" in: %s", want, r.err);
  restt_run_free(&r);
}
