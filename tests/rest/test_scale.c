/* 1,000 rest sources against the delayed route in one `siphon --once`
 * round: every source's record arrives exactly once, and meta.wait_ms
 * shows that the later ones waited for their turn to start. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restt.h"

#define N 1000

Test(rest_scale, thousand_sources_one_round, .timeout = 120) {
  tproc fx;
  int port = restt_fixture_start(&fx);
  size_t cap = (size_t)N * 200 + 16;
  char *sources = malloc(cap);
  size_t at = 0;
  at += (size_t)snprintf(sources + at, cap - at, "[");
  for (int i = 0; i < N; i++) {
    at += (size_t)snprintf(sources + at, cap - at,
                           "%s{\"name\": \"s%d\", \"plugin\": \"rest\", \"interval\": \"1m\", "
                           "\"timeout\": \"30s\", \"options\": {\"url\": "
                           "\"http://127.0.0.1:%d/delay?ms=200&id=%d\"}}",
                           i ? ", " : "", i, port, i);
  }
  snprintf(sources + at, cap - at, "]");
  restt_run r = restt_once_sources(sources, 90000);
  cr_assert_eq(r.status, 0, "%.2000s", r.err);
  cr_assert_eq(json_array_size(r.records), N);
  static int seen[N];
  memset(seen, 0, sizeof(seen));
  static double wait_of[N];
  for (size_t i = 0; i < N; i++) {
    json_t *rec = json_array_get(r.records, i);
    json_t *wait = json_object_get(json_object_get(rec, "meta"), "wait_ms");
    cr_assert(json_is_number(wait));
    const char *src = json_string_value(json_object_get(rec, "source"));
    const char *id = json_string_value(json_object_get(json_object_get(rec, "data"), "id"));
    cr_assert_not_null(src);
    cr_assert_not_null(id);
    int k = atoi(id);
    cr_assert(k >= 0 && k < N);
    char name[16];
    snprintf(name, sizeof(name), "s%d", k);
    cr_assert_str_eq(src, name, "record of %s carries %s's data", src, name);
    seen[k]++;
    wait_of[k] = json_number_value(wait);
  }
  for (int i = 0; i < N; i++) {
    cr_assert_eq(seen[i], 1, "source s%d: %d records", i, seen[i]);
  }
  /* Rounds start in config order and first requests 64 a loop turn, each
   * turn with its connects: the first 64 start at once, the last 64 after
   * 15 turns of them, so every one of those waited longer. */
  double first_most = 0, last_least = 1e9;
  for (int i = 0; i < 64; i++) {
    first_most = wait_of[i] > first_most ? wait_of[i] : first_most;
    last_least = wait_of[N - 1 - i] < last_least ? wait_of[N - 1 - i] : last_least;
  }
  cr_assert(last_least > first_most,
            "the last 64 sources waited no longer than the first 64 (%f against %f ms)", last_least,
            first_most);
  restt_run_free(&r);
  free(sources);
  restt_fixture_stop(&fx);
}
