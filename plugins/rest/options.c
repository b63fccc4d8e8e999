/* Turns a source's validated options into a rest_source once, in
 * create(), so that a round only copies pointers into an easy handle.
 * The host has checked JSON types; this checks what a table cannot:
 * URLs, pointers, status ranges, the paginate object. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rest.h"

__attribute__((format(printf, 3, 4))) static int fail(siphon_error *err, const char *path,
                                                      const char *fmt, ...) {
  snprintf(err->path, sizeof(err->path), "%s", path);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->text, sizeof(err->text), fmt, ap);
  va_end(ap);
  return -EINVAL;
}

/* A TLS file named in the options: found now, so that --check fails where
 * every round would (libcurl says only that it could not load it, from
 * the first transfer on). A PKCS#11 URI is the engine's to find. */
static int check_readable(const char *key, const char *path, siphon_error *err) {
  if (strncmp(path, "pkcs11:", 7) == 0) {
    return 0;
  }
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block --check */
  if (fd < 0) {
    return fail(err, key, "cannot read %s: %s", path, strerror(errno));
  }
  struct stat st;
  int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  close(fd);
  if (!regular) {
    return fail(err, key, "%s is not a file", path);
  }
  return 0;
}

/* What a wrong value is, for "expected X, got Y" (never the value: it may
 * be a secret). */
static const char *found(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT:
      return "an object";
    case JSON_ARRAY:
      return "an array";
    case JSON_STRING:
      return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
      return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
      return "a boolean";
    default:
      return "null";
  }
}

static char *dup_opt(const json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v != NULL ? strdup(v) : NULL;
}

/* A query value as text: strings as they are, numbers and booleans in
 * their JSON spelling. */
static char *scalar_text(const json_t *v) {
  if (json_is_string(v)) {
    return strdup(json_string_value(v));
  }
  if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  }
  return NULL;
}

/* parent.key, or parent["key"] for a key that is not plain (a dot, a
 * space), as the host writes paths (docs/CONFIG.md, "Errors"). */
static void key_path(char *out, size_t size, const char *parent, const char *key) {
  int plain = key[0] != '\0' && !isdigit((unsigned char)key[0]);
  for (const char *c = key; *c != '\0' && plain; c++) {
    plain = isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '$';
  }
  if (plain) {
    snprintf(out, size, "%s.%s", parent, key);
    return;
  }
  json_t *s = json_string(key);
  char *quoted = s != NULL ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
  json_decref(s);
  snprintf(out, size, "%s[%s]", parent, quoted != NULL ? quoted : "?");
  free(quoted);
}

/* Appends each member of obj to u's query, URL-encoded; `name` is the
 * option, for the error's path. */
static int add_query(CURLU *u, const json_t *obj, const char *name, siphon_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    char *text = scalar_text(v);
    char path[SIPHON_ERROR_PATH_LENGTH];
    key_path(path, sizeof(path), name, key);
    if (text == NULL) {
      return fail(err, path, "expected a string, number or boolean, got %s", found(v));
    }
    if (strchr(key, '=') != NULL) {
      /* The server would read the name up to it, and the rest as value. */
      free(text);
      return fail(err, path, "a query parameter's name cannot hold '='");
    }
    size_t n = strlen(key) + strlen(text) + 2;
    char *pair = malloc(n);
    if (pair == NULL) {
      free(text);
      return -ENOMEM;
    }
    snprintf(pair, n, "%s=%s", key, text);
    CURLUcode uc = curl_url_set(u, CURLUPART_QUERY, pair, CURLU_APPENDQUERY | CURLU_URLENCODE);
    free(pair);
    free(text);
    if (uc != CURLUE_OK) {
      return fail(err, path, "cannot be added to the URL: %s", curl_url_strerror(uc));
    }
  }
  return 0;
}

/* secret_query's names, for rest_url_show() to mask their values. */
static int keep_secret_keys(rest_source *s, const json_t *o, siphon_error *err) {
  const json_t *secret = json_object_get(o, "secret_query");
  size_t n = json_object_size(secret);
  if (n == 0) {
    return 0;
  }
  s->secret_keys = calloc(n, sizeof(char *));
  if (s->secret_keys == NULL) {
    return -ENOMEM;
  }
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)secret, key, v) {
    (void)v;
    if (json_object_get(json_object_get(o, "query"), key) != NULL) {
      char path[SIPHON_ERROR_PATH_LENGTH];
      key_path(path, sizeof(path), "secret_query", key);
      return fail(err, path, "is in query too: give it once, here");
    }
    s->secret_keys[s->n_secret_keys] = strdup(key);
    if (s->secret_keys[s->n_secret_keys] == NULL) {
      return -ENOMEM;
    }
    s->n_secret_keys++;
  }
  return 0;
}

