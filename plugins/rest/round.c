/* One round of a source: its first page, then each next page until the
 * paginator says stop, max_pages is reached, or something fails. Records
 * are held until the last page is in, so a round that fails part-way
 * emits nothing; then they are written REST_RECORDS_CHUNK a loop turn
 * (records.c says why). A long body is parsed on libuv's threadpool, for
 * the same reason. The source's timeout bounds the whole round: each
 * request gets what is left of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"

struct rest_run {
  rest_wait wait; /* for the first page's turn, then for each chunk of records */
  rest_source *s;
  siphon_round *round;
  uint64_t started_ms, deadline_ms;
  int page;
  rest_xfer *x;      /* the page in flight, or being parsed */
  rest_records recs; /* held until the last page is in */
  json_t *seen;      /* {url: true}: pages fetched this round (paginated only) */
  int writing;       /* the last page is in: its records are being written */
  /* A long body, parsed on the threadpool: PARSE_QUEUED while another
   * parse has the engine's slot, PARSE_RUNNING once queued to libuv. */
  int parsing;
  uv_work_t parse;
  rest_engine *eng; /* for the parse's end, which may outlive the source */
  long status;
  json_t *parsed;
  int parse_rc;
  char parse_msg[512];
  long parse_delay_ms; /* SIPHON_REST_PARSE_DELAY_MS, for the tests */
  int orphan;          /* its round ended during the parse: only freed then */
};

enum { PARSE_QUEUED = 1, PARSE_RUNNING = 2 };

static uint64_t now_ms(const rest_source *s) {
  return uv_now(s->api->loop(s->src));
}

static void run_free(rest_run *r) {
  rest_xfer_free(r->x);
  rest_records_free(&r->recs);
  json_decref(r->parsed);
  json_decref(r->seen);
  free(r);
}

/* msg as it may be shown: what a server said back may hold a secret of
 * the source's. Copied into buf first, since msg may be the run's own. */
static const char *shown_msg(const rest_source *s, const char *msg, char *buf, size_t len) {
  if (msg == NULL) {
    return NULL;
  }
  snprintf(buf, len, "%s", msg);
  rest_redact(s, buf);
  return buf;
}

static void done(rest_run *r, int status, const char *msg) {
  rest_source *s = r->s;
  siphon_round *round = r->round;
  char shown[1024];
  msg = shown_msg(s, msg, shown, sizeof(shown));
  s->run = NULL;
  run_free(r);
  s->api->round_done(round, status, msg);
}

/* A turn of writing (rest_engine_queue). */
static void on_write_turn(rest_wait *w) {
  rest_run *r = (rest_run *)w;
  int more = rest_records_send(&r->recs, r->s->api, r->round, REST_RECORDS_CHUNK);
  if (more > 0) {
    rest_engine_queue(r->s->eng, &r->wait);
    return;
  }
  done(r, more, NULL); /* < 0: the host refused them, and has said why */
}

static void finish(rest_run *r, int status, const char *msg) {
  if (status != 0) {
    done(r, status, msg);
    return;
  }
  r->writing = 1;
  r->wait.start = on_write_turn;
  on_write_turn(&r->wait);
}

static void on_page_done(void *arg, CURL *easy, CURLcode result);

