#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define SIPHON__OUTPUT_BATCH_BYTES (64u * 1024u)
#define SIPHON__OUTPUT_BATCH_NS (5u * 1000u * 1000u)
#define SIPHON__OUTPUT_IDLE_NS (100u * 1000u * 1000u)
/* A buffer that grew past this for a burst (a round of thousands of
 * sources) is freed once written and the burst is over, not kept for the
 * rest of the run. */
#define SIPHON__OUTPUT_KEEP_BYTES (1024u * 1024u)
/* How long a stop waits on the writer before it says so. */
#define SIPHON__OUTPUT_STALL_NS (1000u * 1000u * 1000u)

static _Atomic uint64_t unwritten_hint;

uint64_t siphon__output_unwritten_hint(void) {
  return atomic_load(&unwritten_hint);
}

/* Called with o->lock held, whenever queued or written moves. */
static void note_unwritten(const siphon__output *o) {
  atomic_store_explicit(&unwritten_hint, o->queued - o->written, memory_order_relaxed);
}

/* The output file as siphon opens it, at start and on SIGHUP: appended to,
 * created with mode 0640 (records may be private), not inherited. */
static int open_append(const char *path) {
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* *done: the bytes written, also when it fails part way. */
static int write_all(int fd, const char *p, size_t n, size_t *done) {
  *done = 0;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -errno;
    }
    p += w;
    n -= (size_t)w;
    *done += (size_t)w;
  }
  return 0;
}

/* Whole records in the first n bytes of a batch: one a line. */
static uint64_t lines_in(const char *p, size_t n) {
  uint64_t lines = 0;
  const char *end = p + n;
  for (const char *nl = memchr(p, '\n', n); nl != NULL;
       nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1))) {
    lines++;
  }
  return lines;
}

static void writer_main(void *arg) {
  siphon__output *o = arg;
  char *mine = NULL;
  size_t mine_cap = 0;
  uv_mutex_lock(&o->lock);
  for (;;) {
    while (o->len == 0 && !o->stop && o->next_fd < 0) {
      /* Timed, not forever: a lost wake-up (glibc bug 25847 races a
       * timed wait with a signal) must not park records for good. */
      uv_cond_timedwait(&o->cond, &o->lock, SIPHON__OUTPUT_IDLE_NS);
    }
    if (o->len == 0 && o->stop && o->next_fd < 0) {
      break;
    }
    /* Gather a batch: one write() and one wake-up per few ms instead of
     * one per record keeps a steady trickle of records cheap. */
    if (!o->stop && o->len < SIPHON__OUTPUT_BATCH_BYTES) {
      uv_cond_timedwait(&o->cond, &o->lock, SIPHON__OUTPUT_BATCH_NS);
    }
    /* Swap buffers: the loop keeps filling while we write. */
    char *full = o->buf;
    size_t full_len = o->len;
    size_t full_cap = o->cap;
    uint64_t full_records = o->buf_records;
    o->buf = mine;
    o->cap = mine_cap;
    o->len = 0;
    o->buf_records = 0;
    o->writing = full_len;
    int old_fd = -1;
    if (o->next_fd >= 0) {
      old_fd = o->fd;
      o->fd = o->next_fd;
      o->next_fd = -1;
    }
    int fd = o->fd;
    uv_mutex_unlock(&o->lock);

    if (old_fd >= 0) {
      close(old_fd); /* every byte before the reopen went to it */
    }
    size_t done = 0;
    int rc = write_all(fd, full, full_len, &done);
    /* The reader took some of a batch that failed (`| head`): those
     * records are written. Counted now: `full` may be freed below. */
    uint64_t done_records = rc != 0 ? lines_in(full, done) : 0;

    uv_mutex_lock(&o->lock);
    mine = full;
    mine_cap = full_cap;
    if (mine_cap > SIPHON__OUTPUT_KEEP_BYTES && o->len < SIPHON__OUTPUT_KEEP_BYTES / 4) {
      /* The burst is over (little queued while this was written); under
       * a steady load the big buffer is kept, not regrown every batch. */
      free(mine);
      mine = NULL;
      mine_cap = 0;
    }
    o->writing = 0;
    if (rc != 0) {
      o->written += done_records;
      note_unwritten(o);
      o->failed = 1;
      o->err = -rc;
      o->exited = 1;
      uv_cond_signal(&o->done);
      uv_mutex_unlock(&o->lock);
      uv_async_send(&o->notify);
      free(mine);
      return;
    }
    o->written += full_records;
    note_unwritten(o);
    int wake = o->over && o->len + o->writing <= o->limit / 2;
    uv_mutex_unlock(&o->lock);
    if (wake) {
      uv_async_send(&o->notify);
    }
    uv_mutex_lock(&o->lock);
  }
  o->exited = 1;
  uv_cond_signal(&o->done);
  uv_mutex_unlock(&o->lock);
  free(mine);
}