static int build_url(rest_source *s, const json_t *o, siphon_error *err) {
  const char *url = json_string_value(json_object_get(o, "url"));
  CURLU *u = curl_url();
  if (u == NULL) {
    return -ENOMEM;
  }
  int rc = 0;
  char *scheme = NULL;
  CURLUcode parsed = curl_url_set(u, CURLUPART_URL, url, 0);
  if (parsed == CURLUE_OK) {
    parsed = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  }
  if (parsed != CURLUE_OK) {
    /* libcurl's reason ("Port number was not a decimal number between 0
     * and 65535") when it has a precise one. */
    int vague = parsed == CURLUE_MALFORMED_INPUT || parsed == CURLUE_NO_SCHEME ||
                parsed == CURLUE_BAD_SCHEME;
    const char *why = vague ? NULL : curl_url_strerror(parsed);
    char shown[SIPHON_ERROR_TEXT_LENGTH];
    rest_url_mask(url, shown, sizeof(shown)); /* a password in it stays hidden */
    rc = fail(err, "url",
              "expected an absolute http://, https:// or file:// URL, got \"%.120s\"%s%s", shown,
              why != NULL ? ": " : "", why != NULL ? why : "");
    goto out;
  }
  /* file:// reads a local file through the same path (format, select,
   * split): a file another tool keeps up to date, or the offline demo. */
  s->is_file = strcmp(scheme, "file") == 0;
  if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0 && !s->is_file) {
    rc = fail(err, "url", "expected an http, https or file URL, got scheme \"%s\"", scheme);
    goto out;
  }
  char *file_path = NULL;
  struct stat st;
  if (s->is_file && curl_url_get(u, CURLUPART_PATH, &file_path, CURLU_URLDECODE) == CURLUE_OK &&
      stat(file_path, &st) == 0 && S_ISDIR(st.st_mode)) {
    /* libcurl 7.88 reads a directory as an empty file. (One missing now
     * may appear before the first round: not an error here.) */
    rc = fail(err, "url", "%s is a directory: expected a file", file_path);
    curl_free(file_path);
    goto out;
  }
  curl_free(file_path);
  char *user = NULL;
  if (json_object_get(o, "basic") != NULL &&
      curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
    /* libcurl would send basic's and show the URL's in meta.url. */
    curl_free(user);
    rc = fail(err, "url", "holds a user, and basic gives one too: keep one");
    goto out;
  }
  if (!s->is_file && curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE) == CURLUE_OK) {
    /* Used as basic's are: a next page the server names in full has no
     * userinfo of its own, yet needs them as much, and the password is a
     * secret that rest_redact() must know. libcurl takes these over the
     * URL's (the same values), and drops them as it drops basic's on a
     * redirect to another host. */
    char *password = NULL;
    if (curl_url_get(u, CURLUPART_PASSWORD, &password, CURLU_URLDECODE) != CURLUE_OK) {
      password = NULL;
    }
    s->user = strdup(user);
    s->password = strdup(password != NULL ? password : "");
    curl_free(user);
    curl_free(password);
    if (s->user == NULL || s->password == NULL) {
      rc = -ENOMEM;
      goto out;
    }
  }
  rc = add_query(u, json_object_get(o, "query"), "query", err);
  if (rc == 0) {
    rc = add_query(u, json_object_get(o, "secret_query"), "secret_query", err);
  }
  if (rc != 0) {
    goto out;
  }
  rc = keep_secret_keys(s, o, err);
  if (rc != 0) {
    goto out;
  }
  if (curl_url_get(u, CURLUPART_URL, &s->url, 0) != CURLUE_OK) {
    rc = fail(err, "url", "cannot be rebuilt: \"%s\"", url);
  }
out:
  curl_free(scheme);
  curl_url_cleanup(u);
  return rc;
}

static int add_header(rest_source *s, const char *line) {
  struct curl_slist *l = curl_slist_append(s->headers, line);
  if (l == NULL) {
    return -ENOMEM;
  }
  s->headers = l;
  return 0;
}

