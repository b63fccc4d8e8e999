/* Unit tests of the pure parts of the socket plugin: the line splitter,
 * the address parser and the line-to-JSON conversion. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "framing.h"
#include "value.h"

/* Collects lines as "a|b|c". */
typedef struct sink {
  char buf[8192];
  size_t len;
  int count;
} sink;

static void collect(void *arg, const char *line, size_t len) {
  sink *s = arg;
  if (s->count > 0) {
    s->buf[s->len++] = '|';
  }
  cr_assert_lt(s->len + len, sizeof(s->buf));
  memcpy(s->buf + s->len, line, len);
  s->len += len;
  s->buf[s->len] = '\0';
  s->count++;
}

static void feed_split(const char *text, size_t n, size_t max, size_t cut, sink *out,
                       uint64_t *dropped) {
  sock_framer f;
  sock_framer_init(&f, max);
  memset(out, 0, sizeof(*out));
  cr_assert_eq(sock_framer_feed(&f, text, cut, collect, out), 0);
  cr_assert_eq(sock_framer_feed(&f, text + cut, n - cut, collect, out), 0);
  sock_framer_finish(&f, collect, out);
  *dropped = f.dropped;
  sock_framer_free(&f);
}

Test(framing, split_at_every_byte_position) {
  const char *text = "alpha\nbeta\r\ngamma delta\n\nlast";
  size_t n = strlen(text);
  for (size_t cut = 0; cut <= n; cut++) {
    sink s;
    uint64_t dropped;
    feed_split(text, n, 64, cut, &s, &dropped);
    cr_assert_str_eq(s.buf, "alpha|beta|gamma delta|last", "cut at %zu", cut);
    cr_assert_eq(dropped, 0);
  }
}

Test(framing, one_byte_at_a_time) {
  const char *text = "one\r\ntwo\nthree\r\n";
  sock_framer f;
  sock_framer_init(&f, 16);
  sink s;
  memset(&s, 0, sizeof(s));
  for (size_t i = 0; text[i] != '\0'; i++) {
    sock_framer_feed(&f, text + i, 1, collect, &s);
  }
  cr_assert_eq(sock_framer_pending(&f), 0);
  sock_framer_finish(&f, collect, &s);
  cr_assert_str_eq(s.buf, "one|two|three");
  sock_framer_free(&f);
}

Test(framing, over_limit_line_between_good_ones_at_every_split) {
  /* max 8: "12345678" passes, the 9-byte line is dropped whole. */
  const char *text = "good\n123456789\nok\r\n12345678\r\nxxxxxxxxxxxxxxxxxxxxxxxx\nend\n";
  size_t n = strlen(text);
  for (size_t cut = 0; cut <= n; cut++) {
    sink s;
    uint64_t dropped;
    feed_split(text, n, 8, cut, &s, &dropped);
    cr_assert_str_eq(s.buf, "good|ok|12345678|end", "cut at %zu", cut);
    cr_assert_eq(dropped, 2, "cut at %zu: dropped %llu", cut, (unsigned long long)dropped);
  }
}

Test(framing, crlf_split_between_cr_and_lf_at_the_limit) {
  /* Exactly max bytes of text, its '\r' in one read and '\n' in the next. */
  sock_framer f;
  sock_framer_init(&f, 4);
  sink s;
  memset(&s, 0, sizeof(s));
  sock_framer_feed(&f, "abcd\r", 5, collect, &s);
  sock_framer_feed(&f, "\nefgh\r", 6, collect, &s);
  sock_framer_feed(&f, "\n", 1, collect, &s);
  cr_assert_str_eq(s.buf, "abcd|efgh");
  cr_assert_eq(f.dropped, 0);
  sock_framer_free(&f);
}

Test(framing, over_limit_partial_at_close_is_dropped) {
  sock_framer f;
  sock_framer_init(&f, 4);
  sink s;
  memset(&s, 0, sizeof(s));
  sock_framer_feed(&f, "ok\nabcdefgh", 11, collect, &s);
  sock_framer_finish(&f, collect, &s);
  cr_assert_str_eq(s.buf, "ok");
  cr_assert_eq(f.dropped, 1);
  /* The framer is reusable after finish (UDP frames every datagram). */
  sock_framer_feed(&f, "next", 4, collect, &s);
  sock_framer_finish(&f, collect, &s);
  cr_assert_str_eq(s.buf, "ok|next");
  sock_framer_free(&f);
}

Test(framing, never_holds_more_than_the_limit) {
  sock_framer f;
  sock_framer_init(&f, 100);
  sink s;
  memset(&s, 0, sizeof(s));
  char chunk[64];
  memset(chunk, 'x', sizeof(chunk));
  for (int i = 0; i < 1000; i++) {
    sock_framer_feed(&f, chunk, sizeof(chunk), collect, &s);
    cr_assert_leq(sock_framer_pending(&f), 101);
    cr_assert_leq(f.cap, 101);
  }
  sock_framer_feed(&f, "\nafter\n", 7, collect, &s);
  cr_assert_str_eq(s.buf, "after");
  cr_assert_eq(f.dropped, 1);
  sock_framer_free(&f);
}

Test(framing, binary_bytes_pass_through) {
  const char text[] = "a\0b\xff\n\x01\x02\n";
  sock_framer f;
  sock_framer_init(&f, 64);
  sink s;
  memset(&s, 0, sizeof(s));
  sock_framer_feed(&f, text, sizeof(text) - 1, collect, &s);
  cr_assert_eq(s.count, 2);
  cr_assert_eq(memcmp(s.buf, "a\0b\xff|\x01\x02", 7), 0);
  sock_framer_free(&f);
}

/* --- value --- */

