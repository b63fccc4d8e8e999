#include "probe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "deadline.h"
#include "session.h"

/* Bytes of reply kept to look for `expect` in. */
#define PROBE_MAX_REPLY 65536

typedef struct probe_round {
  sock_instance *inst;
  siphon_round *round;
  char *reply;
  size_t len;
  uint64_t received; /* every byte read, the dropped head of a long reply too */
  int matched;
} probe_round;

static int on_ready(sock_session *s) {
  probe_round *p = s->data;
  /* Without `expect`, connecting (and sending) is the whole test. */
  return p->inst->expect == NULL;
}

static int on_data(sock_session *s, const char *buf, size_t n) {
  probe_round *p = s->data;
  if (p->inst->expect == NULL) {
    return 0;
  }
  p->received += n;
  if (p->len + n > PROBE_MAX_REPLY) {
    /* Keep the tail: the expected text may straddle what we drop. */
    size_t keep = strlen(p->inst->expect);
    if (keep > p->len) {
      keep = p->len;
    }
    memmove(p->reply, p->reply + p->len - keep, keep);
    p->len = keep;
    if (n > PROBE_MAX_REPLY - keep) {
      buf += n - (PROBE_MAX_REPLY - keep);
      n = PROBE_MAX_REPLY - keep;
    }
  }
  memcpy(p->reply + p->len, buf, n);
  p->len += n;
  p->reply[p->len] = '\0';
  size_t m = strlen(p->inst->expect);
  p->matched = sock_find(p->reply, p->len, p->inst->expect, m) != (size_t)-1;
  return p->matched;
}

static const char *result_of(const sock_session *s, const probe_round *p, int status) {
  if (status == UV_ETIMEDOUT) {
    return "timeout";
  }
  if (!s->connected) {
    return "connection_failed";
  }
  if (status != 0) {
    return "read_failed";
  }
  if (p->inst->expect != NULL && !p->matched) {
    return "string_mismatch";
  }
  return "success";
}

/* Microsecond precision is all a loopback probe can tell. */
static json_t *ms_value(double ms) {
  return json_real(round(ms * 1000.0) / 1000.0);
}

static void on_end(sock_session *s, int status) {
  probe_round *p = s->data;
  sock_instance *inst = p->inst;
  const siphon_host_api *api = inst->api;
  inst->session = NULL;
  inst->round = NULL;
  if (status == UV_ECANCELED) {
    api->round_done(p->round, -ECANCELED, "cancelled");
  } else {
    json_t *rec = json_object();
    json_object_set_new(rec, "address", json_string(inst->address));
    json_object_set_new(rec, "result", json_string(result_of(s, p, status)));
    json_object_set_new(rec, "connected", json_boolean(s->connected));
    json_t *error = status != 0 ? json_string(uv_strerror(status)) : json_null();
    if (status == UV_ETIMEDOUT && s->connected) {
      /* The connect worked; the wait for the reply is what timed out. */
      char why[512];
      if (inst->expect != NULL) {
        /* At most 200 bytes of it, cut on a character: the record's JSON
         * string must stay valid UTF-8. */
        size_t shown = strlen(inst->expect);
        const char *more = "";
        if (shown > 200) {
          shown = 200;
          while (shown > 0 && ((unsigned char)inst->expect[shown] & 0xC0) == 0x80) {
            shown--;
          }
          more = "...";
        }
        snprintf(why, sizeof(why),
                 "connected, but the reply did not contain \"%.*s%s\" in time (%llu bytes read)",
                 (int)shown, inst->expect, more, (unsigned long long)p->received);
      } else {
        snprintf(why, sizeof(why), "connected, but send was not written in time");
      }
      json_decref(error);
      error = json_string(why);
    }
    json_object_set_new(rec, "error", error != NULL ? error : json_null());
    json_object_set_new(rec, "connect_ms",
                        s->connected ? ms_value((double)s->connect_ns / 1e6) : json_null());
    json_object_set_new(rec, "total_ms", ms_value(sock_session_elapsed_ms(s)));
    json_object_set_new(rec, "matched",
                        inst->expect != NULL ? json_boolean(p->matched) : json_null());
    api->round_emit(p->round, rec, NULL);
    /* The record tells how the target fared; the round itself worked. */
    api->round_done(p->round, 0, NULL);
  }
  free(p->reply);
  free(p);
}

static const sock_session_ops probe_ops = {on_ready, on_data, on_end};

int sock_probe_collect(sock_instance *inst, siphon_round *round) {
  probe_round *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    return -ENOMEM;
  }
  p->inst = inst;
  p->round = round;
  if (inst->expect != NULL) {
    p->reply = malloc(PROBE_MAX_REPLY + 1);
    if (p->reply == NULL) {
      free(p);
      return -ENOMEM;
    }
  }
  uint64_t deadline = sock_deadline_ms(inst->api->source_timeout_ms(inst->src));
  int rc = sock_session_start(&inst->session, inst->loop, &inst->addr, inst->send, inst->send_len,
                              deadline, &probe_ops, p);
  if (rc != 0) {
    free(p->reply);
    free(p);
    return rc;
  }
  inst->round = round;
  return 0;
}