static int build_headers_and_body(rest_source *s, const json_t *o, siphon_error *err) {
  int has_type = 0;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(o, "headers"), key, v) {
    char path[SIPHON_ERROR_PATH_LENGTH];
    key_path(path, sizeof(path), "headers", key);
    if (!json_is_string(v)) {
      return fail(err, path, "expected a string header value, got %s", found(v));
    }
    if (key[0] == '\0' || strpbrk(key, ": \r\n") != NULL) {
      return fail(err, path, "\"%s\" is not a valid header name", key);
    }
    /* Names are case-insensitive: both would go on the wire. */
    const char *other;
    json_t *ov;
    json_object_foreach((json_t *)json_object_get(o, "headers"), other, ov) {
      if (other == key) {
        break;
      }
      if (strcasecmp(other, key) == 0) {
        return fail(err, path, "is headers.%s again (header names ignore case): give it once",
                    other);
      }
    }
    const char *auth = json_object_get(o, "bearer") != NULL        ? "bearer"
                       : json_object_get(o, "bearer_file") != NULL ? "bearer_file"
                       : json_object_get(o, "basic") != NULL       ? "basic"
                                                                   : NULL;
    if (strcasecmp(key, "Authorization") == 0 && auth != NULL) {
      return fail(err, path, "and %s both set the Authorization header: keep one", auth);
    }
    const char *val = json_string_value(v);
    if (strpbrk(val, "\r\n") != NULL) {
      return fail(err, path, "a header value cannot contain a line break");
    }
    size_t n = strlen(key) + strlen(val) + 3;
    char *line = malloc(n);
    if (line == NULL) {
      return -ENOMEM;
    }
    /* "Name;" is curl's spelling of a header with an empty value. */
    if (val[0] == '\0') {
      snprintf(line, n, "%s;", key);
    } else {
      snprintf(line, n, "%s: %s", key, val);
    }
    int rc = add_header(s, line);
    free(line);
    if (rc != 0) {
      return rc;
    }
    if (strcasecmp(key, "Content-Type") == 0) {
      has_type = 1;
    }
  }
  const json_t *body = json_object_get(o, "body");
  if (body == NULL || json_is_null(body)) {
    return 0;
  }
  if (json_is_string(body)) {
    s->body_len = json_string_length(body);
    s->body = malloc(s->body_len + 1);
    if (s->body == NULL) {
      return -ENOMEM;
    }
    memcpy(s->body, json_string_value(body), s->body_len + 1);
    return 0;
  }
  s->body = json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
  if (s->body == NULL) {
    return -ENOMEM;
  }
  s->body_len = strlen(s->body);
  return has_type ? 0 : add_header(s, "Content-Type: application/json");
}

/* accept_status: integers (404), "4xx" or "400-499". */
static int build_accept(rest_source *s, const json_t *o, siphon_error *err) {
  const json_t *a = json_object_get(o, "accept_status");
  size_t n = json_array_size(a);
  if (n == 0) {
    return 0;
  }
  s->accept = calloc(n, sizeof(*s->accept));
  if (s->accept == NULL) {
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *v = json_array_get(a, i);
    char path[SIPHON_ERROR_PATH_LENGTH];
    snprintf(path, sizeof(path), "accept_status[%zu]", i);
    long lo = -1, hi = -1;
    if (json_is_integer(v)) {
      lo = hi = (long)json_integer_value(v);
    } else if (json_is_string(v)) {
      const char *t = json_string_value(v);
      char c;
      if (strlen(t) == 3 && t[0] >= '1' && t[0] <= '5' && (t[1] == 'x' || t[1] == 'X') &&
          (t[2] == 'x' || t[2] == 'X')) {
        lo = (t[0] - '0') * 100;
        hi = lo + 99;
      } else if (sscanf(t, "%ld-%ld%c", &lo, &hi, &c) != 2) {
        lo = hi = -1;
      }
    }
    if (lo >= 100 && hi <= 599 && lo > hi) {
      return fail(err, path, "the range runs backwards: write \"%ld-%ld\"", hi, lo);
    }
    if (lo < 100 || hi > 599 || lo > hi) {
      return fail(err, path, "expected a status (404), a class (\"4xx\") or a range (\"400-404\")");
    }
    s->accept[s->n_accept].lo = lo;
    s->accept[s->n_accept].hi = hi;
    s->n_accept++;
  }
  return 0;
}

