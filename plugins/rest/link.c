/* The next page of a Link header (RFC 8288), for link_header pagination. */
#include <string.h>
#include <strings.h>

#include "rest.h"

/* RFC 8288's Link: #link-value, each "<" URI ">" *( OWS ";" OWS
 * link-param ), a link-param token [ BWS "=" BWS ( token /
 * quoted-string ) ]. Parsed, not searched: a title="go rel=next" or a
 * "<" inside a quoted value must not be taken for a link or a rel. */
static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p) {
  while (*p == ' ' || *p == '\t') {
    p++;
  }
  return p;
}

/* Past a quoted-string that starts at p ('"'), its escapes included. */
static const char *skip_quoted(const char *p, const char **body_end) {
  p++;
  while (*p != '\0' && *p != '"') {
    p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
  }
  *body_end = p;
  return *p == '"' ? p + 1 : p;
}

/* Whether [v, end), a rel value, holds the relation type "next" among
 * its space-separated ones. */
static int rel_has_next(const char *v, const char *end) {
  while (v < end) {
    while (v < end && (*v == ' ' || *v == '\t')) {
      v++;
    }
    const char *w = v;
    while (w < end && *w != ' ' && *w != '\t') {
      w++;
    }
    if (w - v == 4 && strncasecmp(v, "next", 4) == 0) {
      return 1;
    }
    v = w;
  }
  return 0;
}

/* The target of the first link with rel="next", malloc'd, or NULL. Only
 * a link's first rel counts (RFC 8288, 3.3). */
char *rest_link_next(const char *h) {
  const char *p = h;
  for (;;) {
    while (*p == ',' || *p == ' ' || *p == '\t') {
      p++;
    }
    if (*p != '<') {
      return NULL; /* the end, or not a link: nothing after it is trusted */
    }
    const char *uri = p + 1;
    const char *uri_end = strchr(uri, '>');
    if (uri_end == NULL) {
      return NULL;
    }
    p = uri_end + 1;
    int seen_rel = 0, next = 0;
    for (;;) {
      p = skip_ows(p);
      if (*p != ';') {
        break;
      }
      p = skip_ows(p + 1);
      if (*p == ';') {
        continue; /* an empty parameter ("<u>;; rel=next") */
      }
      const char *name = p;
      while (is_tchar(*p)) {
        p++;
      }
      size_t name_len = (size_t)(p - name);
      const char *v = p, *v_end = p;
      p = skip_ows(p);
      if (*p == '=') {
        p = skip_ows(p + 1);
        if (*p == '"') {
          v = p + 1;
          p = skip_quoted(p, &v_end);
        } else {
          /* A token, by the RFC; to the parameter's end, as browsers
           * read it, since servers write "type=text/html" unquoted. */
          v = p;
          while (*p != '\0' && *p != ';' && *p != ',') {
            p++;
          }
          v_end = p;
          while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t')) {
            v_end--;
          }
        }
      }
      if (name_len == 3 && strncasecmp(name, "rel", 3) == 0 && !seen_rel) {
        seen_rel = 1;
        next = rel_has_next(v, v_end);
      }
      if (name_len == 0 && p == name) {
        break; /* neither a parameter nor its end: give up on this link */
      }
    }
    if (next) {
      return strndup(uri, (size_t)(uri_end - uri));
    }
    /* To the comma that ends this link, past quoted values. */
    while (*p != '\0' && *p != ',') {
      if (*p == '"') {
        const char *unused;
        p = skip_quoted(p, &unused);
      } else {
        p++;
      }
    }
    if (*p == '\0') {
      return NULL;
    }
  }
}
