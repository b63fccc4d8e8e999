/* The table `siphon --once` prints on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "util.h"

const char *siphon__round_status_name(siphon__round_status st) {
  switch (st) {
    case SIPHON__ROUND_OK:
      return "ok";
    case SIPHON__ROUND_FAILED:
      return "failed";
    case SIPHON__ROUND_TIMEOUT:
      return "timeout";
    case SIPHON__ROUND_SKIPPED:
      return "skipped";
    case SIPHON__ROUND_NONE:
      break;
  }
  return "not run";
}

/* Written into memory, then to stderr at once: stderr is unbuffered, and
 * a line a write() is 10,000 system calls for 10,000 sources. */
void siphon__summary_print(const siphon__host *h) {
  char *text = NULL;
  size_t text_len = 0;
  FILE *out = open_memstream(&text, &text_len);
  if (out == NULL) {
    out = stderr;
  }
  int w = 6;
  for (size_t i = 0; i < h->source_count; i++) {
    int n = (int)strlen(h->sources[i].name);
    w = n > w ? n : w;
  }
  if (w > 40) {
    w = 40;
  }
  int pw = 6; /* the PLUGIN column, as wide as its longest name */
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon__plugin *p = h->sources[i].plugin;
    int n = p != NULL ? (int)strlen(p->name) : 0;
    pw = n > pw ? n : pw;
  }
  size_t ok = 0, bad = 0, timed_out = 0, running_n = 0;
  uint64_t records = 0;
  fprintf(out, "%-*s  %-*s  %-8s  %8s  %10s  %s\n", w, "SOURCE", pw, "PLUGIN", "STATUS", "RECORDS",
          "DURATION", "ERROR");
  for (size_t i = 0; i < h->source_count; i++) {
    const siphon_source *s = &h->sources[i];
    if (s->streaming) {
      continue;
    }
    /* Still held at a hard stop: no outcome yet. */
    int running = s->round != NULL && s->last_status == SIPHON__ROUND_NONE;
    if (running) {
      running_n++;
    } else if (s->last_status == SIPHON__ROUND_OK) {
      ok++;
    } else if (s->last_status == SIPHON__ROUND_TIMEOUT) {
      timed_out++;
    } else {
      bad++;
    }
    records += s->last_records;
    fprintf(out, "%-*s  %-*s  %-8s  %8llu  %8.3f s  %s\n", w, s->name, pw, s->plugin->name,
            running ? "running" : siphon__round_status_name(s->last_status),
            (unsigned long long)s->last_records,
            running ? (double)(siphon__now_ms() - s->round->started_ms) / 1000.0
                    : (double)s->last_ms / 1000.0,
            s->last_error ? s->last_error : "");
  }
  /* Timeouts apart, as the table and the stop line count them. */
  char timeouts[96] = "";
  int at = 0;
  if (timed_out > 0) {
    at = snprintf(timeouts, sizeof(timeouts), ", %zu timed out", timed_out);
  }
  if (running_n > 0) {
    snprintf(timeouts + at, sizeof(timeouts) - (size_t)at, ", %zu still running", running_n);
  }
  size_t all = ok + bad + timed_out + running_n;
  fprintf(out, "round: %zu source%s, %zu ok, %zu failed%s, %llu record%s in %.3f s\n", all,
          all == 1 ? "" : "s", ok, bad, timeouts, (unsigned long long)records,
          records == 1 ? "" : "s", (double)(siphon__now_ms() - h->started_ms) / 1000.0);
  if (out != stderr) {
    fclose(out);
    fwrite(text, 1, text_len, stderr);
    free(text);
  }
}
