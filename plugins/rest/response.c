/* A finished page becomes records: the status is checked against 2xx and
 * accept_status, the body parsed (json) or kept (text), `select` applied
 * and the result split into one record per element when asked. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rest.h"

static int status_accepted(const rest_source *s, long status) {
  if (status >= 200 && status <= 299) {
    return 1;
  }
  for (size_t i = 0; i < s->n_accept; i++) {
    if (status >= s->accept[i].lo && status <= s->accept[i].hi) {
      return 1;
    }
  }
  return 0;
}

/* Where an HTML element's text is not the page's (CSS, scripts, and the
 * title, which error pages repeat as their heading), the index of its
 * closing tag (the caller skips that tag); else i. */
static size_t skip_element(const rest_buf *b, size_t i) {
  static const char *const skipped[] = {"style", "script", "title"};
  for (size_t k = 0; k < sizeof(skipped) / sizeof(skipped[0]); k++) {
    size_t n = strlen(skipped[k]);
    /* "<style>" or "<style type=...>", not "<styles>". */
    if (i + 1 + n < b->len && strncasecmp(b->data + i + 1, skipped[k], n) == 0 &&
        strchr("> \t\r\n/", b->data[i + 1 + n]) != NULL) {
      char close[16];
      snprintf(close, sizeof(close), "</%s", skipped[k]);
      for (size_t j = i + 1; j + strlen(close) <= b->len; j++) {
        if (strncasecmp(b->data + j, close, strlen(close)) == 0) {
          return j;
        }
      }
      return b->len;
    }
  }
  return i;
}

/* The first bytes of an error body as one readable line for the round's
 * message: runs of white space as one space, and an HTML error page's
 * tags (and its CSS and scripts) left out, so its text shows instead of
 * "<!DOCTYPE HTML> <html". */
static void body_excerpt(const rest_buf *b, char *out, size_t out_len) {
  size_t limit = out_len - 1 < 200 ? out_len - 1 : 200;
  size_t i = 0, n = 0;
  while (i < b->len &&
         (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\r' || b->data[i] == '\n')) {
    i++;
  }
  int html = i < b->len && b->data[i] == '<';
  int in_tag = 0, space = 0, cut = 0;
  for (; i < b->len; i++) {
    char c = b->data[i];
    if (html && c == '<' && !in_tag) {
      i = skip_element(b, i);
      in_tag = 1;
      space = n > 0;
      continue;
    }
    if (html && in_tag) {
      in_tag = c != '>';
      continue;
    }
    /* Control characters too: a server's ESC sequences or NUL must not
     * reach a terminal or cut the message. */
    if ((unsigned char)c < 0x20 || c == 0x7f || c == ' ') {
      space = n > 0;
      continue;
    }
    if (n + (space ? 2 : 1) > limit) {
      cut = 1;
      break;
    }
    if (space) {
      out[n++] = ' ';
    }
    space = 0;
    out[n++] = c;
  }
  /* A character the cut split in two is left out whole. */
  if (cut && n > 0) {
    size_t k = n;
    while (k > 0 && n - k < 3 && ((unsigned char)out[k - 1] & 0xC0) == 0x80) {
      k--;
    }
    if (k > 0) {
      unsigned char lead = (unsigned char)out[k - 1];
      size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      if (need > 1 && n - (k - 1) < need) {
        n = k - 1;
      }
    }
  }
  out[n] = '\0';
}

/* A signed redirect (S3, OAuth) carries its secret in the query, and an
 * OAuth token may ride in the fragment: both are cut to "?..." ("#..."). */
static void cut_query(char *shown, size_t size) {
  size_t cut = strcspn(shown, "?#");
  if (shown[cut] != '\0') {
    if (cut + 5 > size) {
      cut = size - 5;
    }
    memcpy(shown + cut, shown[cut] == '#' ? "#..." : "?...", 5);
  }
}

static json_t *make_meta(rest_xfer *x, long status, int page) {
  char *url = NULL;
  if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == NULL) {
    url = "";
  }
  char shown[2048];
  rest_url_show(x->s, url, shown, sizeof(shown));
  /* After a followed redirect the URL is the server's, not the config's:
   * a query it added (a signed URL's) is not shown, as in the message of
   * one not followed. One that kept the asked query (http to https) is. */
  long redirects = 0;
  const char *q = strchr(url, '?');
  size_t qlen = q != NULL ? strcspn(q, "#") : 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirects) == CURLE_OK &&
      redirects > 0 &&
      (qlen != strlen(x->asked_query) || (q != NULL && strncmp(q, x->asked_query, qlen) != 0))) {
    cut_query(shown, sizeof(shown));
  }
  return json_pack("{sIsssfsfsi}", "status", (json_int_t)status, "url", shown, "elapsed_ms",
                   x->elapsed_ms, "wait_ms", x->wait_ms, "page", page);
}

