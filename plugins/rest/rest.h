/* rest plugin internals: the types its files share. Only plugin.c knows
 * the descriptor; the rest is split by job (see each .c file's header). */
#ifndef SIPHON_REST_H
#define SIPHON_REST_H

#include <curl/curl.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "siphon/plugin.h"

/* ---- engine.c: curl multi handles driven by the host's libuv loop ---- */

typedef struct rest_engine rest_engine;
/* One multi handle and its timer; a source stays on one shard. */
typedef struct rest_shard rest_shard;

/* Called once when a transfer added with rest_engine_add() ends, after the
 * easy handle has left the multi handle (the callee owns it again). */
typedef void (*rest_done_cb)(void *arg, CURL *easy, CURLcode result);

/* What CURLOPT_PRIVATE of every engine transfer points to. */
typedef struct rest_job {
  rest_done_cb cb;
  void *arg;
  /* uv_hrtime() when the engine found the transfer finished, before any
   * callback of its batch ran (meta.wait_ms). */
  uint64_t done_ns;
} rest_job;

/* A round waiting for its turn: to start its first transfer, to write its
 * next chunk of records, or to parse a long body. */
typedef struct rest_wait rest_wait;
struct rest_wait {
  void (*start)(rest_wait *w); /* its turn has come */
  rest_wait *prev, *next;
  int queued;          /* 0, or the queue it is in (engine_queue.c) */
  unsigned long round; /* the idle turn it was queued in */
};

/* An engine with no shard yet: shards come with the first rounds, so a
 * --check run opens no multi handle. 0 or a negative errno. */
int rest_engine_new(const siphon_host_api *api, uv_loop_t *loop, rest_engine **out);
/* Closes every timer and poll handle, then cleans up the multi and share
 * handles; the engine's memory goes in the last close callback. No
 * transfer may be running. */
void rest_engine_close(rest_engine *e);
/* A source was created, with its connection caps (0: no cap; the
 * plugin-wide caps are the largest seen). Called from create(), before
 * any source is attached. */
void rest_engine_register(rest_engine *e, long max_connections, long max_host_connections);
/* Puts a source on a shard (at its first round, when every source and
 * every cap is known) and sizes that shard's cache of idle connections.
 * NULL when no shard could be set up (logged). */
rest_shard *rest_engine_attach(rest_engine *e);
/* The source of an attached shard is destroyed. */
void rest_engine_detach(rest_shard *sh);
/* Starts a transfer on the source's shard. On failure the callback is
 * never called. */
int rest_engine_add(rest_shard *sh, CURL *easy, rest_job *job);
/* Aborts a running transfer; its callback is not called. */
void rest_engine_remove(rest_shard *sh, CURL *easy);
/* Calls w->start from a later loop turn, in the order queued, a batch a
 * turn (see engine.c for why). */
void rest_engine_queue(rest_engine *e, rest_wait *w);
/* Takes a queued wait out, from either queue; w->start is not called.
 * No-op if not queued. */
void rest_engine_unqueue(rest_engine *e, rest_wait *w);
/* A long body may be parsed on libuv's threadpool: 1 now (the caller
 * queues the work, and calls rest_engine_parse_end() in its after-work
 * callback), or 0 with w queued, and w->start is called when the parse
 * before it ends. One at a time: libuv's pool is the blocking sources'
 * too, sized for them and two threads more (siphon.threads), and rest's
 * parses take no more than one of those two. */
int rest_engine_parse_begin(rest_engine *e, rest_wait *w);
/* A parse that rest_engine_parse_begin() let start has ended: the next
 * waiting one starts. The engine outlives rest_engine_close() until it is
 * called. */
void rest_engine_parse_end(rest_engine *e);

/* ---- the source: its options, resolved once in create() ---- */

enum { REST_PAGE_NONE = 0, REST_PAGE_LINK, REST_PAGE_NEXT_URL, REST_PAGE_CURSOR };

typedef struct rest_status_range {
  long lo, hi;
} rest_status_range;

typedef struct rest_run rest_run;

/* connect_timeout's default, as the options table writes it and in ms. */
#define REST_CONNECT_TIMEOUT_DEFAULT "\"10s\""
#define REST_CONNECT_TIMEOUT_DEFAULT_MS 10000L