static void on_notify(uv_async_t *a) {
  siphon__output *o = a->data;
  uv_mutex_lock(&o->lock);
  int drained = o->over && o->len + o->writing <= o->limit / 2;
  if (drained) {
    o->over = 0;
  }
  uv_mutex_unlock(&o->lock);
  if (o->cb != NULL) {
    o->cb(o, o->cb_arg);
  }
}

static int stdout_closed;

void siphon__output_stdout_was_closed(void) {
  stdout_closed = 1;
}

int siphon__output_open(siphon__output *o, uv_loop_t *loop, const char *path, uint64_t limit,
                        siphon__output_cb cb, void *arg, char **err_out) {
  if (path == NULL && stdout_closed) {
    *err_out = siphon__asprintf(
        "output stdout: standard output was closed when siphon started (as by >&-), so records "
        "would go nowhere; give it a file or /dev/null, or set siphon.output to a file");
    return -EBADF;
  }
  memset(o, 0, sizeof(*o));
  o->next_fd = -1;
  o->limit = limit ? limit : 64u << 20;
  o->cb = cb;
  o->cb_arg = arg;
  if (path == NULL) {
    o->fd = STDOUT_FILENO;
    o->name = siphon__xstrdup("stdout");
  } else {
    o->fd = open_append(path);
    if (o->fd < 0) {
      int e = errno;
      *err_out = siphon__asprintf("output file %s: %s", path, strerror(e));
      return -e;
    }
    o->owns_fd = 1;
    o->name = siphon__xstrdup(path);
  }
  uv_mutex_init(&o->lock);
  uv_cond_init(&o->cond);
  uv_cond_init(&o->done);
  int rc = uv_async_init(loop, &o->notify, on_notify);
  if (rc != 0) {
    *err_out = siphon__asprintf("output: %s", uv_strerror(rc));
    uv_mutex_destroy(&o->lock);
    uv_cond_destroy(&o->cond);
    uv_cond_destroy(&o->done);
    siphon__output_close(o);
    return rc;
  }
  o->notify.data = o;
  rc = uv_thread_create(&o->thread, writer_main, o);
  if (rc != 0) {
    *err_out = siphon__asprintf("output: cannot start writer thread: %s", uv_strerror(rc));
    uv_close((uv_handle_t *)&o->notify, NULL);
    uv_mutex_destroy(&o->lock);
    uv_cond_destroy(&o->cond);
    uv_cond_destroy(&o->done);
    siphon__output_close(o);
    return rc;
  }
  o->thread_started = 1;
  return 0;
}