static int check_ptr(const char *ptr, const char *path, siphon_error *err) {
  if (rest_jsonptr_check(ptr) != 0) {
    return fail(err, path, "expected a JSON Pointer such as \"/items\" (RFC 6901), got \"%s\"",
                ptr);
  }
  return 0;
}

static int build_paginate(rest_source *s, const json_t *o, siphon_error *err) {
  const json_t *p = json_object_get(o, "paginate");
  if (p == NULL || json_is_null(p)) {
    return 0;
  }
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)p, key, v) {
    char path[SIPHON_ERROR_PATH_LENGTH];
    snprintf(path, sizeof(path), "paginate.%s", key);
    if (strcmp(key, "type") != 0 && strcmp(key, "next_url") != 0 && strcmp(key, "cursor") != 0 &&
        strcmp(key, "cursor_param") != 0) {
      return fail(err, path, "unknown key \"%s\"; expected type, next_url, cursor or cursor_param",
                  key);
    }
    if (!json_is_string(v)) {
      return fail(err, path, "expected a string, got %s", found(v));
    }
  }
  const char *type = json_string_value(json_object_get(p, "type"));
  if (type == NULL) {
    return fail(err, "paginate.type", "required: \"link_header\", \"next_url\" or \"cursor\"");
  }
  /* A key of another type would do nothing: said, not ignored. */
  static const struct {
    const char *key, *type;
  } uses[] = {{"next_url", "next_url"}, {"cursor", "cursor"}, {"cursor_param", "cursor"}};
  for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
    if (json_object_get(p, uses[i].key) != NULL && strcmp(type, uses[i].type) != 0 &&
        (strcmp(type, "link_header") == 0 || strcmp(type, "next_url") == 0 ||
         strcmp(type, "cursor") == 0)) {
      char path[SIPHON_ERROR_PATH_LENGTH];
      snprintf(path, sizeof(path), "paginate.%s", uses[i].key);
      return fail(err, path, "is not used by type %s (only by type %s): remove it", type,
                  uses[i].type);
    }
  }
  if (strcmp(type, "link_header") == 0) {
    s->page_type = REST_PAGE_LINK;
  } else if (strcmp(type, "next_url") == 0) {
    s->page_type = REST_PAGE_NEXT_URL;
    s->page_next_ptr = dup_opt(p, "next_url");
    if (s->page_next_ptr == NULL) {
      return fail(err, "paginate.next_url",
                  "required with type next_url: a JSON Pointer to the next page's URL");
    }
    return check_ptr(s->page_next_ptr, "paginate.next_url", err);
  } else if (strcmp(type, "cursor") == 0) {
    s->page_type = REST_PAGE_CURSOR;
    s->page_cursor_ptr = dup_opt(p, "cursor");
    if (s->page_cursor_ptr == NULL) {
      return fail(err, "paginate.cursor",
                  "required with type cursor: a JSON Pointer to the next cursor");
    }
    const char *param = json_string_value(json_object_get(p, "cursor_param"));
    if (param != NULL && (param[0] == '\0' || strpbrk(param, "=&#") != NULL)) {
      return fail(err, "paginate.cursor_param",
                  "expected a query parameter's name, such as \"after\", got \"%s\"", param);
    }
    s->page_cursor_param = strdup(param != NULL ? param : "cursor");
    if (s->page_cursor_param == NULL) {
      return -ENOMEM;
    }
    return check_ptr(s->page_cursor_ptr, "paginate.cursor", err);
  } else {
    /* "linkheader", "link-header", "next-url": the usual slips. */
    const char *near = strncasecmp(type, "link", 4) == 0   ? "link_header"
                       : strncasecmp(type, "next", 4) == 0 ? "next_url"
                       : strncasecmp(type, "curs", 4) == 0 ? "cursor"
                                                           : NULL;
    if (near != NULL) {
      return fail(err, "paginate.type",
                  "expected \"link_header\", \"next_url\" or \"cursor\", got \"%s\"; did you "
                  "mean \"%s\"?",
                  type, near);
    }
    return fail(err, "paginate.type",
                "expected \"link_header\", \"next_url\" or \"cursor\", got \"%s\"", type);
  }
  return 0;
}