static int start_page(rest_run *r, const char *url, char *msg, size_t msg_len) {
  rest_source *s = r->s;
  char shown[320];
  rest_url_show(s, url, shown, sizeof(shown));
  uint64_t now = now_ms(s);
  if (now >= r->deadline_ms) {
    snprintf(msg, msg_len, "timed out after %llu ms before page %d",
             (unsigned long long)(now - r->started_ms), r->page + 1);
    return -ETIMEDOUT;
  }
  if (r->seen != NULL && json_object_get(r->seen, url) != NULL) {
    snprintf(msg, msg_len, "pagination loop: page %d is %s again", r->page + 1, shown);
    return -ELOOP;
  }
  if (r->seen != NULL && json_object_set_new(r->seen, url, json_true()) != 0) {
    /* Not UTF-8: a loop through it is still caught by max_pages. */
  }
  rest_xfer *x = rest_xfer_new(s, url, (long)(r->deadline_ms - now));
  if (x == NULL) {
    snprintf(msg, msg_len, "cannot set up a transfer of %s", shown);
    return -ENOMEM;
  }
  x->job.cb = on_page_done;
  x->job.arg = r;
  x->asked_ns = r->page == 0 ? r->started_ms * 1000000u : uv_hrtime();
  int rc = rest_engine_add(s->shard, x->easy, &x->job);
  if (rc != 0) {
    snprintf(msg, msg_len, "cannot start a transfer of %s", shown);
    rest_xfer_free(x);
    return rc;
  }
  r->x = x;
  r->page++;
  return 0;
}

static int transfer_error(rest_run *r, rest_xfer *x, CURLcode result, char *msg, size_t len) {
  if (x->too_big || result == CURLE_FILESIZE_EXCEEDED) {
    snprintf(msg, len, "response body over max_body_bytes (%lld bytes), aborted", x->s->max_body);
    return -EFBIG;
  }
  if (x->oom) {
    snprintf(msg, len, "out of memory reading the response");
    return -ENOMEM;
  }
  if (x->link_too_big) {
    snprintf(msg, len, "page %d: the response's Link headers are over %d KiB, aborted", r->page,
             REST_LINK_MAX / 1024);
    return -EFBIG;
  }
  if (x->see_other) {
    snprintf(msg, len,
             "page %d: HTTP 303 to a %s: not followed, since libcurl would send %s again "
             "without its body where a GET is meant; point url at the target, or set "
             "follow_redirects false and accept_status 303",
             r->page, x->s->method, x->s->method);
    return -EPROTO;
  }
  const char *why = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(result);
  snprintf(msg, len, "page %d: %s", r->page, why);
  if (result == CURLE_OPERATION_TIMEDOUT) {
    return -ETIMEDOUT;
  }
  if (result == CURLE_TOO_MANY_REDIRECTS) {
    return -ELOOP;
  }
  if (result == CURLE_COULDNT_CONNECT) {
    return -ECONNREFUSED;
  }
  return -EIO;
}

static void page_parsed(rest_run *r, int rc, json_t *doc, const char *parse_msg);

static void parse_work(uv_work_t *w) {
  rest_run *r = w->data;
  /* Only what is the run's own: the round may end, and the source go,
   * meanwhile. */
  r->parse_rc = rest_response_parse(0, 0, r->status, &r->x->body, &r->parsed, r->parse_msg,
                                    sizeof(r->parse_msg));
  if (r->parse_delay_ms > 0) {
    /* The tests' knob: the parse ends no sooner than this long after the
     * round's start (uv_now() is uv_hrtime() in ms, as here). */
    uint64_t until_ms = r->started_ms + (uint64_t)r->parse_delay_ms;
    uint64_t now_ms = uv_hrtime() / 1000000u;
    if (now_ms < until_ms) {
      uv_sleep((unsigned int)(until_ms - now_ms));
    }
  }
}

/* The long body parsed on the loop after all: the threadpool would not
 * take it. */
static void parse_here(rest_run *r) {
  json_t *doc = NULL;
  r->parse_rc =
      rest_response_parse(0, 0, r->status, &r->x->body, &doc, r->parse_msg, sizeof(r->parse_msg));
  page_parsed(r, r->parse_rc, doc, r->parse_msg);
}

static void parse_after(uv_work_t *w, int status) {
  rest_run *r = w->data;
  rest_engine *e = r->eng;
  r->parsing = 0;
  if (r->orphan) {
    run_free(r);
    rest_engine_parse_end(e);
    return;
  }
  json_t *doc = r->parsed;
  r->parsed = NULL;
  rest_engine_parse_end(e); /* may start another round's parse */
  if (status != 0) {        /* never cancelled with uv_cancel(): the work did not run */
    parse_here(r);
    return;
  }
  page_parsed(r, r->parse_rc, doc, r->parse_msg);
}

