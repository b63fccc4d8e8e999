#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "deadline.h"
#include "framing.h"
#include "session.h"

typedef struct request_round {
  sock_instance *inst;
  siphon_round *round;
  char *reply;
  size_t len, cap;
  size_t until_at; /* where `until` starts in reply, or (size_t)-1 */
  int too_big;
  uint64_t deadline_ms;
  size_t records, invalid;
  size_t lines;                           /* reply lines seen */
  size_t first_invalid;                   /* the first that was not JSON (1-based) */
  char first_why[JSON_ERROR_TEXT_LENGTH]; /* and why */
} request_round;

static int on_data(sock_session *s, const char *buf, size_t n) {
  request_round *r = s->data;
  sock_instance *inst = r->inst;
  /* The reply is what comes before `until`: bytes after it in the same
   * read (the peer's next message, padding) do not count against the
   * limit, and neither does the delimiter itself. */
  size_t m = inst->until != NULL ? strlen(inst->until) : 0;
  size_t room = inst->max_reply_bytes + m - r->len;
  int clipped = n > room;
  if (clipped) {
    n = room;
  }
  if (r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + n) {
      cap *= 2;
    }
    char *p = realloc(r->reply, cap);
    if (p == NULL) {
      r->too_big = 1;
      return 1;
    }
    r->reply = p;
    r->cap = cap;
  }
  memcpy(r->reply + r->len, buf, n);
  size_t before = r->len;
  r->len += n;
  if (inst->until == NULL) {
    r->too_big = clipped;
    return clipped;
  }
  /* Look again only where a delimiter split across reads could start. */
  size_t from = before >= m ? before - m + 1 : 0;
  size_t at = n > 0 ? sock_find(r->reply + from, r->len - from, inst->until, m) : (size_t)-1;
  if (at == (size_t)-1 || from + at > inst->max_reply_bytes) {
    r->too_big = clipped || r->len > inst->max_reply_bytes + m - 1;
    return r->too_big;
  }
  r->until_at = from + at;
  return 1;
}

static void on_line(void *arg, const char *line, size_t len) {
  request_round *r = arg;
  sock_instance *inst = r->inst;
  json_t *v;
  r->lines++;
  if (inst->framing == SOCK_FRAMING_JSON) {
    json_error_t jerr;
    v = sock_value_json(line, len, &jerr);
    if (v == NULL) {
      /* Said once for the reply, after it (emit_reply): a reply that is
       * not JSON at all would log each of its lines, every round. */
      if (r->invalid++ == 0) {
        r->first_invalid = r->lines;
        snprintf(r->first_why, sizeof(r->first_why), "%s", jerr.text);
      }
      return;
    }
  } else {
    v = sock_value_string(line, len);
    if (v == NULL) {
      return;
    }
  }
  /* Which target answered, and the record's place among the reply's
   * records: as listen's meta.peer says who sent a line. */
  json_t *meta =
      json_pack("{sssI}", "address", inst->address, "index", (json_int_t)(r->records + 1));
  if (inst->api->round_emit(r->round, v, meta) == 0) {
    r->records++;
  }
}

static void emit_reply(request_round *r) {
  sock_instance *inst = r->inst;
  size_t len = r->until_at != (size_t)-1 ? r->until_at : r->len;
  sock_framer fr;
  sock_framer_init(&fr, inst->max_line_bytes);
  sock_framer_feed(&fr, r->reply, len, on_line, r);
  sock_framer_finish(&fr, on_line, r);
  /* A target that always answers so would say it every round: as listen
   * mode does for its lines, the first replies at warn, the rest at
   * debug. */
  if (fr.dropped > 0) {
    inst->dropped_said++;
    inst->api->log(
        inst->src, inst->dropped_said <= SOCK_WARN_FIRST ? SIPHON_LOG_WARN : SIPHON_LOG_DEBUG,
        "%llu reply line%s over max_line_bytes dropped%s", (unsigned long long)fr.dropped,
        fr.dropped == 1 ? "" : "s",
        inst->dropped_said == SOCK_WARN_FIRST ? "; further ones are logged at debug level" : "");
  }
  if (r->invalid > 0) {
    inst->invalid_said++;
    inst->api->log(
        inst->src, inst->invalid_said <= SOCK_WARN_FIRST ? SIPHON_LOG_WARN : SIPHON_LOG_DEBUG,
        "%zu of %zu reply line%s %s not JSON, skipped (the first, line %zu: %s)%s", r->invalid,
        r->lines, r->lines == 1 ? "" : "s", r->invalid == 1 ? "was" : "were", r->first_invalid,
        r->first_why,
        inst->invalid_said == SOCK_WARN_FIRST ? "; further ones are logged at debug level" : "");
  }
  sock_framer_free(&fr);
}