static int build_auth(rest_source *s, const json_t *o, siphon_error *err) {
  const json_t *basic = json_object_get(o, "basic");
  const json_t *bearer = json_object_get(o, "bearer");
  const json_t *bearer_file = json_object_get(o, "bearer_file");
  if (basic != NULL && bearer != NULL) {
    return fail(err, "bearer", "set either basic or bearer, not both");
  }
  if (bearer_file != NULL && (basic != NULL || bearer != NULL)) {
    return fail(err, "bearer_file", "set one of basic, bearer and bearer_file, not %s too",
                bearer != NULL ? "bearer" : "basic");
  }
  if (bearer_file != NULL) {
    s->bearer_file = strdup(json_string_value(bearer_file));
    if (s->bearer_file == NULL) {
      return -ENOMEM;
    }
  }
  if (basic != NULL) {
    const json_t *u = json_object_get(basic, "user");
    const json_t *p = json_object_get(basic, "password");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)basic, key, v) {
      if (strcmp(key, "user") != 0 && strcmp(key, "password") != 0) {
        return fail(err, "basic", "unknown key \"%s\"; expected user and password", key);
      }
    }
    if (u == NULL) {
      return fail(err, "basic", "missing required key \"user\"");
    }
    if (!json_is_string(u)) {
      return fail(err, "basic.user", "expected a string, got %s", found(u));
    }
    if (strchr(json_string_value(u), ':') != NULL) {
      /* RFC 7617: the first ':' ends the user. */
      return fail(err, "basic.user", "cannot hold ':' (basic auth ends the user at the first one)");
    }
    if (p == NULL) {
      return fail(err, "basic",
                  "missing required key \"password\" (write \"\" for an API that "
                  "takes the key as the user and no password)");
    }
    if (!json_is_string(p)) {
      return fail(err, "basic.password", "expected a string, got %s", found(p));
    }
    s->user = strdup(json_string_value(u));
    s->password = strdup(p != NULL ? json_string_value(p) : "");
    if (s->user == NULL || s->password == NULL) {
      return -ENOMEM;
    }
  }
  if (bearer != NULL) {
    const char *tok = json_string_value(bearer);
    /* A token from a variable or a file often ends in a newline: sent as
     * is, it would end the header, and what follows would be another. */
    if (tok[0] == '\0') {
      return fail(err, "bearer", "is empty: an unset variable? (the token is not shown)");
    }
    if (strpbrk(tok, "\r\n") != NULL) {
      return fail(err, "bearer",
                  "holds a line break (a variable's trailing newline?): it would end the "
                  "Authorization header (the token is not shown)");
    }
    s->bearer = strdup(tok);
    if (s->bearer == NULL) {
      return -ENOMEM;
    }
  }
  return 0;
}

static long opt_long(const json_t *o, const char *key) {
  return (long)json_integer_value(json_object_get(o, key));
}

/* Appends a copy of v to the source's secret values. */
static int push_secret(rest_source *s, const char *v) {
  char **grown = realloc(s->secret_values, (s->n_secret_values + 1) * sizeof(char *));
  if (grown == NULL) {
    return -ENOMEM;
  }
  s->secret_values = grown;
  s->secret_values[s->n_secret_values] = strdup(v);
  if (s->secret_values[s->n_secret_values] == NULL) {
    return -ENOMEM;
  }
  s->n_secret_values++;
  return 0;
}

/* Adds a copy of v (and its URL-encoded forms, how a server echoing a URL
 * shows it) to what rest_redact() hides. Short values are left: "1" or
 * "yes" would blank out half a message. */
static int keep_secret_value(rest_source *s, const char *v) {
  if (v == NULL || strlen(v) < 4) {
    return 0;
  }
  char *enc = curl_easy_escape(NULL, v, 0);
  if (enc == NULL) {
    return -ENOMEM;
  }
  int rc = push_secret(s, v);
  if (rc == 0 && strcmp(enc, v) != 0) {
    rc = push_secret(s, enc);
  }
  if (rc == 0 && strstr(enc, "%20") != NULL) {
    /* The query's own encoding writes a space as '+' (CURLU_URLENCODE):
     * "%20" to "+" in place, the text only shrinks. */
    size_t k = 0;
    for (const char *c = enc; *c != '\0'; c++) {
      if (strncmp(c, "%20", 3) == 0) {
        enc[k++] = '+';
        c += 2;
      } else {
        enc[k++] = *c;
      }
    }
    enc[k] = '\0';
    rc = push_secret(s, enc);
  }
  curl_free(enc);
  return rc;
}

