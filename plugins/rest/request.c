/* One page's transfer: an easy handle set up from the source's resolved
 * options, with the body collected up to max_body_bytes and the Link
 * header kept for pagination. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest.h"

int rest_buf_append(rest_buf *b, const char *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) {
      cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL) {
      return -ENOMEM;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

void rest_buf_free(rest_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
  rest_xfer *x = userp;
  size_t n = size * nmemb;
  /* Abort as soon as the limit is passed: a chunked or lying response is
   * never buffered whole. Returning less than n fails the transfer. */
  if ((long long)(x->body.len + n) > x->s->max_body) {
    x->too_big = 1;
    return 0;
  }
  if (rest_buf_append(&x->body, data, n) != 0) {
    x->oom = 1;
    return 0;
  }
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp) {
  rest_xfer *x = userp;
  size_t n = size * nmemb;
  /* A new status line (a redirect was followed): earlier Links are stale,
   * and so is what the last response said of its connection. HTTP/1.0
   * closes unless it says keep-alive. */
  if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    /* libcurl 7.88 keeps a custom method on every redirect it follows,
     * but drops the body: a 303's target, which wants a GET, would get a
     * PUT without one. 301 and 302 keep the method and its body
     * (CURLOPT_POSTREDIR), as browsers do. */
    const char *sp = memchr(data, ' ', n);
    if (x->s->method != NULL && x->s->follow_redirects && sp != NULL &&
        (size_t)(sp - data) + 4 <= n && strncmp(sp + 1, "303", 3) == 0) {
      x->see_other = 1;
      return 0;
    }
    x->link.len = 0;
    if (x->link.data != NULL) {
      x->link.data[0] = '\0';
    }
    x->closes = n >= 8 && strncmp(data, "HTTP/1.0", 8) == 0;
    return n;
  }
  if (n >= 11 && strncasecmp(data, "connection:", 11) == 0) {
    /* Tokens are case-insensitive; "close" and "keep-alive" are the two
     * that matter here. */
    char v[64];
    size_t len = n - 11 < sizeof(v) - 1 ? n - 11 : sizeof(v) - 1;
    for (size_t i = 0; i < len; i++) {
      v[i] = (char)tolower((unsigned char)data[11 + i]);
    }
    v[len] = '\0';
    if (strstr(v, "close") != NULL) {
      x->closes = 1;
    } else if (strstr(v, "keep-alive") != NULL) {
      x->closes = 0;
    }
    return n;
  }
  if (x->s->page_type != REST_PAGE_LINK || n < 5 || strncasecmp(data, "link:", 5) != 0) {
    return n;
  }
  size_t a = 5, b = n;
  while (a < b && (data[a] == ' ' || data[a] == '\t')) {
    a++;
  }
  while (b > a && (data[b - 1] == '\r' || data[b - 1] == '\n' || data[b - 1] == ' ')) {
    b--;
  }
  /* libcurl 7.88 bounds each header line, not their number. */
  if (x->link.len + 2 + (b - a) > REST_LINK_MAX) {
    x->link_too_big = 1;
    return 0;
  }
  if ((x->link.len > 0 && rest_buf_append(&x->link, ", ", 2) != 0) ||
      rest_buf_append(&x->link, data + a, b - a) != 0) {
    x->oom = 1;
    return 0;
  }
  return n;
}

/* Receive buffers between 1 KiB (curl's least) and 64 KiB. A source's
 * first request, with no response to size it by, gets one page: most API
 * answers fit, and a cold round of 10,000 sources peaks about 16 MiB lower
 * than with curl's default of 16 KiB (docs/bench/rest.md, "Memory"). */
#define REST_RECV_MIN 1024L
#define REST_RECV_FIRST 4096L
#define REST_RECV_MAX 65536L

#define SET(opt, val)                                \
  do {                                               \
    if (curl_easy_setopt(e, opt, val) != CURLE_OK) { \
      goto fail;                                     \
    }                                                \
  } while (0)