/* The engine's parse slot is this run's. */
static void parse_start(rest_run *r) {
  rest_source *s = r->s;
  r->parse.data = r;
  if (uv_queue_work(s->api->loop(s->src), &r->parse, parse_work, parse_after) == 0) {
    r->parsing = PARSE_RUNNING;
    return;
  }
  r->parsing = 0;
  rest_engine_parse_end(r->eng);
  parse_here(r);
}

/* Its turn for the parse slot (rest_engine_parse_begin). */
static void on_parse_turn(rest_wait *w) {
  parse_start((rest_run *)w);
}

static void on_page_done(void *arg, CURL *easy, CURLcode result) {
  rest_run *r = arg;
  rest_source *s = r->s;
  rest_xfer *x = r->x;
  char msg[512];
  msg[0] = '\0';
  if (result != CURLE_OK) {
    s->warm = 0;
    int rc = transfer_error(r, x, result, msg, sizeof(msg));
    finish(r, rc, msg);
    return;
  }
  /* Its connection waits in the cache for the next round, unless the
   * server ended it or there is none (file://). */
  s->warm = !x->closes && !s->is_file;
  rest_xfer_learn(s, x);
  rest_xfer_time(x);
  int rc = rest_response_status(s, x, r->page, &r->status, msg, sizeof(msg));
  if (rc != 0) {
    finish(r, rc, msg);
    return;
  }
  if (rest_response_parse_is_long(s, x, r->status)) {
    const char *delay = getenv("SIPHON_REST_PARSE_DELAY_MS");
    r->parse_delay_ms = delay != NULL ? strtol(delay, NULL, 10) : 0;
    r->wait.start = on_parse_turn;
    if (rest_engine_parse_begin(s->eng, &r->wait)) {
      parse_start(r);
    } else {
      r->parsing = PARSE_QUEUED;
    }
    return;
  }
  json_t *doc = NULL;
  rc = rest_response_parse(s->head, s->format_text, r->status, &x->body, &doc, msg, sizeof(msg));
  page_parsed(r, rc, doc, msg);
}

static void page_parsed(rest_run *r, int rc, json_t *doc, const char *parse_msg) {
  rest_source *s = r->s;
  rest_xfer *x = r->x;
  if (rc != 0) {
    finish(r, rc, parse_msg);
    return;
  }
  char msg[512];
  msg[0] = '\0';
  rc = rest_response_select(s, x, r->status, r->page, doc, &r->recs, msg, sizeof(msg));
  if (rc != 0) {
    json_decref(doc);
    finish(r, rc, msg);
    return;
  }
  char *next = NULL;
  int more =
      s->page_type == REST_PAGE_NONE ? 0 : rest_paginate_next(s, x, doc, &next, msg, sizeof(msg));
  json_decref(doc);
  if (more < 0) {
    finish(r, more, msg);
    return;
  }
  if (more > 0 && r->page >= s->max_pages) {
    if (!s->warned_max_pages) {
      s->warned_max_pages = 1;
      s->api->log(s->src, SIPHON_LOG_WARN,
                  "stopped at max_pages (%ld) with more pages left; raise max_pages to "
                  "read them",
                  s->max_pages);
    }
    more = 0;
    free(next);
    next = NULL;
  }
  r->x = NULL;
  rest_xfer_free(x);
  if (more == 0) {
    finish(r, 0, NULL);
    return;
  }
  rc = start_page(r, next, msg, sizeof(msg));
  free(next);
  if (rc != 0) {
    finish(r, rc, msg);
  }
}

/* The first page's turn (rest_engine_queue). */
static void on_turn(rest_wait *w) {
  rest_run *r = (rest_run *)w;
  char msg[512];
  int rc = start_page(r, r->s->url, msg, sizeof(msg));
  if (rc != 0) {
    finish(r, rc, msg);
  }
}

