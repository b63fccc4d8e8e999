/* The listen mode's JSON parser must accept exactly what jansson's
 * json_loadb accepts and build equal values, with and without
 * JSON_DECODE_INT_AS_REAL: fixed cases, then many random mutations of
 * valid documents compared with jansson. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "jsonline.h"
#include "value.h"

static void same_with_flags(const char *s, size_t n, size_t flags) {
  json_error_t e1, e2;
  json_t *mine = sock_json_parse(s, n, flags, &e1);
  json_t *ref = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | flags, &e2);
  cr_assert_eq(mine != NULL, ref != NULL, "input [%.*s]: ours %s (%s), jansson %s (%s)", (int)n, s,
               mine ? "accepts" : "rejects", mine ? "" : e1.text, ref ? "accepts" : "rejects",
               ref ? "" : e2.text);
  if (mine != NULL) {
    cr_assert(json_equal(mine, ref), "input [%.*s]: values differ", (int)n, s);
  } else {
    cr_assert_neq(e1.text[0], '\0');
    cr_assert_geq(e1.column, 1);
    /* value.c parses again on an overflow: only where jansson would. */
    if (json_error_code(&e1) == json_error_numeric_overflow) {
      cr_assert_eq(json_error_code(&e2), json_error_numeric_overflow,
                   "input [%.*s]: ours %s, jansson %s", (int)n, s, e1.text, e2.text);
    }
  }
  json_decref(mine);
  json_decref(ref);
}

static void same_as_jansson(const char *s, size_t n) {
  same_with_flags(s, n, 0);
  same_with_flags(s, n, JSON_DECODE_INT_AS_REAL);
}

static void same(const char *s) {
  same_as_jansson(s, strlen(s));
}

Test(jsonline, fixed_cases_match_jansson) {
  const char *cases[] = {"{}",
                         "[]",
                         "0",
                         "-0",
                         "1",
                         "-1",
                         "12.5",
                         "1e3",
                         "1E+3",
                         "1e-3",
                         "-1.5e-300",
                         "1e400",
                         "1e-400",
                         "9223372036854775807",
                         "9223372036854775808",
                         "-9223372036854775808",
                         "-9223372036854775809",
                         "18446744073709551615",
                         "{\"bytes_total\":18446744073709551615,\"n\":1}",
                         "[1e400,18446744073709551615]",
                         "[18446744073709551615,1e400]",
                         "[18446744073709551615 x]",
                         "[184467440737095516150000000000000000000000000000000]",
                         "01",
                         "1.",
                         ".5",
                         "-",
                         "+1",
                         "1e",
                         "1e+",
                         "0x10",
                         "true",
                         "false",
                         "null",
                         "tru",
                         "truex",
                         "nul",
                         "\"\"",
                         "\"abc\"",
                         "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
                         "\"\\u0041\\u00e9\\u20ac\"",
                         "\"\\ud83d\\ude00\"",
                         "\"\\ud83d\"",
                         "\"\\ude00\"",
                         "\"\\ud83d\\u0041\"",
                         "\"\\u00\"",
                         "\"\\uZZZZ\"",
                         "\"\\x\"",
                         "\"\\u0000\"",
                         "\"caf\xc3\xa9\"",
                         "\"\xc3\"",
                         "\"\xff\"",
                         "\"\xed\xa0\x80\"",
                         "\"\t\"",
                         "\"unterminated",
                         "{\"a\":1,\"b\":[1,2,{\"c\":null}]}",
                         "{\"a\":1,}",
                         "{\"a\" 1}",
                         "{1:2}",
                         "{\"a\":1 \"b\":2}",
                         "[1,]",
                         "[,1]",
                         "[1 2]",
                         "[",
                         "]",
                         "{",
                         " \t\r\n {\"a\" : [ 1 , 2 ] } \r\n ",
                         "{} {}",
                         "{}x",
                         "",
                         "   ",
                         "{\"dup\":1,\"dup\":2}",
                         "{\"\\u0000k\":1}",
                         "[\"\xe2\x82\xac\"]",
                         "\xef\xbb\xbf{}",
                         "{\"k\":\"v\"}\x00"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    same(cases[i]);
  }
  same_as_jansson("{\"k\":\"v\"}\0", 10);
  same_as_jansson("\"a\0b\"", 5);
}

