/* Rounds waiting for their turn: to start their first transfer (those of
 * sources with no connection kept alive; round.c decides), or to write
 * their next chunk of records. Each loop turn runs at most `batch` of
 * them, from an idle handle that runs only while some wait.
 *
 * Why: started all at once, 10,000 sources would be 10,000 connects
 * inside one curl_multi_socket_action (over half a second in which no
 * response is read) and 10,000 easy handles alive together. Started a
 * batch a turn, responses are read between batches, so only about
 * (requests per second x latency) transfers are alive at a time, and the
 * round ends no later: the loop's CPU, not the waiting, is what bounds
 * it. docs/bench/rest.md has the measurements behind the batch size. */
#include "engine.h"

void rest__on_idle(uv_idle_t *h) {
  rest_engine *e = h->data;
  /* A start may queue or unqueue others (a cancel in a round's callback):
   * take each from the head afresh. One queued during this turn (a round
   * writing its records queues itself again) waits for the next turn,
   * so that other sources' rounds get the loop between its chunks. */
  rest_wait *last = e->wait_tail;
  for (long i = 0; i < e->batch && e->wait_head != NULL; i++) {
    rest_wait *w = e->wait_head;
    int was_last = w == last;
    rest_engine_unqueue(e, w);
    w->start(w);
    if (was_last) {
      break;
    }
  }
  if (e->wait_head == NULL) {
    uv_idle_stop(&e->idle);
  }
}

void rest_engine_queue(rest_engine *e, rest_wait *w) {
  w->next = NULL;
  w->prev = e->wait_tail;
  if (e->wait_tail != NULL) {
    e->wait_tail->next = w;
  } else {
    e->wait_head = w;
  }
  e->wait_tail = w;
  w->queued = 1;
  /* Cannot fail on an initialised handle with a callback. */
  uv_idle_start(&e->idle, rest__on_idle);
}

void rest_engine_unqueue(rest_engine *e, rest_wait *w) {
  if (!w->queued) {
    return;
  }
  if (w->prev != NULL) {
    w->prev->next = w->next;
  } else {
    e->wait_head = w->next;
  }
  if (w->next != NULL) {
    w->next->prev = w->prev;
  } else {
    e->wait_tail = w->prev;
  }
  w->prev = w->next = NULL;
  w->queued = 0;
}
