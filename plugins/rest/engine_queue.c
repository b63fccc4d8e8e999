/* Rounds waiting for their turn: to start their first transfer (those of
 * sources with no connection kept alive; round.c decides), or to write
 * their next chunk of records. Each loop turn runs at most `batch` of
 * them, from an idle handle that runs only while some wait. And, in a
 * queue of their own, rounds waiting to parse a long body: one parse is
 * on the threadpool at a time (rest_engine_parse_begin says why).
 *
 * Why: started all at once, 10,000 sources would be 10,000 connects
 * inside one curl_multi_socket_action (over half a second in which no
 * response is read) and 10,000 easy handles alive together. Started a
 * batch a turn, responses are read between batches, so only about
 * (requests per second x latency) transfers are alive at a time, and the
 * round ends no later: the loop's CPU, not the waiting, is what bounds
 * it. docs/bench/rest.md has the measurements behind the batch size. */
#include "engine.h"

enum { QUEUE_TURNS = 1, QUEUE_PARSE = 2 };

static void push(rest_wait **head, rest_wait **tail, rest_wait *w, int which) {
  w->next = NULL;
  w->prev = *tail;
  if (*tail != NULL) {
    (*tail)->next = w;
  } else {
    *head = w;
  }
  *tail = w;
  w->queued = which;
}

void rest__on_idle(uv_idle_t *h) {
  rest_engine *e = h->data;
  unsigned long now = ++e->idle_round;
  /* A start may queue or unqueue others (a cancel in a round's callback):
   * take each from the head afresh. One queued during this turn (a round
   * writing its records queues itself again) waits for the next turn,
   * so that other sources' rounds get the loop between its chunks. */
  for (long i = 0; i < e->batch && e->wait_head != NULL && e->wait_head->round <= now; i++) {
    rest_wait *w = e->wait_head;
    rest_engine_unqueue(e, w);
    w->start(w);
  }
  if (e->wait_head == NULL) {
    uv_idle_stop(&e->idle);
  }
}

void rest_engine_queue(rest_engine *e, rest_wait *w) {
  push(&e->wait_head, &e->wait_tail, w, QUEUE_TURNS);
  w->round = e->idle_round + 1;
  /* Cannot fail on an initialised handle with a callback. */
  uv_idle_start(&e->idle, rest__on_idle);
}

void rest_engine_unqueue(rest_engine *e, rest_wait *w) {
  if (!w->queued) {
    return;
  }
  rest_wait **head = w->queued == QUEUE_PARSE ? &e->parse_head : &e->wait_head;
  rest_wait **tail = w->queued == QUEUE_PARSE ? &e->parse_tail : &e->wait_tail;
  if (w->prev != NULL) {
    w->prev->next = w->next;
  } else {
    *head = w->next;
  }
  if (w->next != NULL) {
    w->next->prev = w->prev;
  } else {
    *tail = w->prev;
  }
  w->prev = w->next = NULL;
  w->queued = 0;
}

int rest_engine_parse_begin(rest_engine *e, rest_wait *w) {
  if (!e->parsing) {
    e->parsing = 1;
    return 1;
  }
  push(&e->parse_head, &e->parse_tail, w, QUEUE_PARSE);
  return 0;
}

void rest_engine_parse_end(rest_engine *e) {
  e->parsing = 0;
  if (e->closing) {
    rest__engine_maybe_free(e);
    return;
  }
  rest_wait *w = e->parse_head;
  if (w != NULL) {
    rest_engine_unqueue(e, w);
    e->parsing = 1;
    w->start(w);
  }
}
