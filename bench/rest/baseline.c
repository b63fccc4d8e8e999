/* The thread-pool baseline the rest benchmark compares siphon with: a
 * fixed pool of 50 pthreads, each doing blocking curl_easy_perform()
 * calls over the N source URLs of a round (one easy handle per thread,
 * so each thread keeps its own connections alive between requests).
 *
 *   rest_baseline --n N --addrs A --port P [--ms 200] [--threads 50] [--rounds R]
 *
 * Prints one line per round: wall time, CPU seconds of the process during
 * the round, failures; and the peak RSS at the end. */
#include <stdatomic.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static char **urls;
static long n_urls;
static atomic_long next_url;
static atomic_long failures;

static size_t discard(char *d, size_t s, size_t n, void *u) {
  (void)d;
  (void)u;
  return s * n;
}

typedef struct worker {
  pthread_t tid;
  CURL *easy;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (;;) {
    long i = atomic_fetch_add(&next_url, 1);
    if (i >= n_urls) {
      return NULL;
    }
    curl_easy_setopt(w->easy, CURLOPT_URL, urls[i]);
    long status = 0;
    if (curl_easy_perform(w->easy) != CURLE_OK ||
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
      atomic_fetch_add(&failures, 1);
    }
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  long n = 1000, addrs = 1, port = 0, ms = 200, threads = 50, rounds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    long v = strtol(argv[i + 1], NULL, 10);
    if (strcmp(argv[i], "--n") == 0) {
      n = v;
    } else if (strcmp(argv[i], "--addrs") == 0) {
      addrs = v;
    } else if (strcmp(argv[i], "--port") == 0) {
      port = v;
    } else if (strcmp(argv[i], "--ms") == 0) {
      ms = v;
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = v;
    } else if (strcmp(argv[i], "--rounds") == 0) {
      rounds = v;
    }
  }
  if (port <= 0 || n <= 0 || addrs <= 0 || threads <= 0 || rounds <= 0) {
    fprintf(stderr,
            "usage: rest_baseline --n N --addrs A --port P [--ms 200] [--threads 50] "
            "[--rounds R]\n");
    return 2;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return 1;
  }
  n_urls = n;
  urls = calloc((size_t)n, sizeof(*urls));
  for (long i = 0; i < n; i++) {
    urls[i] = malloc(96);
    snprintf(urls[i], 96, "http://127.0.0.%ld:%ld/delay?ms=%ld&id=%ld", 1 + i % addrs, port, ms, i);
  }
  worker *w = calloc((size_t)threads, sizeof(*w));
  for (long t = 0; t < threads; t++) {
    w[t].easy = curl_easy_init();
    curl_easy_setopt(w[t].easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(w[t].easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w[t].easy, CURLOPT_TIMEOUT_MS, 60000L);
  }
  for (long r = 0; r < rounds; r++) {
    atomic_store(&next_url, 0);
    atomic_store(&failures, 0);
    double t0 = now_s(), c0 = cpu_s();
    for (long t = 0; t < threads; t++) {
      pthread_create(&w[t].tid, NULL, work, &w[t]);
    }
    for (long t = 0; t < threads; t++) {
      pthread_join(w[t].tid, NULL);
    }
    printf("round=%ld wall_s=%.3f cpu_s=%.3f failures=%ld\n", r + 1, now_s() - t0, cpu_s() - c0,
           atomic_load(&failures));
    fflush(stdout);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak_rss_kib=%ld\n", ru.ru_maxrss);
  for (long t = 0; t < threads; t++) {
    curl_easy_cleanup(w[t].easy);
  }
  for (long i = 0; i < n; i++) {
    free(urls[i]);
  }
  free(urls);
  free(w);
  curl_global_cleanup();
  return 0;
}
