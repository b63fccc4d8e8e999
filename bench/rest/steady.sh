#!/bin/bash
# Client CPU of a fully warm request, A against B, in interleaved runs
# (docs/bench/rest.md, "What bounds it"): N sources polled every 2 s
# against the latency server, and in each run the CPU that siphon and the
# server spend over a window of steady rounds, read from /proc, divided
# by the records written in that window.
#
#   bench/rest/steady.sh [BUILD_DIR]    (default: build-rest-release; configured if missing, always brought up to date)
#
# Environment: N=10000  SPREAD=1  PAIRS=3  MS=200  WARMUP=4.5  WINDOW=8
#   A="VAR=value ..." and B="VAR=value ...": extra environment for siphon
#   in the two arms (default: none for A, and B not run), as in
#   B="LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" or
#   B="LD_LIBRARY_PATH=/path/to/another/libcurl/lib/.libs". Split on
#   spaces: values cannot hold any.
#
# This machine's speed drifts by 20% and more within an hour, and the
# latency server's CPU a request drifts with it, so besides the client's
# us a request each line shows the client's CPU over the server's in the
# same window ("ratio"): that is steadier between runs, and the median
# ratio of each arm is what to compare.
set -eu
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
SPREAD=${SPREAD:-1}
PAIRS=${PAIRS:-3}
WARMUP=${WARMUP:-4.5}
WINDOW=${WINDOW:-8}
A=${A:-}
B=${B:-}
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"
steady_cleanup() {
  pkill -f -- "$TMP/steady.json" 2> /dev/null || true
  cleanup
}
trap steady_cleanup EXIT

ticks() { # ticks PID: user + system clock ticks so far
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# arm LABEL ENV...: one run; prints "LABEL requests client_us server_us ratio".
arm() {
  local label=$1
  shift
  # shellcheck disable=SC2068
  env $@ "$SIPHON" -c "$TMP/steady.json" > "$TMP/steady.out" 2> "$TMP/steady.err" &
  local pid=$!
  sleep "$WARMUP"
  local c0 s0 r0 c1 s1 r1
  c0=$(ticks "$pid")
  s0=$(ticks "$SRV_PID")
  r0=$(wc -l < "$TMP/steady.out")
  sleep "$WINDOW"
  c1=$(ticks "$pid")
  s1=$(ticks "$SRV_PID")
  r1=$(wc -l < "$TMP/steady.out")
  kill -TERM "$pid"
  wait "$pid" || true
  local n=$((r1 - r0))
  [ "$n" -gt 0 ] || { echo "steady.sh: no records in the window (siphon's last words below)" >&2; tail -3 "$TMP/steady.err" >&2; exit 1; }
  awk -v l="$label" -v n="$n" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
    printf "%-2s %9d %10.1f %10.1f %6.2f\n", l, n, c * 1e6 / hz / n, s * 1e6 / hz / n, s ? c / s : 0 }'
}

server_start "$SPREAD"
[ -n "$PORT" ] || { echo "steady.sh: the latency server did not start" >&2; exit 1; }
gen "$N" "$SPREAD" "$PORT" 2s 2s > "$TMP/steady.json"
printf '%-2s %9s %10s %10s %6s\n' arm requests client_us server_us ratio
: > "$TMP/lines"
for _ in $(seq "$PAIRS"); do
  # shellcheck disable=SC2086
  arm A $A | tee -a "$TMP/lines"
  if [ -n "$B" ]; then
    # shellcheck disable=SC2086
    arm B $B | tee -a "$TMP/lines"
  fi
done
for l in A B; do
  grep -q "^$l " "$TMP/lines" || continue
  echo "median ratio $l: $(awk -v l="$l" '$1 == l { print $5 }' "$TMP/lines" | median)"
done
server_stop