/* Where the bad token starts, counted from 0: jansson's position is past
 * it ("not json" is "near 'not'" at 3), so step back over the token it
 * names when the body holds it there. */
static int token_start(const char *data, const json_error_t *jerr) {
  const char *near = strstr(jerr->text, "near '");
  int pos = jerr->position;
  if (near == NULL) {
    return pos;
  }
  near += 6;
  const char *end = strrchr(near, '\'');
  if (end == NULL) {
    return pos;
  }
  int len = (int)(end - near);
  if (len > 0 && len <= pos && memcmp(data + pos - len, near, (size_t)len) == 0) {
    return pos - len;
  }
  return pos;
}

static int no_body(int head, long status, const rest_buf *body) {
  return head || status == 204 || (body->len == 0 && status >= 300);
}

int rest_response_parse_is_long(const rest_source *s, const rest_xfer *x, long status) {
  return !no_body(s->head, status, &x->body) && !s->format_text &&
         x->body.len >= REST_PARSE_OFF_LOOP;
}

int rest_response_parse(int head, int text, long status, const rest_buf *body, json_t **doc,
                        char *msg, size_t msg_len) {
  if (no_body(head, status, body)) {
    *doc = json_null();
    return 0;
  }
  const char *data = body->data != NULL ? body->data : "";
  if (text) {
    *doc = json_stringn(data, body->len);
    if (*doc == NULL) {
      snprintf(msg, msg_len, "the response is not valid UTF-8 text (format \"text\")");
      return -EBADMSG;
    }
    return 0;
  }
  /* A UTF-8 byte order mark, which RFC 8259 lets a parser ignore and
   * some Windows servers send: jansson would call it an invalid token. */
  size_t bom = body->len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
  if (body->len == bom) {
    /* A 200 or 202 with nothing: "invalid JSON at byte 0" says less. */
    snprintf(msg, msg_len,
             "the response body is empty (HTTP %ld): expected JSON; format \"text\" takes it as "
             "\"\"",
             status);
    return -EBADMSG;
  }
  json_error_t jerr;
  *doc = json_loadb(data + bom, body->len - bom, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (*doc == NULL && json_error_code(&jerr) == json_error_numeric_overflow) {
    /* A uint64 counter (a byte total, an ID) is beyond jansson's 64-bit
     * signed integers: read the page's integers as reals, as Telegraf's
     * float64 does, rather than fail the round. */
    *doc = json_loadb(data + bom, body->len - bom,
                      JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
  }
  if (*doc == NULL) {
    snprintf(msg, msg_len, "invalid JSON at byte %d: %s", (int)bom + token_start(data + bom, &jerr),
             jerr.text);
    return -EBADMSG;
  }
  return 0;
}

/* Where a select stopped matching, and what is there instead: the path
 * that does exist, and its keys or length, so a misspelt key is seen
 * at once ("/itemz": the root has items, count). */
static void describe_miss(json_t *doc, const char *ptr, char *out, size_t out_len) {
  char prefix[512];
  size_t n = strlen(ptr);
  size_t best = 0; /* "" (the whole document) always matches */
  for (size_t i = 1; i <= n && i < sizeof(prefix); i++) {
    if (i == n || ptr[i] == '/') {
      memcpy(prefix, ptr, i);
      prefix[i] = '\0';
      if (rest_jsonptr_get(doc, prefix) == NULL) {
        break;
      }
      best = i;
    }
  }
  memcpy(prefix, ptr, best);
  prefix[best] = '\0';
  json_t *v = rest_jsonptr_get(doc, prefix);
  const char *at = best == 0 ? "the response" : prefix;
  if (json_is_object(v)) {
    char keys[128] = "";
    size_t used = 0, shown = 0;
    const char *key;
    json_t *member;
    json_object_foreach(v, key, member) {
      int w = snprintf(keys + used, sizeof(keys) - used, "%s%s", shown ? ", " : "", key);
      if (w < 0 || (size_t)w >= sizeof(keys) - used || shown == 8) {
        snprintf(keys + used, sizeof(keys) - used, ", ...");
        break;
      }
      used += (size_t)w;
      shown++;
    }
    snprintf(out, out_len, "%s is an object with %s%s", at, shown ? "keys " : "no keys", keys);
  } else if (json_is_array(v)) {
    snprintf(out, out_len, "%s is an array of %zu element%s", at, json_array_size(v),
             json_array_size(v) == 1 ? "" : "s");
  } else {
    snprintf(out, out_len, "%s is %s, with nothing inside", at,
             json_is_string(v)    ? "a string"
             : json_is_null(v)    ? "null"
             : json_is_boolean(v) ? "a boolean"
                                  : "a number");
  }
}

int rest_response_status(rest_source *s, rest_xfer *x, int page, long *status_out, char *msg,
                         size_t msg_len) {
  long status = 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
    snprintf(msg, msg_len, "no HTTP status");
    return -EPROTO;
  }
  if (s->is_file && status == 0) {
    status = 200; /* a file read without error: curl reports no status */
  }
  if (!status_accepted(s, status)) {
    char *to = NULL;
    if (status >= 300 && status <= 399 && !s->follow_redirects &&
        curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &to) == CURLE_OK && to != NULL) {
      char shown[1024];
      rest_url_show(s, to, shown, sizeof(shown));
      cut_query(shown, sizeof(shown));
      snprintf(msg, msg_len,
               "HTTP %ld: redirected to %s; set follow_redirects to follow it, or accept_status "
               "to take the answer as it is",
               status, shown);
      return -EIO;
    }
    char excerpt[201];
    body_excerpt(&x->body, excerpt, sizeof(excerpt));
    /* The page, past the first, as libcurl's errors say it. */
    char where[24] = "";
    if (page > 1) {
      snprintf(where, sizeof(where), "page %d: ", page);
    }
    snprintf(msg, msg_len, "%sHTTP %ld: %s", where, status,
             excerpt[0] != '\0' ? excerpt : "(an empty body)");
    return -EIO;
  }
  *status_out = status;
  return 0;
}

