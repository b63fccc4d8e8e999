/* Durations ("250ms", "1.5s", "1h30m" or integer ms) and sizes ("64MiB",
 * "100MB" or integer bytes) as written in configs and plugin options. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* The number at *s: digits with an optional fraction. Whole part in *whole,
 * fraction as num/den (at most 9 digits are kept: sub-nanosecond precision
 * means nothing here). Advances *s. */
static int parse_decimal(const char **s, uint64_t *whole, uint64_t *num, uint64_t *den) {
  const char *p = *s;
  uint64_t w = 0;
  int digits = 0;
  while (*p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (w > (UINT64_MAX - d) / 10) {
      return -ERANGE;
    }
    w = w * 10 + d;
    p++;
    digits++;
  }
  uint64_t n = 0;
  uint64_t q = 1;
  if (*p == '.') {
    p++;
    int frac = 0;
    while (*p >= '0' && *p <= '9') {
      if (frac < 9) {
        n = n * 10 + (uint64_t)(*p - '0');
        q *= 10;
      }
      frac++;
      p++;
    }
    if (frac == 0) {
      return -EINVAL;
    }
    digits += frac;
  }
  if (digits == 0) {
    return -EINVAL;
  }
  *whole = w;
  *num = n;
  *den = q;
  *s = p;
  return 0;
}

/* whole*unit + round(num/den*unit), or -ERANGE. */
static int scale(uint64_t whole, uint64_t num, uint64_t den, uint64_t unit, uint64_t *out) {
  if (unit != 0 && whole > UINT64_MAX / unit) {
    return -ERANGE;
  }
  uint64_t v = whole * unit;
  /* num (< 1e9) times a TiB overflows 64 bits: long double holds it. */
  long double frac = (long double)num * (long double)unit / (long double)den;
  uint64_t f = (uint64_t)llroundl(frac);
  if (v > UINT64_MAX - f) {
    return -ERANGE;
  }
  *out = v + f;
  return 0;
}

static const struct {
  const char *suffix;
  uint64_t ms;
} duration_units[] = {
    /* "ms" before "m": the longest suffix wins. */
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
};

int siphon__duration_parse_str(const char *s, uint64_t *ms_out) {
  if (s == NULL || *s == '\0') {
    return -EINVAL;
  }
  /* "0" needs no unit to be read one way, as in Go's durations. */
  if (strcmp(s, "0") == 0) {
    *ms_out = 0;
    return 0;
  }
  uint64_t total = 0;
  const char *p = s;
  while (*p != '\0') {
    uint64_t whole;
    uint64_t num;
    uint64_t den;
    int rc = parse_decimal(&p, &whole, &num, &den);
    if (rc != 0) {
      return rc;
    }
    size_t i;
    size_t n_units = sizeof(duration_units) / sizeof(duration_units[0]);
    for (i = 0; i < n_units; i++) {
      size_t len = strlen(duration_units[i].suffix);
      if (strncmp(p, duration_units[i].suffix, len) == 0) {
        /* "1m" and "1ms" share a prefix: a unit ends at a digit or '\0'. */
        char next = p[len];
        if (next == '\0' || (next >= '0' && next <= '9')) {
          break;
        }
      }
    }
    if (i == n_units) {
      return -EINVAL; /* no unit: "10" as a string is ambiguous */
    }
    p += strlen(duration_units[i].suffix);
    uint64_t part;
    if (scale(whole, num, den, duration_units[i].ms, &part) != 0 || total > UINT64_MAX - part) {
      return -ERANGE;
    }
    total += part;
  }
  *ms_out = total;
  return 0;
}

static int duration_parse_any(const json_t *v, uint64_t *ms_out);

int siphon__duration_parse(const json_t *v, uint64_t *ms_out) {
  uint64_t ms = 0;
  int rc = duration_parse_any(v, &ms);
  if (rc == 0 && ms > SIPHON__DURATION_MAX_MS) {
    return -ERANGE;
  }
  if (rc == 0) {
    *ms_out = ms;
  }
  return rc;
}

static int duration_parse_any(const json_t *v, uint64_t *ms_out) {
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i < 0) {
      return -EINVAL;
    }
    *ms_out = (uint64_t)i;
    return 0;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (!(d >= 0) || d != floor(d)) {
      return -EINVAL;
    }
    if (d > 9.0e18) {
      return -ERANGE;
    }
    *ms_out = (uint64_t)d;
    return 0;
  }
  if (json_is_string(v)) {
    return siphon__duration_parse_str(json_string_value(v), ms_out);
  }
  return -EINVAL;
}

void siphon__duration_format(uint64_t ms, char *buf, size_t size) {
  if (ms != 0 && ms % (60 * 60 * 1000) == 0) {
    snprintf(buf, size, "%lluh", (unsigned long long)(ms / (60 * 60 * 1000)));
  } else if (ms != 0 && ms % (60 * 1000) == 0) {
    snprintf(buf, size, "%llum", (unsigned long long)(ms / (60 * 1000)));
  } else if (ms % 1000 == 0) {
    snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
  } else if (ms > 1000) {
    /* "1.5s", "1.25s": trailing zeros of the milliseconds dropped. */
    unsigned frac = (unsigned)(ms % 1000);
    int digits = 3;
    while (frac % 10 == 0) {
      frac /= 10;
      digits--;
    }
    snprintf(buf, size, "%llu.%0*us", (unsigned long long)(ms / 1000), digits, frac);
  } else {
    snprintf(buf, size, "%llums", (unsigned long long)ms);
  }
}

static const struct {
  const char *suffix;
  uint64_t bytes;
} size_units[] = {
    {"", 1},
    {"b", 1},
    {"kb", 1000ull},
    {"mb", 1000ull * 1000},
    {"gb", 1000ull * 1000 * 1000},
    {"tb", 1000ull * 1000 * 1000 * 1000},
    {"kib", 1ull << 10},
    {"mib", 1ull << 20},
    {"gib", 1ull << 30},
    {"tib", 1ull << 40},
};

int siphon__size_parse_str(const char *s, uint64_t *bytes_out) {
  if (s == NULL) {
    return -EINVAL;
  }
  const char *p = s;
  uint64_t whole;
  uint64_t num;
  uint64_t den;
  if (parse_decimal(&p, &whole, &num, &den) != 0) {
    return -EINVAL;
  }
  if (*p == ' ') {
    p++; /* "64 MiB" reads naturally too */
  }
  for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
    if (strcasecmp(p, size_units[i].suffix) == 0) {
      if (i < 2 && num != 0) {
        return -EINVAL; /* a fraction of a byte */
      }
      return scale(whole, num, den, size_units[i].bytes, bytes_out) == 0 ? 0 : -EINVAL;
    }
  }
  return -EINVAL;
}

int siphon__size_parse(const json_t *v, uint64_t *bytes_out) {
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i < 0) {
      return -EINVAL;
    }
    *bytes_out = (uint64_t)i;
    return 0;
  }
  if (json_is_string(v)) {
    return siphon__size_parse_str(json_string_value(v), bytes_out);
  }
  return -EINVAL;
}