typedef struct rest_source {
  const siphon_host_api *api;
  siphon_source *src;
  rest_engine *eng;
  rest_shard *shard; /* from the first round on */
  char *url;         /* with `query` applied */
  char *method;      /* PUT, PATCH or DELETE; NULL for the others */
  int head;
  int post;
  int empty_body;   /* POST, PUT or PATCH without a body: an empty one */
  int is_file;      /* file:// URL: no HTTP status */
  int warned_split; /* split met a non-array once (warned) */
  char *body;
  size_t body_len;
  struct curl_slist *headers;
  char *user, *password, *bearer;
  /* bearer_file: the token's file, and the stamp of what was read. */
  char *bearer_file;
  ino_t bearer_ino;
  off_t bearer_size;
  struct timespec bearer_mtime;
  char *bearer_forms[3]; /* the token's entries in secret_values, to drop on a new one */
  size_t n_bearer_forms;
  char *ca_file, *client_cert, *client_key, *proxy;
  int insecure;
  long connect_timeout_ms;
  int follow_redirects;
  long max_redirects;
  long long max_body;
  rest_status_range *accept;
  size_t n_accept;
  int format_text;
  char *select;
  int split;
  int page_type;
  char *page_next_ptr, *page_cursor_ptr, *page_cursor_param;
  long max_pages;
  int warned_max_pages;
  rest_run *run;      /* the round in flight, or NULL */
  long recv_buffer;   /* CURLOPT_BUFFERSIZE of the next transfer (request.c) */
  int warm;           /* its last transfer succeeded on a connection kept alive */
  char **secret_keys; /* secret_query's names: their values are masked when shown */
  size_t n_secret_keys;
  char **secret_values; /* bearer, password, secret_query's and headers' values */
  size_t n_secret_values;
} rest_source;

void rest_source_free(rest_source *s);

/* ---- options.c: options JSON -> rest_source ---- */
int rest_source_configure(rest_source *s, const json_t *options, siphon_error *err);

/* Makes tok (owned from now on) the bearer token, in place of the last:
 * the old one's masked forms leave secret_values, the new one's join. */
int rest_source_set_bearer(rest_source *s, char *tok);

/* ---- bearer_file.c ---- */
/* Reads bearer_file when it differs from what was read last (or nothing
 * was): 0, or a negative errno with msg saying why, without naming the
 * option (never the token). */
int rest_bearer_file_refresh(rest_source *s, char *msg, size_t msg_len);

/* ---- request.c: one page's transfer ---- */

typedef struct rest_buf {
  char *data;
  size_t len, cap;
} rest_buf;

/* The Link headers of one response, at most: past it the page fails. */
#define REST_LINK_MAX (64 * 1024)

typedef struct rest_xfer {
  rest_job job; /* first: CURLOPT_PRIVATE */
  CURL *easy;
  rest_source *s;
  rest_buf body;
  rest_buf link; /* every Link header value, joined by ", " */
  int too_big;
  int oom;
  int link_too_big; /* the Link headers passed REST_LINK_MAX */
  int see_other;    /* a 303 to PUT, PATCH or DELETE, not followed */
  int closes;       /* the response said its connection ends (Connection: close, HTTP/1.0) */
  /* When this page was asked for, in uv_hrtime() ns: the round's start
   * (the loop's time, uv_now) for the first page, the moment the previous
   * page was handled for the others; and, once it is done, its time in
   * libcurl (meta.elapsed_ms) and how long it waited in siphon before
   * that (meta.wait_ms). */
  uint64_t asked_ns;
  char *asked_query; /* the query of the URL asked for ("" for none), to tell a redirect's */
  double elapsed_ms;
  double wait_ms;
  char errbuf[CURL_ERROR_SIZE];
} rest_xfer;

/* A transfer of `url` bounded by timeout_ms, not yet started. */
rest_xfer *rest_xfer_new(rest_source *s, const char *url, long timeout_ms);
/* A transfer ended: sizes the source's next receive buffer to fit what
 * this one received. */
void rest_xfer_learn(rest_source *s, rest_xfer *x);
/* A transfer ended: sets x->elapsed_ms (libcurl's total time) and
 * x->wait_ms (from x->asked_ns and x->job.done_ns), once for all the
 * records of the page. */
void rest_xfer_time(rest_xfer *x);
void rest_xfer_free(rest_xfer *x);

/* ---- records.c: a round's records, held until its last page is in ---- */

typedef struct rest_record {
  json_t *data, *meta; /* meta may be shared by the records of a page */
} rest_record;

typedef struct rest_records {
  rest_record *v;
  size_t len, cap;
  size_t sent; /* v[0, sent) are the host's now */
} rest_records;

/* Records a round writes in one loop turn (round.c). */
#define REST_RECORDS_CHUNK 512