int rest_round_start(rest_source *s, siphon_round *round) {
  if (s->shard == NULL) {
    s->shard = rest_engine_attach(s->eng);
    if (s->shard == NULL) {
      s->api->log(s->src, SIPHON_LOG_ERROR, "rest: cannot set up a curl multi handle");
      return -ENOMEM;
    }
  }
  rest_run *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    return -ENOMEM;
  }
  r->s = s;
  r->eng = s->eng;
  r->round = round;
  if (s->page_type != REST_PAGE_NONE) {
    r->seen = json_object();
  }
  r->started_ms = now_ms(s);
  r->deadline_ms = r->started_ms + s->api->source_timeout_ms(s->src);
  if (s->page_type != REST_PAGE_NONE && r->seen == NULL) {
    run_free(r);
    return -ENOMEM;
  }
  s->run = r;
  r->wait.start = on_turn;
  if (!s->warm) {
    rest_engine_queue(s->eng, &r->wait);
    return 0;
  }
  /* A source whose last transfer succeeded most likely finds an idle
   * connection in its shard's cache: no connect to pace, and a turn's
   * wait would only delay its request (10,000 warm sources: 0.64 s a
   * round queued, 0.54 s not). */
  char msg[512];
  int rc = start_page(r, s->url, msg, sizeof(msg));
  if (rc != 0) {
    /* The round ends here, with its own message, as a queued one would;
     * the next one waits for its turn. */
    s->warm = 0;
    finish(r, rc, msg);
  }
  return 0;
}

void rest_round_cancel(rest_source *s, siphon_round *round) {
  rest_run *r = s->run;
  if (r == NULL || (round != NULL && r->round != round)) {
    return;
  }
  rest_engine_unqueue(s->eng, &r->wait); /* a turn, or the parse slot */
  if (r->x != NULL && !r->parsing) {
    rest_engine_remove(s->shard, r->x->easy);
    /* A transfer removed part-way loses its connection. */
    s->warm = 0;
  }
  uint64_t now = now_ms(s);
  char msg[160];
  int status = now >= r->deadline_ms ? -ETIMEDOUT : -ECANCELED;
  const char *what = status == -ETIMEDOUT ? "timed out" : "cancelled";
  unsigned long long ms = (unsigned long long)(now - r->started_ms);
  if (r->writing) {
    size_t sent = r->recs.sent, len = r->recs.len;
    snprintf(msg, sizeof(msg), "%s after %llu ms, with %zu of its %zu records written", what, ms,
             sent, len);
    /* Said here too: the host's own timeout message is the round's. */
    s->api->log(s->src, SIPHON_LOG_WARN,
                "%s while writing the round's records: %zu of %zu written, the other %zu "
                "discarded",
                what, sent, len, len - sent);
    /* The host counts each as discarded. */
    rest_records_discard(&r->recs, s->api, r->round);
  } else if (r->parsing == PARSE_QUEUED) {
    snprintf(msg, sizeof(msg), "%s after %llu ms, page %d waiting for its turn to be parsed", what,
             ms, r->page);
  } else if (r->parsing) {
    snprintf(msg, sizeof(msg), "%s after %llu ms, parsing page %d", what, ms, r->page);
  } else if (r->page == 0) {
    snprintf(msg, sizeof(msg), "%s after %llu ms, waiting for its turn to start", what, ms);
  } else {
    snprintf(msg, sizeof(msg), "%s after %llu ms on page %d", what, ms, r->page);
  }
  if (r->parsing == PARSE_RUNNING) {
    /* The worker reads only the run's body: the round ends now, and the
     * run when the worker is done (parse_after). Its easy handle goes
     * now, while libcurl and the share it uses are still there. */
    curl_easy_cleanup(r->x->easy);
    r->x->easy = NULL;
    r->orphan = 1;
    s->run = NULL;
    char shown[1024];
    s->api->round_done(r->round, status, shown_msg(s, msg, shown, sizeof(shown)));
    return;
  }
  finish(r, status, msg);
}