static int longest_first(const void *a, const void *b) {
  size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
  return la < lb ? 1 : la > lb ? -1 : 0;
}

/* "user:password" as an Authorization: Basic header carries it (RFC
 * 7617), for a server that echoes the header it refused. */
static int keep_basic_value(rest_source *s, const char *user, const char *password) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t ul = strlen(user), n = ul + 1 + strlen(password);
  unsigned char *in = malloc(n + 1);
  char *out = malloc((n + 2) / 3 * 4 + 1);
  int rc = -ENOMEM;
  if (in != NULL && out != NULL) {
    snprintf((char *)in, n + 1, "%s:%s", user, password);
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
      unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                   (i + 2 < n ? in[i + 2] : 0);
      out[k++] = b64[v >> 18 & 63];
      out[k++] = b64[v >> 12 & 63];
      out[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
      out[k++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[k] = '\0';
    rc = keep_secret_value(s, out);
  }
  free(in);
  free(out);
  return rc;
}

/* A credential header's value, and when it is "<scheme> <credentials>"
 * ("Bearer abc", "Token abc"), its credentials alone: a server that
 * refuses a token often names the token without the scheme. */
static int keep_header_value(rest_source *s, const char *v) {
  int rc = keep_secret_value(s, v);
  const char *sp = strchr(v, ' ');
  if (rc == 0 && sp != NULL && sp > v) {
    while (*sp == ' ') {
      sp++;
    }
    if (*sp != '\0' && strchr(sp, ' ') == NULL) {
      rc = keep_secret_value(s, sp);
    }
  }
  return rc;
}

/* The values that are secrets, for messages that quote what a server said
 * (an error page echoing the URL or the key it refused). */
static int keep_secret_values(rest_source *s, const json_t *o) {
  int rc = keep_secret_value(s, s->bearer);
  if (rc == 0) {
    rc = keep_secret_value(s, s->password);
  }
  if (rc == 0 && s->user != NULL) {
    /* basic's or the URL's (build_url): their Authorization header too. */
    rc = keep_basic_value(s, s->user, s->password);
  }
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(o, "secret_query"), key, v) {
    char *text = rc == 0 ? scalar_text(v) : NULL;
    if (text != NULL) {
      rc = keep_secret_value(s, text);
      free(text);
    }
  }
  /* Only the headers whose names say they carry one: an Accept's value
   * masked would garble every message that names the type. */
  json_object_foreach((json_t *)json_object_get(o, "headers"), key, v) {
    if (rc == 0 && json_is_string(v) && rest_header_is_credential(key)) {
      rc = keep_header_value(s, json_string_value(v));
    }
  }
  if (rc == 0 && s->n_secret_values > 1) {
    qsort(s->secret_values, s->n_secret_values, sizeof(char *), longest_first);
  }
  return rc;
}

int rest_source_set_bearer(rest_source *s, char *tok) {
  size_t k = 0;
  for (size_t i = 0; i < s->n_secret_values; i++) {
    int old = 0;
    for (size_t j = 0; j < s->n_bearer_forms; j++) {
      old = old || s->secret_values[i] == s->bearer_forms[j];
    }
    if (old) {
      free(s->secret_values[i]);
    } else {
      s->secret_values[k++] = s->secret_values[i];
    }
  }
  s->n_secret_values = k;
  s->n_bearer_forms = 0;
  free(s->bearer);
  s->bearer = tok;
  size_t before = s->n_secret_values;
  int rc = keep_secret_value(s, tok);
  for (size_t i = before; i < s->n_secret_values && s->n_bearer_forms < 3; i++) {
    s->bearer_forms[s->n_bearer_forms++] = s->secret_values[i];
  }
  if (s->n_secret_values > 1) {
    qsort(s->secret_values, s->n_secret_values, sizeof(char *), longest_first);
  }
  return rc;
}

/* Whether the source's headers name `name` (any case). */
static int has_header(const rest_source *s, const char *name) {
  size_t n = strlen(name);
  for (const struct curl_slist *h = s->headers; h != NULL; h = h->next) {
    if (strncasecmp(h->data, name, n) == 0 && (h->data[n] == ':' || h->data[n] == ';')) {
      return 1;
    }
  }
  return 0;
}

/* The proxy, checked now, not by libcurl at the first round: its
 * messages quote the proxy whole, password included ("Unsupported proxy
 * scheme for 'foo://u:pass@...'"). Its password joins the secrets that
 * rest_redact() masks, since a proxy's answer may repeat it. */