Test(value, invalid_utf8_becomes_replacement_characters) {
  const char bad[] = "ok \xc3\x28 \xff end \xe2\x82"; /* bad pair, bad byte, cut sequence */
  json_t *v = sock_value_string(bad, sizeof(bad) - 1);
  cr_assert_not_null(v);
  cr_assert_str_eq(json_string_value(v),
                   "ok \xef\xbf\xbd( \xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd");
  json_decref(v);
}

Test(value, valid_utf8_and_nul_kept) {
  const char text[] = "caf\xc3\xa9 \xf0\x9f\x99\x82 a\0b";
  json_t *v = sock_value_string(text, sizeof(text) - 1);
  cr_assert_eq(json_string_length(v), sizeof(text) - 1);
  cr_assert_eq(memcmp(json_string_value(v), text, sizeof(text) - 1), 0);
  char *dumped = json_dumps(v, JSON_ENCODE_ANY);
  cr_assert_str_eq(dumped, "\"caf\xc3\xa9 \xf0\x9f\x99\x82 a\\u0000b\"");
  free(dumped);
  json_decref(v);
}

Test(value, surrogates_and_overlongs_rejected) {
  const char text[] = "\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80";
  json_t *v = sock_value_string(text, sizeof(text) - 1);
  const char *s = json_string_value(v);
  cr_assert_not_null(strstr(s, "\xef\xbf\xbd|"));
  cr_assert_null(strstr(s, "\xed\xa0\x80"));
  json_decref(v);
}

Test(value, json_lines) {
  json_error_t err;
  json_t *v = sock_value_json("{\"a\": [1, 2]}", 13, &err);
  cr_assert(json_is_object(v));
  json_decref(v);
  v = sock_value_json("42", 2, &err);
  cr_assert_eq(json_integer_value(v), 42);
  json_decref(v);
  cr_assert_null(sock_value_json("{\"a\": ", 6, &err));
  cr_assert_null(sock_value_json("{} {}", 5, &err));
  cr_assert_null(sock_value_json("\"\xff\"", 3, &err));
}

Test(value, an_integer_over_int64_keeps_its_line_as_reals) {
  /* A uint64 counter: the line is kept, its integers become reals. */
  const char *line = "{\"bytes_total\":18446744073709551615,\"n\":3}";
  json_error_t err;
  json_t *v = sock_value_json(line, strlen(line), &err);
  cr_assert_not_null(v, "dropped: %s", err.text);
  cr_assert(json_is_real(json_object_get(v, "bytes_total")));
  cr_assert_float_eq(json_real_value(json_object_get(v, "bytes_total")), 18446744073709551615.0,
                     1e4);
  cr_assert(json_is_real(json_object_get(v, "n")));
  cr_assert_float_eq(json_real_value(json_object_get(v, "n")), 3.0, 1e-9);
  json_decref(v);
  /* A fitting integer stays one, and a real out of range still fails. */
  v = sock_value_json("9223372036854775807", 19, &err);
  cr_assert_eq(json_integer_value(v), 9223372036854775807LL);
  json_decref(v);
  cr_assert_null(sock_value_json("[18446744073709551615, 1e400]", 29, &err));
  cr_assert_str_eq(err.text, "real number overflow");
}

/* --- address --- */

Test(address, forms) {
  sock_addr a;
  char why[200];
  cr_assert_eq(sock_addr_parse("tcp://127.0.0.1:5170", &a, why, sizeof(why)), 0);
  cr_assert_eq(a.scheme, SOCK_TCP);
  cr_assert_str_eq(a.host, "127.0.0.1");
  cr_assert_eq(a.port, 5170);
  cr_assert(a.numeric);
  cr_assert_eq(sock_addr_parse("udp://[::1]:0", &a, why, sizeof(why)), 0);
  cr_assert_eq(a.scheme, SOCK_UDP);
  cr_assert_str_eq(a.host, "::1");
  cr_assert_eq(a.port, 0);
  cr_assert(a.numeric);
  cr_assert_eq(sock_addr_parse("tcp://localhost:80", &a, why, sizeof(why)), 0);
  cr_assert_str_eq(a.host, "localhost");
  cr_assert_not(a.numeric);
  cr_assert_eq(sock_addr_parse("unix:///run/siphon.sock", &a, why, sizeof(why)), 0);
  cr_assert_eq(a.scheme, SOCK_UNIX);
  cr_assert_str_eq(a.path, "/run/siphon.sock");
}

Test(address, errors_say_what_was_expected) {
  sock_addr a;
  char why[200];
  const struct {
    const char *text, *says;
  } cases[] = {
      {"127.0.0.1:80", "://"},
      {"http://x:80", "scheme"},
      {"tcp://127.0.0.1", "HOST:PORT"},
      {"tcp://127.0.0.1:65536", "port"},
      {"tcp://127.0.0.1:8o", "port"},
      {"tcp://:80", "host"},
      {"tcp://::1:80", "brackets"},
      {"tcp://[::1:80", "']'"},
      {"tcp://[::1]80", "':PORT'"},
      {"tcp://[nope]:80", "IPv6"},
      {"unix://", "path"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    why[0] = '\0';
    cr_assert_eq(sock_addr_parse(cases[i].text, &a, why, sizeof(why)), -EINVAL, "%s",
                 cases[i].text);
    cr_assert_not_null(strstr(why, cases[i].says), "%s: %s", cases[i].text, why);
  }
  char longpath[300] = "unix:///";
  memset(longpath + 8, 'a', 200);
  longpath[208] = '\0';
  cr_assert_eq(sock_addr_parse(longpath, &a, why, sizeof(why)), -EINVAL);
  cr_assert_not_null(strstr(why, "107"));
}
