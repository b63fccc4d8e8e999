/* URLs as siphon shows them: in records (meta.url) and in messages, a
 * password in the URL's userinfo is masked, as --check masks it in the
 * config ("secrets never appear in logs"). */
#include <stdio.h>
#include <string.h>

#include "rest.h"

void rest_url_mask(const char *url, char *out, size_t out_len) {
  const char *scheme_end = strstr(url, "://");
  const char *auth = scheme_end != NULL ? scheme_end + 3 : NULL;
  size_t auth_len = auth != NULL ? strcspn(auth, "/?#") : 0;
  const char *at = NULL;
  for (size_t i = 0; i < auth_len; i++) {
    if (auth[i] == '@') {
      at = auth + i; /* the last '@': a password may hold one unescaped */
    }
  }
  const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (colon == NULL) {
    snprintf(out, out_len, "%s", url);
    return;
  }
  snprintf(out, out_len, "%.*s****%s", (int)(colon + 1 - url), url, at);
}