int siphon__output_reopen(siphon__output *o, char **err_out) {
  if (!o->owns_fd) {
    return 1;
  }
  uv_mutex_lock(&o->lock);
  int failed = o->failed ? o->err : 0;
  uv_mutex_unlock(&o->lock);
  if (failed != 0) {
    *err_out =
        siphon__asprintf("output file %s: writing failed before: %s", o->name, strerror(failed));
    return -failed;
  }
  int fd = open_append(o->name);
  if (fd < 0) {
    int e = errno;
    *err_out = siphon__asprintf("output file %s: %s", o->name, strerror(e));
    return -e;
  }
  uv_mutex_lock(&o->lock);
  int stale = o->next_fd; /* two reopens before a write: keep the newer */
  o->next_fd = fd;
  uv_mutex_unlock(&o->lock);
  if (stale >= 0) {
    close(stale);
  }
  uv_cond_signal(&o->cond);
  return 0;
}

int siphon__output_write(siphon__output *o, const char *line, size_t len) {
  uv_mutex_lock(&o->lock);
  if (o->failed) {
    o->queued++;
    note_unwritten(o);
    uv_mutex_unlock(&o->lock);
    return -EPIPE;
  }
  if (o->len + len > o->cap) {
    size_t cap = o->cap ? o->cap : 65536;
    while (cap < o->len + len) {
      cap *= 2;
    }
    o->buf = siphon__xrealloc(o->buf, cap);
    o->cap = cap;
  }
  int wake = o->len == 0 ||
             (o->len < SIPHON__OUTPUT_BATCH_BYTES && o->len + len >= SIPHON__OUTPUT_BATCH_BYTES);
  memcpy(o->buf + o->len, line, len);
  o->len += len;
  o->buf_records++;
  o->queued++;
  note_unwritten(o);
  int over = o->len + o->writing >= o->limit;
  if (over) {
    o->over = 1;
  }
  uv_mutex_unlock(&o->lock);
  if (wake) {
    uv_cond_signal(&o->cond);
  }
  return over;
}

int siphon__output_failed(siphon__output *o) {
  if (!o->thread_started) {
    return o->failed;
  }
  uv_mutex_lock(&o->lock);
  int f = o->failed;
  uv_mutex_unlock(&o->lock);
  return f;
}

uint64_t siphon__output_lost(siphon__output *o) {
  if (!o->thread_started) {
    return o->queued - o->written; /* closed: the writer is gone */
  }
  uv_mutex_lock(&o->lock);
  uint64_t lost = o->queued - o->written;
  uv_mutex_unlock(&o->lock);
  return lost;
}

void siphon__output_close(siphon__output *o) {
  if (o->thread_started) {
    uv_mutex_lock(&o->lock);
    o->stop = 1;
    uv_cond_signal(&o->cond);
    /* A reader that does not read (a stalled pipe) holds the writer in
     * write() for as long as it likes: say so, and what a second signal
     * would lose, rather than hang in silence. */
    int said = 0;
    while (!o->exited) {
      if (uv_cond_timedwait(&o->done, &o->lock, SIPHON__OUTPUT_STALL_NS) == UV_ETIMEDOUT &&
          !o->exited && !said) {
        said = 1;
        uint64_t left = o->queued - o->written;
        /* Logged without the lock: a slow log must not hold the writer. */
        uv_mutex_unlock(&o->lock);
        siphon__log(SIPHON_LOG_WARN, NULL,
                    "stopping: still writing to %s after 1 s, %llu record%s to go; waiting for "
                    "it (a stop signal after the first exits at once and loses them)",
                    o->name, (unsigned long long)left, left == 1 ? "" : "s");
        uv_mutex_lock(&o->lock);
      }
    }
    uv_mutex_unlock(&o->lock);
    atomic_store(&unwritten_hint, 0);
    uv_thread_join(&o->thread);
    o->thread_started = 0;
    uv_close((uv_handle_t *)&o->notify, NULL);
    uv_mutex_destroy(&o->lock);
    uv_cond_destroy(&o->cond);
    uv_cond_destroy(&o->done);
  }
  if (o->owns_fd && o->fd >= 0) {
    close(o->fd);
  }
  if (o->next_fd >= 0) {
    close(o->next_fd);
    o->next_fd = -1;
  }
  o->fd = -1;
  free(o->buf);
  o->buf = NULL;
  free(o->name);
  o->name = NULL;
}
