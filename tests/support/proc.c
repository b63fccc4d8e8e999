#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(char **buf, size_t *len, const char *data, size_t n) {
  *buf = realloc(*buf, *len + n + 1);
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = '\0';
}

/* Builds the child's environment: ours, with `extra` added or replacing. */
static char **make_env(const char *const *extra) {
  size_t n = 0, k = 0;
  while (environ[n] != NULL) {
    n++;
  }
  while (extra != NULL && extra[k] != NULL) {
    k++;
  }
  char **env = calloc(n + k + 1, sizeof(char *));
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int replaced = 0;
    for (size_t j = 0; j < k; j++) {
      if (strncmp(extra[j], environ[i], name_len) == 0 && extra[j][name_len] == '=') {
        replaced = 1;
      }
    }
    if (!replaced) {
      env[m++] = environ[i];
    }
  }
  for (size_t j = 0; j < k; j++) {
    env[m++] = (char *)extra[j];
  }
  env[m] = NULL;
  return env;
}

/* Children started and not yet reaped. A test whose assertion fails
 * leaves by a longjmp, past its tproc_kill(): what it started would run
 * on, orphaned (a siphon, a suite's httpfix), and load every test after
 * it. The test process kills them as it exits. */
static pid_t live[256];
static size_t n_live;

static void live_add(pid_t pid) {
  if (n_live < sizeof(live) / sizeof(live[0])) {
    live[n_live++] = pid;
  }
}

static void live_remove(pid_t pid) {
  for (size_t i = 0; i < n_live; i++) {
    if (live[i] == pid) {
      live[i] = live[--n_live];
      return;
    }
  }
}

__attribute__((destructor)) static void kill_leftovers(void) {
  for (size_t i = 0; i < n_live; i++) {
    kill(live[i], SIGKILL);
    waitpid(live[i], NULL, 0);
  }
  n_live = 0;
}

int tproc_start(tproc *p, const char *const *argv, const char *const *env) {
  memset(p, 0, sizeof(*p));
  p->status = -1;
  p->out = calloc(1, 1);
  p->err = calloc(1, 1);
  int out[2], err[2];
  if (pipe(out) != 0) {
    return -errno;
  }
  if (pipe(err) != 0) {
    close(out[0]);
    close(out[1]);
    return -errno;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addclose(&fa, err[0]);
  char **envp = make_env(env);
  int rc = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv, envp);
  free(envp);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    return -rc;
  }
  p->out_fd = out[0];
  p->err_fd = err[0];
  live_add(p->pid);
  return 0;
}

/* Reads whatever is ready within `ms`. Returns 0 when both pipes are
 * closed, 1 otherwise. */
static int pump(tproc *p, int ms) {
  struct pollfd fds[2];
  int n = 0;
  if (p->out_fd >= 0) {
    fds[n].fd = p->out_fd;
    fds[n].events = POLLIN;
    n++;
  }
  if (p->err_fd >= 0) {
    fds[n].fd = p->err_fd;
    fds[n].events = POLLIN;
    n++;
  }
  if (n == 0) {
    return 0;
  }
  int rc = poll(fds, (nfds_t)n, ms);
  if (rc <= 0) {
    return 1;
  }
  for (int i = 0; i < n; i++) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      continue;
    }
    char buf[65536];
    ssize_t got = read(fds[i].fd, buf, sizeof(buf));
    int is_out = fds[i].fd == p->out_fd;
    if (got > 0) {
      if (is_out) {
        append(&p->out, &p->out_len, buf, (size_t)got);
      } else {
        append(&p->err, &p->err_len, buf, (size_t)got);
      }
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      close(fds[i].fd);
      if (is_out) {
        p->out_fd = -1;
      } else {
        p->err_fd = -1;
      }
    }
  }
  return 1;
}

static int wait_in(tproc *p, char **buf, const char *needle, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    if (strstr(*buf, needle) != NULL) {
      return 1;
    }
    long long left = deadline - now_ms();
    if (left <= 0) {
      return 0;
    }
    if (!pump(p, (int)(left < 50 ? left : 50))) {
      return strstr(*buf, needle) != NULL;
    }
  }
}

int tproc_wait_stdout(tproc *p, const char *needle, int timeout_ms) {
  return wait_in(p, &p->out, needle, timeout_ms);
}

int tproc_wait_stderr(tproc *p, const char *needle, int timeout_ms) {
  return wait_in(p, &p->err, needle, timeout_ms);
}

int tproc_wait_stdout_count(tproc *p, const char *needle, size_t n, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    if (tproc_count(p->out, needle) >= n) {
      return 1;
    }
    long long left = deadline - now_ms();
    if (left <= 0) {
      return 0;
    }
    if (!pump(p, (int)(left < 50 ? left : 50))) {
      return tproc_count(p->out, needle) >= n;
    }
  }
}

size_t tproc_count(const char *haystack, const char *needle) {
  size_t n = 0, len = strlen(needle);
  if (len == 0) {
    return 0;
  }
  /* Not strstr() in a loop: ASan's strstr measures the whole rest of the
   * haystack on every call, which over 100,000 lines of output is
   * quadratic and took minutes. strchr() reads only up to its match. */
  for (const char *s = strchr(haystack, needle[0]); s != NULL; s = strchr(s, needle[0])) {
    if (strncmp(s, needle, len) == 0) {
      n++;
      s += len;
    } else {
      s++;
    }
  }
  return n;
}

void tproc_kill(tproc *p, int sig) {
  if (p->pid > 0 && p->status < 0) {
    kill(p->pid, sig);
  }
}

static int decode(int st) {
  if (WIFEXITED(st)) {
    return WEXITSTATUS(st);
  }
  if (WIFSIGNALED(st)) {
    return 128 + WTERMSIG(st);
  }
  return -1;
}

int tproc_finish(tproc *p, int timeout_ms) {
  if (p->status >= 0) {
    return p->status;
  }
  long long deadline = now_ms() + timeout_ms;
  int killed = 0;
  for (;;) {
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
      live_remove(p->pid);
      while (pump(p, 10)) {
      }
      p->status = decode(st);
      return p->status;
    }
    if (!killed && now_ms() > deadline) {
      kill(p->pid, SIGKILL);
      killed = 1;
    }
    if (!pump(p, 20)) {
      usleep(5000);
    }
  }
}

void tproc_free(tproc *p) {
  if (p->out_fd >= 0) {
    close(p->out_fd);
  }
  if (p->err_fd >= 0) {
    close(p->err_fd);
  }
  free(p->out);
  free(p->err);
  p->out = p->err = NULL;
}

int tproc_run(tproc *p, const char *const *argv, const char *const *env, int timeout_ms) {
  if (tproc_start(p, argv, env) != 0) {
    return -1;
  }
  return tproc_finish(p, timeout_ms);
}

int tproc_siphon(tproc *p, int timeout_ms, const char *arg0, ...) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = SIPHON_BIN;
  va_list ap;
  va_start(ap, arg0);
  for (const char *a = arg0; a != NULL && n < 63; a = va_arg(ap, const char *)) {
    argv[n++] = a;
  }
  va_end(ap);
  argv[n] = NULL;
  return tproc_run(p, argv, NULL, timeout_ms);
}
