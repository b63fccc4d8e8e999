/* URLs as siphon shows them: in records (meta.url) and in messages, a
 * password in the URL's userinfo is masked, as --check masks it in the
 * config ("secrets never appear in logs"), and so are the values of the
 * source's secret_query parameters. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
int rest_query_name_is(const char *enc, size_t len, const char *name) {
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
    if (name[j] == '\0' || name[j] != c) { /* a decoded %00 is no end of name */
      return 0;
    }
  }
  return name[j] == '\0';
}

void rest_url_show(const rest_source *s, const char *url, char *out, size_t out_len) {
  if (out_len == 0) {
    return;
  }
  if (s == NULL || s->n_secret_keys == 0) {
    rest_url_mask(url, out, out_len);
    return;
  }
  /* Cut to 4 KiB first: a name cut short has no '=' and so no value to
   * show, and a value cut short is still masked below. */
  char masked[4096];
  rest_url_mask(url, masked, sizeof(masked));
  const char *q = strchr(masked, '?');
  size_t n = q != NULL ? (size_t)(q + 1 - masked) : strlen(masked);
  if (n >= out_len) {
    n = out_len - 1; /* before any query: nothing secret left to mask */
  }
  memcpy(out, masked, n);
  out[n] = '\0';
  if (q == NULL || n < (size_t)(q + 1 - masked)) {
    return;
  }
  /* Parameter by parameter, straight into out; one that does not fit
   * ends the URL with "..." rather than show anything unmasked. */
  const char *p = q + 1;
  while (*p != '\0' && *p != '#') {
    size_t pair = strcspn(p, "&#");
    const char *eq = memchr(p, '=', pair);
    int secret = 0;
    for (size_t k = 0; eq != NULL && k < s->n_secret_keys; k++) {
      secret = secret || rest_query_name_is(p, (size_t)(eq - p), s->secret_keys[k]);
    }
    size_t keep = secret ? (size_t)(eq + 1 - p) : pair;
    size_t need = keep + (secret ? 4 : 0) + (p[pair] == '&' ? 1 : 0);
    if (n + need + 3 >= out_len) {
      if (n + 3 < out_len) {
        memcpy(out + n, "...", 4);
      }
      return;
    }
    memcpy(out + n, p, keep);
    n += keep;
    if (secret) {
      memcpy(out + n, "****", 4);
      n += 4;
    }
    p += pair;
    if (*p == '&') {
      out[n++] = '&';
      p++;
    }
    out[n] = '\0';
  }
  /* The fragment, as it is (a browser's, never sent to the server). */
  if (*p == '#' && n + strlen(p) < out_len) {
    memcpy(out + n, p, strlen(p) + 1);
  }
}

int rest_header_is_credential(const char *name) {
  static const char *const words[] = {"key",      "token",     "secret",     "auth",  "session",
                                      "password", "signature", "credential", "cookie"};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
    size_t n = strlen(words[i]);
    for (const char *p = name; *p != '\0'; p++) {
      if (strncasecmp(p, words[i], n) == 0) {
        return 1;
      }
    }
  }
  return 0;
}

void rest_redact(const rest_source *s, char *text) {
  /* Longest first (options.c sorts them): a secret inside another must
   * not turn the longer one's middle to "****" and leave its ends. */
  for (size_t i = 0; i < s->n_secret_values; i++) {
    const char *v = s->secret_values[i];
    size_t n = strlen(v);
    for (char *at = strstr(text, v); at != NULL; at = strstr(at + 4, v)) {
      /* n >= 4: "****" never grows the text. */
      memcpy(at, "****", 4);
      memmove(at + 4, at + n, strlen(at + n) + 1);
    }
  }
  /* A message cut short (a body's first 200 bytes) may end in the start
   * of a secret: 3 characters of one or more at the very end go too. */
  size_t len = strlen(text);
  for (size_t i = 0; i < s->n_secret_values; i++) {
    const char *v = s->secret_values[i];
    size_t n = strlen(v);
    for (size_t k = n - 1; k >= 3; k--) {
      if (k <= len && strncmp(text + len - k, v, k) == 0) {
        memcpy(text + len - k, "****", k < 4 ? k : 4);
        text[len - k + (k < 4 ? k : 4)] = '\0';
        len = strlen(text);
        break;
      }
    }
  }
}
