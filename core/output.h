/* The output: record lines queue in memory and a writer thread of its own
 * writes them, so a slow disk or reader never blocks the loop. The queue
 * is bounded in bytes; over the bound the host pauses its sources
 * (backpressure) instead of dropping records. */
#ifndef SIPHON_CORE_OUTPUT_H
#define SIPHON_CORE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct siphon__output siphon__output;

/* Called on the loop thread when the queue drained below half its bound
 * after being over it, and when the writer failed. */
typedef void (*siphon__output_cb)(siphon__output *o, void *arg);

struct siphon__output {
  int fd;
  int owns_fd;
  int next_fd; /* reopened file, taken by the writer before its next write; -1: none */
  char *name;  /* "stdout" or the file's path */
  uint64_t limit;

  uv_thread_t thread;
  int thread_started;
  uv_mutex_t lock;
  uv_cond_t cond;
  char *buf; /* filled by the loop; swapped out by the writer */
  size_t len, cap;
  uint64_t buf_records;
  size_t writing; /* bytes the writer holds now */
  int over;       /* the loop saw the queue over its limit */
  int stop;       /* close asked: write what is left, then exit */
  int failed;     /* a write failed; errno in err */
  int err;
  uint64_t queued;  /* records handed to output_write */
  uint64_t written; /* records fully written */
  int exited;       /* the writer has returned; done is signalled */
  uv_cond_t done;

  uv_async_t notify;
  siphon__output_cb cb;
  void *cb_arg;
};

/* While siphon__output_close waits for a slow or stuck reader: the
 * records still to write, as last seen; 0 otherwise. Async-signal-safe,
 * for a second stop signal's last words. */
uint64_t siphon__output_unwritten_hint(void);

/* Opens the output file again by its path (SIGHUP, after logrotate moved
 * it): the writer switches to the new file before its next write and
 * closes the old one, so no record is lost or split. Returns 1 when there
 * is no file to reopen (stdout), 0 when done, or a negative errno with
 * *err_out set (caller frees); the old file is then kept. Loop thread. */
int siphon__output_reopen(siphon__output *o, char **err_out);

/* Says that stdout was closed when siphon started (main.c holds its
 * number with /dev/null): opening the stdout output then fails. */
void siphon__output_stdout_was_closed(void);

/* Opens stdout (path == NULL) or appends to the file at path (created
 * 0640) and starts the writer thread. Returns 0, or a negative errno with
 * *err_out set to a new message. */
int siphon__output_open(siphon__output *o, uv_loop_t *loop, const char *path, uint64_t limit,
                        siphon__output_cb cb, void *arg, char **err_out);

/* Queues one line (including its '\n'). Loop thread. Returns 1 when the
 * queue is now over its limit (pause producers), 0 otherwise, -EPIPE once
 * the writer failed (the record is counted as lost). */
int siphon__output_write(siphon__output *o, const char *line, size_t len);

/* Non-zero once the writer has failed. */
int siphon__output_failed(siphon__output *o);

/* Records queued but never written (after a failure). */
uint64_t siphon__output_lost(siphon__output *o);

/* Writes what is queued, stops the writer and closes the file; closes the
 * async handle (the loop must run once more for its close callback). */
void siphon__output_close(siphon__output *o);

#endif
