/* Async rounds run on the loop thread: collect() starts I/O and the
 * plugin calls round_done() later. */
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "round.h"

void siphon__run_async(siphon_source *s, siphon_round *r) {
  /* round_done() inside collect() leaves the release to us, so that what
   * collect() returns can still be checked against it. */
  r->in_collect = 1;
  int rc = s->plugin->desc.collect(s->instance, r);
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
    char msg[128];
    snprintf(msg, sizeof(msg), "collect() returned %s (%s)", uv_err_name(rc), uv_strerror(rc));
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