static int setup(rest_xfer *x, const char *url, long timeout_ms) {
  rest_source *s = x->s;
  CURL *e = x->easy;
  SET(CURLOPT_URL, url);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_BUFFERSIZE, s->recv_buffer > 0 ? s->recv_buffer : REST_RECV_FIRST);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, x);
  SET(CURLOPT_USERAGENT, "siphon-rest/1.0");
  /* Only the source's own kind of URL: a next page named by a server
   * is never a local file (paginate.c checks its origin too). */
  SET(CURLOPT_PROTOCOLS_STR, s->is_file ? "file" : "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  /* Sources of one HTTPS host that start together wait for the first
   * connection's ALPN answer instead of each opening its own: on HTTP/2
   * they then share it (multiplexed). Not for plain http://, which speaks
   * HTTP/1.1 here: there libcurl 7.88 would wait all the same, and then
   * queue the transfers on that one connection. */
  if (strncasecmp(url, "https://", 8) == 0) {
    SET(CURLOPT_PIPEWAIT, 1L);
  }
  /* "" offers every encoding this libcurl decodes (gzip, deflate, ...). */
  SET(CURLOPT_ACCEPT_ENCODING, "");
  SET(CURLOPT_TIMEOUT_MS, timeout_ms);
  if (s->headers != NULL) {
    SET(CURLOPT_HTTPHEADER, s->headers);
  }
  if (s->head) {
    /* No body comes, so a Content-Length over max_body_bytes is no
     * reason to fail. */
    SET(CURLOPT_NOBODY, 1L);
  } else {
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max_body);
  }
  if (s->post || s->body != NULL || s->empty_body) {
    /* POST is libcurl's own method, not a custom one, so that a 301, 302
     * or 303 after it is followed with a GET, as browsers do. A POST with
     * no body sends an empty one (never the default read callback's
     * stdin). */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len);
    SET(CURLOPT_POSTFIELDS, s->body != NULL ? s->body : "");
  }
  if (s->method != NULL) {
    SET(CURLOPT_CUSTOMREQUEST, s->method);
    SET(CURLOPT_POSTREDIR, (long)(CURL_REDIR_POST_301 | CURL_REDIR_POST_302));
  }
  if (s->user != NULL) {
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SET(CURLOPT_USERNAME, s->user);
    SET(CURLOPT_PASSWORD, s->password);
  }
  if (s->bearer != NULL) {
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    SET(CURLOPT_XOAUTH2_BEARER, s->bearer);
  }
  if (s->ca_file != NULL) {
    SET(CURLOPT_CAINFO, s->ca_file);
  }
  if (s->client_cert != NULL) {
    SET(CURLOPT_SSLCERT, s->client_cert);
  }
  if (s->client_key != NULL) {
    SET(CURLOPT_SSLKEY, s->client_key);
  }
  if (s->insecure) {
    SET(CURLOPT_SSL_VERIFYPEER, 0L);
    SET(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (s->proxy != NULL) {
    SET(CURLOPT_PROXY, s->proxy);
  }
  if (s->connect_timeout_ms > 0) {
    SET(CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
  }
  if (s->follow_redirects) {
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, s->max_redirects);
  }
  return 0;
fail:
  return -EINVAL;
}

void rest_xfer_time(rest_xfer *x) {
  /* libcurl started the transfer its total time before the engine found
   * it finished (redirects included: libcurl keeps one start for all of
   * them). A first page's asked time is uv_now(), which libuv 1.44 takes
   * from the same monotonic clock as uv_hrtime() (or its coarse twin,
   * within 1 ms), in whole ms rounded down: never late, so a wait is
   * never short. Time in libcurl's own queue (max_connections) counts as
   * elapsed_ms, not here. */
  curl_off_t total_us = 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us) != CURLE_OK) {
    total_us = 0;
  }
  x->elapsed_ms = (double)total_us / 1000.0;
  double started_ns = (double)x->job.done_ns - (double)total_us * 1000.0;
  double wait = (started_ns - (double)x->asked_ns) / 1e6;
  /* To the µs, as elapsed_ms is: finer is noise in a record. */
  x->wait_ms = wait > 0 ? (double)(int64_t)(wait * 1000.0) / 1000.0 : 0;
}

void rest_xfer_learn(rest_source *s, rest_xfer *x) {
  /* Each transfer in flight holds a receive buffer, 16 KiB by default:
   * with thousands in flight that is most of siphon's memory, and most
   * APIs polled answer in far less. The next transfer gets the smallest
   * power of two that held this whole response, so a small answer is
   * read in one recv() all the same, and a large one in fewer. */
  curl_off_t body = 0;
  long head = 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &body) != CURLE_OK ||
      curl_easy_getinfo(x->easy, CURLINFO_HEADER_SIZE, &head) != CURLE_OK) {
    return;
  }
  curl_off_t need = body + head;
  long size = REST_RECV_MIN;
  while (size < need && size < REST_RECV_MAX) {
    size *= 2;
  }
  s->recv_buffer = size;
}

rest_xfer *rest_xfer_new(rest_source *s, const char *url, long timeout_ms) {
  rest_xfer *x = calloc(1, sizeof(*x));
  if (x == NULL) {
    return NULL;
  }
  x->s = s;
  const char *q = strchr(url, '?');
  x->asked_query = strndup(q != NULL ? q : "", q != NULL ? strcspn(q, "#") : 0);
  if (x->asked_query == NULL) {
    free(x);
    return NULL;
  }
  x->easy = curl_easy_init();
  if (x->easy == NULL || setup(x, url, timeout_ms) != 0) {
    rest_xfer_free(x);
    return NULL;
  }
  return x;
}

void rest_xfer_free(rest_xfer *x) {
  if (x == NULL) {
    return;
  }
  if (x->easy != NULL) {
    curl_easy_cleanup(x->easy);
  }
  rest_buf_free(&x->body);
  rest_buf_free(&x->link);
  free(x->asked_query);
  free(x);
}