static int build_proxy(rest_source *s, const json_t *o, siphon_error *err) {
  s->proxy = dup_opt(o, "proxy");
  /* "" is libcurl's "no proxy", even when http_proxy is set. */
  if (s->proxy == NULL || s->proxy[0] == '\0') {
    return 0;
  }
  char shown[SIPHON_ERROR_TEXT_LENGTH / 2];
  rest_url_mask(s->proxy, shown, sizeof(shown));
  const char *at = strrchr(s->proxy, '@');
  if (strstr(s->proxy, "://") == NULL && at != NULL) {
    /* "user:pass@proxy:3128", no scheme: rest_url_mask leaves it. */
    snprintf(shown, sizeof(shown), "****%s", at);
  }
  /* As libcurl 7.88 parses it: a name without a scheme gets a guessed
   * one, which for "ftp.corp:3128" is ftp. */
  CURLU *pu = curl_url();
  char *scheme = NULL, *password = NULL;
  CURLUcode puc = pu != NULL ? curl_url_set(pu, CURLUPART_URL, s->proxy,
                                            CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)
                             : CURLUE_OUT_OF_MEMORY;
  if (puc == CURLUE_OK) {
    puc = curl_url_get(pu, CURLUPART_SCHEME, &scheme, 0);
  }
  if (puc == CURLUE_OK &&
      curl_url_get(pu, CURLUPART_PASSWORD, &password, CURLU_URLDECODE) != CURLUE_OK) {
    password = NULL;
  }
  curl_url_cleanup(pu);
  if (puc != CURLUE_OK) {
    return fail(err, "proxy", "expected a proxy URL such as \"http://proxy:3128\", got \"%s\": %s",
                shown, curl_url_strerror(puc));
  }
  static const char *const schemes[] = {"http",    "https",  "socks",  "socks4",
                                        "socks4a", "socks5", "socks5h"};
  int known = 0;
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    known = known || strcasecmp(scheme, schemes[i]) == 0;
  }
  if (!known) {
    int rc = fail(err, "proxy",
                  "\"%s\": a scheme libcurl has no proxy for (%s); expected http://, https://, "
                  "socks:// (SOCKS4), socks4://, socks4a://, socks5:// or socks5h://%s",
                  shown, scheme,
                  strstr(s->proxy, "://") == NULL ? " (a name without one is guessed as its first "
                                                    "label says: write it)"
                                                  : "");
    curl_free(scheme);
    curl_free(password);
    return rc;
  }
  curl_free(scheme);
  int rc = keep_secret_value(s, password);
  curl_free(password);
  return rc;
}

