/* Async rounds run on the loop thread: collect() starts I/O and the
 * plugin calls round_done() later. */
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "round.h"

/* An async collect() that held the loop thread this long blocked: every
 * source's timers and I/O waited for it. Well above what starting I/O
 * takes, even under valgrind, so that the warning is never noise. */
#define SIPHON__LOOP_BLOCK_NS (500ull * 1000 * 1000)

/* Said once a source: nothing on the loop shows the stall otherwise, only
 * late rounds and late records everywhere, and the plugin to blame is the
 * one thing the user needs. */
static void said_blocking(siphon_source *s, uint64_t ns) {
  if (ns < SIPHON__LOOP_BLOCK_NS || s->loop_block_said) {
    return;
  }
  s->loop_block_said = 1;
  siphon__log(SIPHON_LOG_WARN, s->name,
              "plugin \"%s\" blocked the loop thread for %.3f s in collect(): a bug in the "
              "plugin (an async plugin's collect() starts non-blocking I/O and returns; every "
              "source waited meanwhile): a blocking call belongs in a SIPHON_CAP_BLOCKING "
              "plugin's collect_blocking(), which runs on the threadpool (not logged again for "
              "this source)",
              s->plugin->desc.name, (double)ns / 1e9);
}

void siphon__run_async(siphon_source *s, siphon_round *r) {
  /* round_done() inside collect() leaves the release to us, so that what
   * collect() returns can still be checked against it. */
  r->in_collect = 1;
  uint64_t t0 = uv_hrtime();
  int rc = s->plugin->desc.collect(s->instance, r);
  said_blocking(s, uv_hrtime() - t0);
  r->in_collect = 0;
  if (r->done) {
    if (rc != 0 && atomic_fetch_add(&s->plugin_bugs, 1) == 0) {
      siphon__log(SIPHON_LOG_ERROR, s->name,
                  "plugin \"%s\" returned %s from collect() after calling round_done(): a bug "
                  "in the plugin (a collect() that fails never calls round_done()): the round "
                  "counts as round_done() said (not logged again for this source)",
                  s->plugin->desc.name, uv_strerror(rc));
    }
    siphon__round_release(r);
    return;
  }
  if (rc != 0) {
    /* A collect that fails never completes, so the round ends here. It
     * has no message to give (its logs have one): say where it failed. */
    char msg[160];
    if (rc > 0) {
      /* libuv would call it "Unknown system error 5": say whose slip it is. */
      snprintf(msg, sizeof(msg),
               "collect() returned %d, not 0 or a negative errno: a bug in the plugin", rc);
    } else {
      snprintf(msg, sizeof(msg), "collect() returned %s (%s)", uv_err_name(rc), uv_strerror(rc));
    }
    siphon__round_report(r, SIPHON__ROUND_FAILED, msg);
    siphon__round_release(r);
  }
}

void siphon__async_timeout(siphon_source *s, siphon_round *r) {
  if (r->cancel_sent || s->plugin->desc.cancel == NULL) {
    /* Without cancel() the round ends when the plugin says so; what it
     * emits until then is discarded and counted. */
    return;
  }
  r->cancel_sent = 1;
  /* cancel() may call round_done() at once, which frees r. */
  s->plugin->desc.cancel(s->instance, r);
}