/* `text` as a config would spell it ("END\n", with its escapes), cut
 * after about 60 bytes on a character boundary, so that a message
 * naming it stays one readable line of valid UTF-8. */
static void quote(const char *text, char *out, size_t size) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  out[o++] = '"';
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    /* The longest step is 6 bytes ("\u001b"), and "...\"" ends it. */
    int lead = (*p & 0xC0) != 0x80;
    if ((lead && o > 60) || o + 12 > size) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
    const char *esc = *p == '\n'   ? "\\n"
                      : *p == '\r' ? "\\r"
                      : *p == '\t' ? "\\t"
                      : *p == '"'  ? "\\\""
                      : *p == '\\' ? "\\\\"
                                   : NULL;
    if (esc != NULL) {
      memcpy(out + o, esc, 2);
      o += 2;
    } else if (*p < 0x20 || *p == 0x7f) {
      memcpy(out + o, "\\u00", 4);
      out[o + 4] = hex[*p >> 4];
      out[o + 5] = hex[*p & 0xf];
      o += 6;
    } else {
      out[o++] = (char)*p;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
}

static void on_end(sock_session *s, int status) {
  request_round *r = s->data;
  sock_instance *inst = r->inst;
  const siphon_host_api *api = inst->api;
  inst->session = NULL;
  inst->round = NULL;
  char msg[300];
  if (status == 0 && r->too_big) {
    snprintf(msg, sizeof(msg), "the reply from %s is longer than max_reply_bytes (%zu)",
             inst->address, inst->max_reply_bytes);
    api->round_done(r->round, -EMSGSIZE, msg);
  } else if (status == 0 && inst->until != NULL && r->until_at == (size_t)-1) {
    /* The peer closed before the delimiter: the reply is cut short, and
     * its records would pass for a whole one. Nothing is emitted, as
     * for any failed round. */
    char until[80];
    quote(inst->until, until, sizeof(until));
    snprintf(msg, sizeof(msg),
             "%s: the server closed the connection before %s (`until`) arrived, after %zu "
             "bytes: the reply is incomplete, nothing emitted",
             inst->address, until, r->len);
    api->round_done(r->round, -EPROTO, msg);
  } else if (status == 0) {
    emit_reply(r);
    api->round_done(r->round, 0, NULL);
  } else if (status == UV_ECANCELED) {
    api->round_done(r->round, -ECANCELED, "cancelled");
  } else if (status == UV_ETIMEDOUT && s->connected) {
    snprintf(msg, sizeof(msg),
             "%s: no end of reply within %llu ms (%zu bytes received); the peer kept the "
             "connection open%s",
             inst->address, (unsigned long long)r->deadline_ms, r->len,
             inst->until != NULL ? " and `until` did not arrive" : ": set `until`");
    api->round_done(r->round, -ETIMEDOUT, msg);
  } else {
    const char *what = s->stage == SOCK_STAGE_RESOLVE   ? "resolve"
                       : s->stage == SOCK_STAGE_CONNECT ? "connect to"
                       : s->stage == SOCK_STAGE_SEND    ? "send to"
                                                        : "read from";
    snprintf(msg, sizeof(msg), "%s %s: %s", what, inst->address, uv_strerror(status));
    api->round_done(r->round, status, msg);
  }
  free(r->reply);
  free(r);
}

static const sock_session_ops request_ops = {NULL, on_data, on_end};

int sock_request_collect(sock_instance *inst, siphon_round *round) {
  request_round *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    return -ENOMEM;
  }
  r->inst = inst;
  r->round = round;
  r->until_at = (size_t)-1;
  r->deadline_ms = sock_deadline_ms(inst->api->source_timeout_ms(inst->src));
  int rc = sock_session_start(&inst->session, inst->loop, &inst->addr, inst->send, inst->send_len,
                              r->deadline_ms, &request_ops, r);
  if (rc != 0) {
    free(r);
    return rc;
  }
  inst->round = round;
  return 0;
}