int rest_source_configure(rest_source *s, const json_t *o, siphon_error *err) {
  int rc = build_url(s, o, err);
  if (rc == 0) {
    rc = build_headers_and_body(s, o, err);
  }
  if (rc == 0) {
    rc = build_accept(s, o, err);
  }
  if (rc == 0) {
    rc = build_paginate(s, o, err);
  }
  if (rc == 0) {
    rc = build_auth(s, o, err);
  }
  if (rc == 0) {
    rc = build_proxy(s, o, err);
  }
  if (rc == 0) {
    rc = keep_secret_values(s, o);
  }
  if (rc == 0 && s->bearer_file != NULL) {
    /* Read now, so that --check finds what every round would. */
    char msg[SIPHON_ERROR_TEXT_LENGTH];
    rc = rest_bearer_file_refresh(s, msg, sizeof(msg));
    if (rc != 0 && rc != -ENOMEM) {
      return fail(err, "bearer_file", "%s", msg);
    }
  }
  if (rc != 0) {
    return rc;
  }
  const char *method = json_string_value(json_object_get(o, "method"));
  s->head = strcmp(method, "HEAD") == 0;
  s->post = strcmp(method, "POST") == 0;
  if (strcmp(method, "GET") != 0 && !s->head && !s->post) {
    s->method = strdup(method);
    if (s->method == NULL) {
      return -ENOMEM;
    }
  }
  if (s->body != NULL && !s->post && s->method == NULL) {
    return fail(err, "body", "a body needs method POST, PUT, PATCH or DELETE, not %s", method);
  }
  /* POST, PUT and PATCH without a body still send an empty one, with
   * Content-Length: 0 (some servers answer 411 without it), but not
   * libcurl's form Content-Type, which would describe nothing. */
  s->empty_body =
      s->body == NULL && (s->post || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0);
  if (s->empty_body && !has_header(s, "Content-Type") && add_header(s, "Content-Type:") != 0) {
    return -ENOMEM;
  }
  s->ca_file = dup_opt(o, "ca_file");
  s->client_cert = dup_opt(o, "client_cert");
  s->client_key = dup_opt(o, "client_key");
  s->insecure = json_is_true(json_object_get(o, "insecure_skip_verify"));
  s->connect_timeout_ms = opt_long(o, "connect_timeout");
  s->follow_redirects = json_is_true(json_object_get(o, "follow_redirects"));
  s->max_redirects = opt_long(o, "max_redirects");
  s->max_body = (long long)json_integer_value(json_object_get(o, "max_body_bytes"));
  s->max_pages = opt_long(o, "max_pages");
  s->format_text = strcmp(json_string_value(json_object_get(o, "format")), "text") == 0;
  s->split = json_is_true(json_object_get(o, "split"));
  s->select = dup_opt(o, "select");
  if (s->select != NULL && check_ptr(s->select, "select", err) != 0) {
    return -EINVAL;
  }
  /* Options that could never take effect fail every round, or do
   * nothing: said here instead. */
  if (s->select != NULL && s->format_text) {
    return fail(err, "select",
                "picks from a JSON document, and format \"text\" gives a string: "
                "remove one");
  }
  if (s->select != NULL && s->head) {
    return fail(err, "select", "picks from the body, and method HEAD has none: remove one");
  }
  /* next_url and cursor read the body too: they would find no next page,
   * and every round would stop after its first without a word. */
  int body_page = s->page_type == REST_PAGE_NEXT_URL || s->page_type == REST_PAGE_CURSOR;
  if (body_page && s->format_text) {
    return fail(err, "paginate.type",
                "%s reads a JSON document, and format \"text\" gives a string: use "
                "link_header, or format \"json\"",
                s->page_type == REST_PAGE_CURSOR ? "cursor" : "next_url");
  }
  if (body_page && s->head) {
    return fail(err, "paginate.type",
                "%s reads the body, and method HEAD has none: use link_header, or another "
                "method",
                s->page_type == REST_PAGE_CURSOR ? "cursor" : "next_url");
  }

  if (s->client_key != NULL && s->client_cert == NULL) {
    return fail(err, "client_key", "needs client_cert too");
  }
  const char *const tls_keys[] = {"ca_file", "client_cert", "client_key"};
  const char *const tls_files[] = {s->ca_file, s->client_cert, s->client_key};
  for (size_t i = 0; i < 3; i++) {
    if (tls_files[i] != NULL && check_readable(tls_keys[i], tls_files[i], err) != 0) {
      return -EINVAL;
    }
  }
  if (s->max_body <= 0) {
    return fail(err, "max_body_bytes", "expected a positive number of bytes");
  }
  if (s->max_pages < 1) {
    return fail(err, "max_pages", "expected at least 1");
  }
  if (s->max_redirects < 0) {
    return fail(err, "max_redirects", "expected 0 or more");
  }
  if (s->connect_timeout_ms < 0) {
    return fail(err, "connect_timeout", "expected a duration of 0 or more");
  }
  if (opt_long(o, "max_connections") < 0) {
    return fail(err, "max_connections", "expected 0 (no cap) or more");
  }
  if (opt_long(o, "max_host_connections") < 0) {
    return fail(err, "max_host_connections", "expected 0 (no cap) or more");
  }
  return 0;
}

void rest_source_free(rest_source *s) {
  for (size_t i = 0; i < s->n_secret_keys; i++) {
    free(s->secret_keys[i]);
  }
  free(s->secret_keys);
  for (size_t i = 0; i < s->n_secret_values; i++) {
    free(s->secret_values[i]);
  }
  free(s->secret_values);
  curl_free(s->url);
  free(s->method);
  free(s->body);
  curl_slist_free_all(s->headers);
  free(s->user);
  free(s->password);
  free(s->bearer);
  free(s->bearer_file);
  free(s->ca_file);
  free(s->client_cert);
  free(s->client_key);
  free(s->proxy);
  free(s->accept);
  free(s->select);
  free(s->page_next_ptr);
  free(s->page_cursor_ptr);
  free(s->page_cursor_param);
  free(s);
}
