/* The host's own stats (Telegraf's internal input, Fluent Bit's metrics
 * endpoint): every siphon.stats_interval, one record from the source
 * "siphon" (plugin "internal") with the host's counters and each source's,
 * written to the same output as the data, so the same pipeline that reads
 * the records can alert on a source that keeps failing or overrunning. */
#include "stats.h"

#include <stdio.h>

#include "memory.h"
#include "record.h"
#include "util.h"

json_t *siphon__stats_snapshot(siphon__host *h) {
  json_t *memory = siphon__memory_snapshot(h);
  json_t *per = json_object();
  json_int_t rounds = 0, ok = 0, failed = 0, timeouts = 0, skipped = 0, discarded = 0;
  for (size_t i = 0; i < h->source_count; i++) {
    siphon_source *s = &h->sources[i];
    if (s->plugin == NULL) {
      continue;
    }
    json_int_t d = (json_int_t)atomic_load(&s->discarded);
    rounds += (json_int_t)s->rounds;
    ok += (json_int_t)s->rounds_ok;
    failed += (json_int_t)s->rounds_failed;
    timeouts += (json_int_t)s->rounds_timeout;
    skipped += (json_int_t)s->rounds_skipped;
    discarded += d;
    json_t *one = json_pack("{sIsIsIsIsIsIsIsi}", "rounds", (json_int_t)s->rounds, "ok",
                            (json_int_t)s->rounds_ok, "failed", (json_int_t)s->rounds_failed,
                            "timeouts", (json_int_t)s->rounds_timeout, "skipped",
                            (json_int_t)s->rounds_skipped, "records", (json_int_t)s->records,
                            "discarded", d, "failures_in_a_row", (int)s->failures);
    if (!s->streaming) {
      json_object_set_new(one, "last_status",
                          json_string(siphon__round_status_name(s->last_status)));
      json_object_set_new(one, "last_ms", json_integer((json_int_t)s->last_ms));
    }
    json_object_set_new(per, s->name, one);
  }
  uv_mutex_lock(&h->output.lock);
  json_int_t written = (json_int_t)h->output.written;
  json_int_t queued_bytes = (json_int_t)(h->output.len + h->output.writing);
  uv_mutex_unlock(&h->output.lock);
  json_t *all = json_object();
  json_object_set_new(all, "uptime_s",
                      json_real((double)(siphon__now_ms() - h->started_ms) / 1000.0));
  json_object_set_new(all, "sources", json_integer((json_int_t)h->source_count));
  json_object_set_new(all, "threads", json_integer((json_int_t)h->threads));
  json_object_set_new(all, "rounds_in_flight", json_integer((json_int_t)h->rounds_in_flight));
  json_object_set_new(all, "paused", json_boolean(h->paused));
  json_object_set_new(all, "pauses", json_integer((json_int_t)h->pauses));
  json_object_set_new(all, "rounds", json_integer(rounds));
  json_object_set_new(all, "rounds_ok", json_integer(ok));
  json_object_set_new(all, "rounds_failed", json_integer(failed));
  json_object_set_new(all, "rounds_timeout", json_integer(timeouts));
  json_object_set_new(all, "rounds_skipped", json_integer(skipped));
  json_object_set_new(all, "records_written", json_integer(written));
  json_object_set_new(all, "records_discarded", json_integer(discarded));
  json_object_set_new(all, "output_queue_bytes", json_integer(queued_bytes));
  json_object_set_new(all, "threadsafe_queued", json_integer((json_int_t)siphon__ts_queued()));
  json_object_set_new(all, "memory", memory);
  json_object_set_new(all, "per_source", per);
  return all;
}

static void on_stats(uv_timer_t *t) {
  siphon__host *h = t->data;
  json_t *data = siphon__stats_snapshot(h);
  if (siphon__record_format_write(&h->output, h->stats_prefix, h->stats_prefix_len, NULL, data,
                                  NULL) >= 0) { /* 1: queued, over the limit */
    h->stats_records++;
  }
}

void siphon__stats_start(siphon__host *h) {
  uint64_t every = h->config->stats_interval_ms;
  if (every == 0 || h->mode != SIPHON__MODE_RUN) {
    return;
  }
  /* siphon.tags ("host" above all) belong on siphon's own records too. */
  json_t *tags = h->config->tags != NULL ? json_incref(h->config->tags) : json_object();
  h->stats_prefix = siphon__record_prefix("siphon", "internal", tags, &h->stats_prefix_len);
  json_decref(tags);
  uv_timer_init(h->loop, &h->stats_timer);
  h->stats_timer.data = h;
  uv_timer_start(&h->stats_timer, on_stats, every, every);
  h->stats_on = 1;
}

void siphon__stats_stop(siphon__host *h) {
  if (h->stats_on) {
    uv_close((uv_handle_t *)&h->stats_timer, NULL);
    h->stats_on = 0;
  }
}

void siphon__stats_free(siphon__host *h) {
  free(h->stats_prefix);
  h->stats_prefix = NULL;
}