int rest_response_select(rest_source *s, rest_xfer *x, long status, int page, json_t *doc,
                         rest_records *records, char *msg, size_t msg_len) {
  json_t *sel = doc;
  if (s->select != NULL) {
    sel = rest_jsonptr_get(doc, s->select);
    if (sel == NULL) {
      char there[160];
      describe_miss(doc, s->select, there, sizeof(there));
      snprintf(msg, msg_len, "select \"%s\" matches nothing in the response: %s", s->select, there);
      return -ENOENT;
    }
  }
  /* One meta for the page, shared by its records: the host only reads
   * it, and a page of 300,000 elements built 300,000 alike. */
  json_t *meta = make_meta(x, status, page);
  if (meta == NULL) {
    snprintf(msg, msg_len, "out of memory");
    return -ENOMEM;
  }
  int rc = 0;
  if (s->split && json_is_array(sel)) {
    size_t i;
    json_t *v;
    json_array_foreach(sel, i, v) {
      rc = rest_records_push(records, json_incref(v), json_incref(meta));
      if (rc != 0) {
        break;
      }
    }
  } else {
    if (s->split && !s->warned_split) {
      /* Emitting the value whole is right, but the user asked for
       * elements: say so once rather than on every round. */
      s->warned_split = 1;
      s->api->log(s->src, SIPHON_LOG_WARN,
                  "split: the selected value is not an array; emitting it as one record");
    }
    rc = rest_records_push(records, json_incref(sel), json_incref(meta));
  }
  json_decref(meta);
  if (rc != 0) {
    snprintf(msg, msg_len, "out of memory");
  }
  return rc;
}
