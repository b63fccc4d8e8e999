/* Where the next page is: an RFC 8288 Link header with rel="next"
 * (link.c), a URL inside the body, or a cursor inside the body sent back
 * as a query parameter of the source's URL. Relative URLs resolve against
 * the URL the page actually came from (after redirects); a page the
 * server names must be on the source's origin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest.h"

/* Resolves `ref` against `base` into a malloc'd absolute URL. */
static int resolve(const rest_source *s, const char *base, const char *ref, char **out, char *msg,
                   size_t msg_len) {
  if (ref[0] == '\0' || ref[0] == '#') {
    /* RFC 3986: the same document (libcurl 7.88 would drop its last path
     * segment and query): a loop, which the round then reports. */
    *out = strndup(base, strcspn(base, "#"));
    return *out != NULL ? 0 : -ENOMEM;
  }
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

/* One part of a URL, malloc'd by libcurl (curl_free), or NULL. */
static char *url_part(CURLU *u, CURLUPart what) {
  char *v = NULL;
  if (curl_url_get(u, what, &v, what == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0) != CURLUE_OK) {
    return NULL;
  }
  return v;
}

static int part_eq(CURLU *ua, CURLU *ub, CURLUPart what) {
  char *pa = url_part(ua, what);
  char *pb = url_part(ub, what);
  /* file:// has no host and no port: both missing is the same. */
  int eq = (pa == NULL && pb == NULL) || (pa != NULL && pb != NULL && strcasecmp(pa, pb) == 0);
  curl_free(pa);
  curl_free(pb);
  return eq;
}

/* Whether `next` is on the origin of `own`: one host, and one scheme and
 * port, or http:// moved to https:// (a server that upgrades) on the same
 * port or from 80 to 443. A next page
 * comes from the server, and its request carries the source's credentials
 * and headers (libcurl drops them only on the redirects it follows), so a
 * page on another origin, or a file:// page named by a web server, is not
 * fetched. */
static int same_origin(const char *own, const char *next) {
  CURLU *ua = curl_url();
  CURLU *ub = curl_url();
  int same = 0;
  if (ua != NULL && ub != NULL && curl_url_set(ua, CURLUPART_URL, own, 0) == CURLUE_OK &&
      curl_url_set(ub, CURLUPART_URL, next, 0) == CURLUE_OK && part_eq(ua, ub, CURLUPART_HOST)) {
    if (part_eq(ua, ub, CURLUPART_SCHEME)) {
      same = part_eq(ua, ub, CURLUPART_PORT);
    } else {
      /* An upgrade keeps its port, or goes from http's to https's. */
      char *sa = url_part(ua, CURLUPART_SCHEME);
      char *sb = url_part(ub, CURLUPART_SCHEME);
      char *pa = url_part(ua, CURLUPART_PORT);
      char *pb = url_part(ub, CURLUPART_PORT);
      same = sa != NULL && sb != NULL && pa != NULL && pb != NULL && strcasecmp(sa, "http") == 0 &&
             strcasecmp(sb, "https") == 0 &&
             (strcmp(pa, pb) == 0 || (strcmp(pa, "80") == 0 && strcmp(pb, "443") == 0));
      curl_free(sa);
      curl_free(sb);
      curl_free(pa);
      curl_free(pb);
    }
  }
  curl_url_cleanup(ua);
  curl_url_cleanup(ub);
  return same;
}

/* A next page from the server (a Link or a URL in the body) must be on
 * the source's own origin. */
static int check_origin(const rest_source *s, char **next, char *msg, size_t msg_len) {
  if (same_origin(s->url, *next)) {
    return 0;
  }
  char shown[208], own[208];
  rest_url_show(s, *next, shown, sizeof(shown));
  rest_url_show(s, s->url, own, sizeof(own));
  snprintf(msg, msg_len,
           "the next page \"%s\" is not on the source's host, scheme and port (%s): not "
           "fetched, so that the source's credentials and headers go to its own host only",
           shown, own);
  free(*next);
  *next = NULL;
  return -EPERM;
}

/* The parameter that starts at *p in a query text ("a=1&b"): returns its
 * length, sets *name_len to its name's (up to '=', or all of it), and
 * moves *p past it and its '&'. */
static size_t next_param(const char **p, size_t *name_len) {
  size_t len = strcspn(*p, "&");
  *name_len = strcspn(*p, "=&");
  *p += len;
  if (**p == '&') {
    (*p)++;
  }
  return len;
}

/* Whether the query text q ("a=1&b=2") has a parameter named `name`. */
static int query_has(const char *q, const char *name) {
  for (const char *p = q; *p != '\0';) {
    const char *param = p;
    size_t name_len;
    next_param(&p, &name_len);
    if (rest_query_name_is(param, name_len, name)) {
      return 1;
    }
  }
  return 0;
}

/* Appends to nu each of the source's secret_query parameters (from the
 * source's query text oq, as encoded there) that nq, nu's query, lacks.
 * Returns how many, or -ENOMEM. */
static int add_missing_secrets(const rest_source *s, const char *oq, const char *nq, CURLU *nu) {
  int added = 0;
  for (const char *p = oq; *p != '\0';) {
    const char *param = p;
    size_t name_len;
    size_t len = next_param(&p, &name_len);
    for (size_t k = 0; k < s->n_secret_keys; k++) {
      const char *key = s->secret_keys[k];
      if (rest_query_name_is(param, name_len, key) && (nq == NULL || !query_has(nq, key))) {
        char *pair = strndup(param, len);
        if (pair == NULL) {
          return -ENOMEM;
        }
        CURLUcode uc = curl_url_set(nu, CURLUPART_QUERY, pair, CURLU_APPENDQUERY);
        free(pair);
        if (uc != CURLUE_OK) {
          return -ENOMEM;
        }
        added++;
      }
    }
  }
  return added;
}

/* A next page the server names seldom repeats an API key that its URL
 * had: the source's secret_query parameters go on to it, like its
 * headers (it is on the source's origin: check_origin). */
static int carry_secret_query(const rest_source *s, char **next) {
  if (s->n_secret_keys == 0) {
    return 0;
  }
  CURLU *own = curl_url();
  CURLU *nu = curl_url();
  char *oq = NULL, *nq = NULL, *full = NULL;
  int rc = -ENOMEM;
  if (own != NULL && nu != NULL && curl_url_set(own, CURLUPART_URL, s->url, 0) == CURLUE_OK &&
      curl_url_set(nu, CURLUPART_URL, *next, 0) == CURLUE_OK) {
    rc = 0;
    if (curl_url_get(own, CURLUPART_QUERY, &oq, 0) == CURLUE_OK) {
      if (curl_url_get(nu, CURLUPART_QUERY, &nq, 0) != CURLUE_OK) {
        nq = NULL;
      }
      rc = add_missing_secrets(s, oq, nq, nu);
    }
    if (rc > 0) {
      rc = -ENOMEM;
      if (curl_url_get(nu, CURLUPART_URL, &full, 0) == CURLUE_OK) {
        char *copy = strdup(full);
        if (copy != NULL) {
          free(*next);
          *next = copy;
          rc = 0;
        }
      }
    }
  }
  curl_free(oq);
  curl_free(nq);
  curl_free(full);
  curl_url_cleanup(own);
  curl_url_cleanup(nu);
  return rc < 0 ? rc : 0;
}

/* A next page from the server, checked and completed: on the source's
 * origin, with its secret_query. On failure *next is freed. */
static int server_next(const rest_source *s, char **next, char *msg, size_t msg_len) {
  int rc = check_origin(s, next, msg, msg_len);
  if (rc == 0) {
    rc = carry_secret_query(s, next);
    if (rc != 0) {
      free(*next);
      *next = NULL;
    }
  }
  return rc;
}

/* Takes the parameter `name` out of u's query: the source's url may carry
 * a first cursor, which the next one replaces rather than joins. */
static CURLUcode drop_param(CURLU *u, const char *name) {
  char *q = NULL;
  if (curl_url_get(u, CURLUPART_QUERY, &q, 0) != CURLUE_OK) {
    return CURLUE_OK; /* no query */
  }
  char *kept = malloc(strlen(q) + 1);
  if (kept == NULL) {
    curl_free(q);
    return CURLUE_OUT_OF_MEMORY;
  }
  size_t k = 0;
  for (const char *p = q; *p != '\0';) {
    const char *param = p;
    size_t name_len;
    size_t len = next_param(&p, &name_len);
    if (!rest_query_name_is(param, name_len, name)) {
      if (k > 0) {
        kept[k++] = '&';
      }
      memcpy(kept + k, param, len);
      k += len;
    }
  }
  kept[k] = '\0';
  CURLUcode uc = curl_url_set(u, CURLUPART_QUERY, k > 0 ? kept : NULL, 0);
  free(kept);
  curl_free(q);
  return uc;
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
      uc = drop_param(u, s->page_cursor_param);
    }
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
    char *ref = x->link.data != NULL ? rest_link_next(x->link.data) : NULL;
    if (ref == NULL) {
      return 0;
    }
    int rc = resolve(s, base, ref, next, msg, msg_len);
    free(ref);
    if (rc == 0) {
      rc = server_next(s, next, msg, msg_len);
    }
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
    if (rc == 0) {
      rc = server_next(s, next, msg, msg_len);
    }
    return rc == 0 ? 1 : rc;
  }
  if (s->page_type == REST_PAGE_CURSOR) {
    const json_t *v = rest_jsonptr_get((json_t *)doc, s->page_cursor_ptr);
    /* 0 too (Twitter's next_cursor): it could only lead back to the
     * start, a loop. */
    if (v == NULL || json_is_null(v) || json_is_false(v) ||
        (json_is_string(v) &&
         (json_string_length(v) == 0 || strcmp(json_string_value(v), "0") == 0)) ||
        (json_is_integer(v) && json_integer_value(v) == 0)) {
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
