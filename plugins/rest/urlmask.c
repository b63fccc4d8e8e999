/* URLs as siphon shows them: in records (meta.url) and in messages, a
 * password in the URL's userinfo is masked, as --check masks it in the
 * config ("secrets never appear in logs"), and so are the values of the
 * source's secret_query parameters. */
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

static int hex_value(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* A query name as the URL spells it, decoded (%XX, '+' for a space),
 * against a name as the config wrote it. */
static int name_is(const char *enc, size_t len, const char *name) {
  size_t j = 0;
  for (size_t i = 0; i < len; i++, j++) {
    char c = enc[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= len || hex_value(enc[i + 1]) < 0 || hex_value(enc[i + 2]) < 0) {
        return 0;
      }
      c = (char)(hex_value(enc[i + 1]) * 16 + hex_value(enc[i + 2]));
      i += 2;
    }
    if (name[j] != c) {
      return 0;
    }
  }
  return name[j] == '\0';
}

void rest_url_show(const rest_source *s, const char *url, char *out, size_t out_len) {
  rest_url_mask(url, out, out_len);
  if (s == NULL || s->n_secret_keys == 0) {
    return;
  }
  char *q = strchr(out, '?');
  if (q == NULL) {
    return;
  }
  /* Rebuilt into a copy: a masked value may be shorter or longer. */
  char shown[4096];
  size_t n = (size_t)(q + 1 - out);
  if (n >= sizeof(shown)) {
    return;
  }
  memcpy(shown, out, n);
  const char *p = q + 1;
  while (*p != '\0' && *p != '#') {
    size_t pair = strcspn(p, "&#");
    const char *eq = memchr(p, '=', pair);
    int secret = 0;
    for (size_t k = 0; eq != NULL && k < s->n_secret_keys; k++) {
      secret = secret || name_is(p, (size_t)(eq - p), s->secret_keys[k]);
    }
    size_t keep = secret ? (size_t)(eq + 1 - p) : pair;
    const char *tail = secret ? "****" : "";
    if (n + keep + strlen(tail) + 1 >= sizeof(shown)) {
      return; /* too long to rebuild: the masked userinfo stands */
    }
    memcpy(shown + n, p, keep);
    n += keep;
    memcpy(shown + n, tail, strlen(tail));
    n += strlen(tail);
    p += pair;
    if (*p == '&') {
      shown[n++] = '&';
      p++;
    }
  }
  snprintf(shown + n, sizeof(shown) - n, "%s", p);
  snprintf(out, out_len, "%s", shown);
}
