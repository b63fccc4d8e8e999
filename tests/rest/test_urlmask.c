/* How a source's URL is shown (meta.url, messages): its secrets masked. */
#include <criterion/criterion.h>
#include <string.h>

#include "rest.h"

static char *keys[] = {"appid", "api key", "k"};
static rest_source src = {.secret_keys = keys, .n_secret_keys = 3};

static const char *show(const char *url, size_t out_len) {
  static char out[8192];
  memset(out, 'Z', sizeof(out));
  rest_url_show(&src, url, out, out_len);
  cr_assert_lt(strlen(out), out_len, "fits: %s", out);
  return out;
}

Test(urlmask, secret_values_and_userinfo_masked) {
  cr_expect_str_eq(show("http://u:pw@h/p?a=1&appid=s3&api+key=x%26y&k=&z=2#frag", 2048),
                   "http://u:****@h/p?a=1&appid=****&api+key=****&k=****&z=2#frag");
  cr_expect_str_eq(show("http://h/p?api%20key=v&appid", 2048), "http://h/p?api%20key=****&appid",
                   "a name without '=' has no value to hide");
  cr_expect_str_eq(show("http://h/p", 2048), "http://h/p");
}

Test(urlmask, a_decoded_nul_is_no_end_of_name) {
  /* From a server's next link: "k%00..." is not "k". */
  cr_expect_str_eq(show("http://h/?k%00%00%00=v", 2048), "http://h/?k%00%00%00=v");
}

Test(urlmask, a_url_too_long_is_cut_never_unmasked) {
  /* Empty values grow when masked: the rebuilt URL would not fit. */
  char url[4096] = "http://h/?";
  for (int i = 0; i < 600; i++) {
    strcat(url, "k=&");
  }
  strcat(url, "k=SECRET");
  const char *out = show(url, 2048);
  cr_expect_null(strstr(out, "SECRET"), "%s", out);
  cr_expect(strstr(out, "...") != NULL, "the cut is marked");
  for (size_t len = 1; len < 40; len++) {
    out = show("http://h/?appid=SECRETVALUE", len);
    cr_expect_null(strstr(out, "SECRET"), "out_len %zu: %s", len, out);
  }
}