Test(jsonline, depth_limit_matches_jansson) {
  size_t n = JSON_PARSER_MAX_DEPTH + 1;
  char *deep = malloc(2 * n + 1);
  for (size_t depth = JSON_PARSER_MAX_DEPTH - 1; depth <= n; depth++) {
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    same_as_jansson(deep, 2 * depth);
  }
  free(deep);
}

Test(jsonline, random_mutations_match_jansson) {
  const char *seeds[] = {
      "{\"seq\":100001,\"host\":\"bench-01\",\"level\":\"info\",\"msg\":\"xxxx\"}",
      "[1,-2.5e10,true,false,null,\"s\\n\\u00e9\",{\"a\":[{}]}]",
      "{\"k\\ud83d\\ude00\":\"caf\xc3\xa9\",\"n\":-0.0001}",
  };
  const char alphabet[] = "{}[]\":,\\-+.0123456789eEtrufalsn \t\r\nux\xc3\xa9\xff";
  unsigned seed = 12345;
  char buf[256];
  for (int iter = 0; iter < 30000; iter++) {
    const char *base = seeds[iter % 3];
    size_t n = strlen(base);
    memcpy(buf, base, n);
    int edits = 1 + (int)(rand_r(&seed) % 3);
    for (int e = 0; e < edits; e++) {
      size_t at = n ? (size_t)rand_r(&seed) % n : 0;
      char c = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
      switch (rand_r(&seed) % 3) {
        case 0: /* replace */
          if (n > 0) {
            buf[at] = c;
          }
          break;
        case 1: /* insert */
          if (n < sizeof(buf) - 1) {
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = c;
            n++;
          }
          break;
        default: /* delete */
          if (n > 0) {
            memmove(buf + at, buf + at + 1, n - at - 1);
            n--;
          }
          break;
      }
    }
    same_as_jansson(buf, n);
  }
}

/* What value.c keeps is what jansson keeps when a line that overflows
 * json_int_t is loaded again with JSON_DECODE_INT_AS_REAL. */
static json_t *jansson_keeping_big_integers(const char *s) {
  json_error_t e;
  size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
  json_t *v = json_loadb(s, strlen(s), flags, &e);
  if (v == NULL && json_error_code(&e) == json_error_numeric_overflow) {
    v = json_loadb(s, strlen(s), flags | JSON_DECODE_INT_AS_REAL, &e);
  }
  return v;
}

Test(jsonline, integers_over_int64_keep_their_line_as_jansson_would) {
  const char *cases[] = {"{\"bytes_total\":18446744073709551615}",
                         "{\"a\":1,\"b\":-9223372036854775809,\"c\":[2.5,\"x\"]}",
                         "{\"ok\":9223372036854775807}",
                         "[18446744073709551615,1e400]",
                         "[18446744073709551615 x]",
                         "{\"a\" 18446744073709551615}",
                         "18446744073709551615 {}"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_error_t err;
    json_t *mine = sock_value_json(cases[i], strlen(cases[i]), &err);
    json_t *ref = jansson_keeping_big_integers(cases[i]);
    cr_assert_eq(mine != NULL, ref != NULL, "%s: ours %s (%s), jansson %s", cases[i],
                 mine ? "keeps" : "drops", mine ? "" : err.text, ref ? "keeps" : "drops");
    cr_assert(mine == NULL || json_equal(mine, ref), "%s: values differ", cases[i]);
    json_decref(mine);
    json_decref(ref);
  }
}