/* Appends a record; data and meta are STOLEN (a shared meta needs its own
 * reference for each record). -ENOMEM, with both released, when either
 * is NULL or the array cannot grow. */
int rest_records_push(rest_records *rs, json_t *data, json_t *meta);
/* Hands the next `max` records to api->round_emit(): 1 while some are
 * left, 0 when all are sent, or the host's refusal, after which the rest
 * were handed over too, so that the host counts them as discarded. */
int rest_records_send(rest_records *rs, const siphon_host_api *api, siphon_round *round,
                      size_t max);
/* Hands every record left to a round the host has cancelled, which counts
 * each as discarded instead of writing it. */
void rest_records_discard(rest_records *rs, const siphon_host_api *api, siphon_round *round);
/* Releases the records not sent, and the array. */
void rest_records_free(rest_records *rs);

/* ---- response.c: status, format, select, split ---- */

/* A body at least this long is parsed on libuv's threadpool (round.c):
 * at about 50 MB/s, one parsed on the loop holds every other source's
 * round for 20 ms a megabyte. */
#define REST_PARSE_OFF_LOOP (256 * 1024)

/* Checks a finished transfer's status against 2xx and accept_status:
 * 0 and *status, or a negative errno with msg filled. */
int rest_response_status(rest_source *s, rest_xfer *x, int page, long *status, char *msg,
                         size_t msg_len);
/* Whether the body needs parsing at all (json, with content) and is long
 * enough to be parsed off the loop. */
int rest_response_parse_is_long(const rest_source *s, const rest_xfer *x, long status);
/* Parses a body with the status `status`, as text (text != 0) or JSON,
 * into *doc (NEW reference; JSON null when there is none to parse, as for
 * HEAD): 0, or a negative errno with msg filled. Takes nothing of the
 * source's, so that a worker thread can run it while the source goes. */
int rest_response_parse(int head, int text, long status, const rest_buf *body, json_t **doc,
                        char *msg, size_t msg_len);
/* Applies `select` and `split` to a parsed page and appends its records,
 * each with the page's meta (status, URL, times). 0, or a negative errno
 * with msg filled. doc is borrowed. */
int rest_response_select(rest_source *s, rest_xfer *x, long status, int page, json_t *doc,
                         rest_records *records, char *msg, size_t msg_len);

/* ---- paginate.c ---- */

/* The next page's URL of a successful page: 1 and *next (malloc'd), 0
 * when there is none, or a negative errno with msg filled. */
int rest_paginate_next(const rest_source *s, rest_xfer *x, const json_t *doc, char **next,
                       char *msg, size_t msg_len);

/* ---- jsonptr.c: RFC 6901 ---- */

/* 0 when `ptr` is a syntactically valid JSON Pointer, else -EINVAL. */
int rest_jsonptr_check(const char *ptr);
/* The value `ptr` names inside doc (borrowed), or NULL. */
json_t *rest_jsonptr_get(json_t *doc, const char *ptr);

/* ---- urlmask.c ---- */

/* url with the password of its userinfo masked ("http://u:****@h/"),
 * into out (truncated to out_len). */
void rest_url_mask(const char *url, char *out, size_t out_len);

/* The same, and the value of each query parameter s's secret_query names
 * as "****": how a source's URL is shown in records and messages. s may
 * be NULL (then only the userinfo). */
void rest_url_show(const rest_source *s, const char *url, char *out, size_t out_len);
/* Whether a query parameter's name as a URL spells it, enc[0, len)
 * (%XX, '+' for a space), is `name` as the config wrote it. */
int rest_query_name_is(const char *enc, size_t len, const char *name);
/* Replaces in text, in place, every secret value of s (bearer, password,
 * secret_query's and headers' values) with "****": a message may quote
 * what a server echoed. */
void rest_redact(const rest_source *s, char *text);
/* Whether a header's name says it carries a credential (X-Api-Key,
 * X-Auth-Token, Cookie, ...). */
int rest_header_is_credential(const char *name);

/* The target of the first link whose first rel holds "next", in h, the
 * response's Link header values joined by ", "; malloc'd, or NULL. */
char *rest_link_next(const char *h);

/* ---- round.c: one round, page after page ---- */
int rest_round_start(rest_source *s, siphon_round *round);
void rest_round_cancel(rest_source *s, siphon_round *round);

/* ---- util ---- */
int rest_buf_append(rest_buf *b, const char *data, size_t n);
void rest_buf_free(rest_buf *b);

#endif
