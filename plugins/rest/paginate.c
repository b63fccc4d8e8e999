/* Where the next page is: an RFC 8288 Link header with rel="next", a URL
 * inside the body, or a cursor inside the body sent back as a query
 * parameter of the source's URL. Relative URLs resolve against the URL
 * the page actually came from (after redirects). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest.h"

/* Resolves `ref` against `base` into a malloc'd absolute URL. */
static int resolve(const rest_source *s, const char *base, const char *ref, char **out, char *msg,
                   size_t msg_len) {
  CURLU *u = curl_url();
  if (u == NULL) {
    return -ENOMEM;
  }
  char *full = NULL;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, base, 0);
  if (uc == CURLUE_OK) {
    uc = curl_url_set(u, CURLUPART_URL, ref, 0);
  }
  if (uc == CURLUE_OK) {
    uc = curl_url_get(u, CURLUPART_URL, &full, 0);
  }
  curl_url_cleanup(u);
  if (uc != CURLUE_OK) {
    char shown[208];
    rest_url_show(s, ref, shown, sizeof(shown));
    snprintf(msg, msg_len, "bad next page URL \"%s\": %s", shown, curl_url_strerror(uc));
    return -EPROTO;
  }
  *out = strdup(full);
  curl_free(full);
  return *out != NULL ? 0 : -ENOMEM;
}

/* Does a link's parameter text [a, b) say rel="next" (rel may hold
 * several space-separated relation types)? */
static int rel_is_next(const char *a, const char *b) {
  for (const char *p = a; p + 4 <= b; p++) {
    if (strncasecmp(p, "rel=", 4) != 0 || (p > a && p[-1] != ';' && p[-1] != ' ')) {
      continue;
    }
    const char *v = p + 4;
    int quoted = v < b && *v == '"';
    if (quoted) {
      v++;
    }
    while (v < b && *v != '"' && *v != ';' && *v != ',') {
      while (v < b && *v == ' ') {
        v++;
      }
      const char *w = v;
      while (w < b && *w != ' ' && *w != '"' && *w != ';' && *w != ',') {
        w++;
      }
      if (w - v == 4 && strncasecmp(v, "next", 4) == 0) {
        return 1;
      }
      if (!quoted) {
        break;
      }
      v = w;
    }
  }
  return 0;
}

/* The target of the first link with rel="next", malloc'd, or NULL. */
static char *link_next(const char *h) {
  const char *p = h;
  while (p != NULL && (p = strchr(p, '<')) != NULL) {
    const char *end = strchr(p, '>');
    if (end == NULL) {
      return NULL;
    }
    const char *params_end = strchr(end, '<');
    if (params_end == NULL) {
      params_end = end + strlen(end);
    }
    if (rel_is_next(end + 1, params_end)) {
      return strndup(p + 1, (size_t)(end - p - 1));
    }
    p = end;
  }
  return NULL;
}

static int cursor_url(const rest_source *s, const json_t *cur, char **out, char *msg,
                      size_t msg_len) {
  char *text = json_is_string(cur) ? strdup(json_string_value(cur))
                                   : json_dumps(cur, JSON_ENCODE_ANY | JSON_COMPACT);
  if (text == NULL) {
    return -ENOMEM;
  }
  size_t n = strlen(s->page_cursor_param) + strlen(text) + 2;
  char *pair = malloc(n);
  CURLU *u = curl_url();
  char *full = NULL;
  int rc = -ENOMEM;
  if (pair != NULL && u != NULL) {
    snprintf(pair, n, "%s=%s", s->page_cursor_param, text);
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, s->url, 0);
    if (uc == CURLUE_OK) {
      uc = curl_url_set(u, CURLUPART_QUERY, pair, CURLU_APPENDQUERY | CURLU_URLENCODE);
    }
    if (uc == CURLUE_OK) {
      uc = curl_url_get(u, CURLUPART_URL, &full, 0);
    }
    if (uc != CURLUE_OK) {
      snprintf(msg, msg_len, "cannot add cursor to the URL: %s", curl_url_strerror(uc));
      rc = -EPROTO;
    } else {
      *out = strdup(full);
      rc = *out != NULL ? 0 : -ENOMEM;
    }
  }
  curl_free(full);
  curl_url_cleanup(u);
  free(pair);
  free(text);
  return rc;
}

int rest_paginate_next(const rest_source *s, rest_xfer *x, const json_t *doc, char **next,
                       char *msg, size_t msg_len) {
  char *base = NULL;
  if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &base) != CURLE_OK || base == NULL) {
    base = s->url;
  }
  *next = NULL;
  if (s->page_type == REST_PAGE_LINK) {
    char *ref = x->link.data != NULL ? link_next(x->link.data) : NULL;
    if (ref == NULL) {
      return 0;
    }
    int rc = resolve(s, base, ref, next, msg, msg_len);
    free(ref);
    return rc == 0 ? 1 : rc;
  }
  if (s->page_type == REST_PAGE_NEXT_URL) {
    const json_t *v = rest_jsonptr_get((json_t *)doc, s->page_next_ptr);
    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
      return 0;
    }
    if (!json_is_string(v)) {
      snprintf(msg, msg_len, "paginate: \"%s\" is not a URL string", s->page_next_ptr);
      return -EPROTO;
    }
    int rc = resolve(s, base, json_string_value(v), next, msg, msg_len);
    return rc == 0 ? 1 : rc;
  }
  if (s->page_type == REST_PAGE_CURSOR) {
    const json_t *v = rest_jsonptr_get((json_t *)doc, s->page_cursor_ptr);
    if (v == NULL || json_is_null(v) || json_is_false(v) ||
        (json_is_string(v) && json_string_length(v) == 0)) {
      return 0;
    }
    if (!json_is_string(v) && !json_is_integer(v)) {
      snprintf(msg, msg_len, "paginate: the cursor at \"%s\" is not a string or an integer",
               s->page_cursor_ptr);
      return -EPROTO;
    }
    int rc = cursor_url(s, v, next, msg, msg_len);
    return rc == 0 ? 1 : rc;
  }
  return 0;
}
