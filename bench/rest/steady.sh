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
#   in the two arms (default: none for A, and B not run; run A B, B A,
#   A B, ... so that a drift weighs on both), as in
#   B="LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" or
#   B="LD_LIBRARY_PATH=/path/to/another/libcurl/lib/.libs". Split on
#   spaces: values cannot hold any.
#
# This machine's speed drifts by 20% and more within an hour, and the
# latency server's CPU a request drifts with it, so besides the client's
# us a request each line shows the client's CPU over the server's in the
# same window ("ratio"): that is steadier between runs, and the median
# ratio of each arm is what to compare. The window (WINDOW, a multiple of
# the 2 s interval) starts between rounds at 10,000 sources.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
SPREAD=${SPREAD:-1}
PAIRS=${PAIRS:-3}
WARMUP=${WARMUP:-4.5}
WINDOW=${WINDOW:-8}
# Each arm's environment as words, every one NAME=VALUE: anything else
# would become the command that env runs, or one of its options.
read -ra A_ENV <<< "${A:-}"
read -ra B_ENV <<< "${B:-}"
for w in "${A_ENV[@]}" "${B_ENV[@]}"; do
  [[ $w =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "steady.sh: '$w' in A or B is not NAME=VALUE" >&2; exit 2; }
done
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"
steady_cleanup() {
  [ -s "$TMP/siphon.pid" ] && kill -KILL "$(cat "$TMP/siphon.pid")" 2> /dev/null || true
  cleanup
}
trap steady_cleanup EXIT
trap 'exit 130' INT TERM

ticks() { # ticks PID: user + system clock ticks so far
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# arm LABEL [NAME=VALUE ...]: one run; appends "LABEL requests client_us
# server_us ratio" to $TMP/lines and prints it.
arm() {
  local label=$1
  shift
  env "$@" "$SIPHON" -c "$TMP/steady.json" > "$TMP/steady.out" 2> "$TMP/steady.err" &
  local pid=$!
  echo "$pid" > "$TMP/siphon.pid"
  sleep "$WARMUP"
  kill -0 "$pid" 2> /dev/null || { echo "steady.sh: siphon ($label) stopped during the warm-up:" >&2; tail -3 "$TMP/steady.err" >&2; exit 1; }
  local c0 s0 r0 c1 s1 r1
  c0=$(ticks "$pid")
  s0=$(ticks "$SRV_PID")
  r0=$(wc -l < "$TMP/steady.out")
  sleep "$WINDOW"
  c1=$(ticks "$pid")
  s1=$(ticks "$SRV_PID")
  r1=$(wc -l < "$TMP/steady.out")
  kill -TERM "$pid"
  # Bounded: a siphon that does not stop is killed, not waited for.
  for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2> /dev/null || true
  wait "$pid" || true
  : > "$TMP/siphon.pid"
  local n=$((r1 - r0))
  [ "$n" -gt 0 ] || { echo "steady.sh: no records in the window (siphon's last words below)" >&2; tail -3 "$TMP/steady.err" >&2; exit 1; }
  [ $((s1 - s0)) -gt 0 ] || { echo "steady.sh: the server used no CPU in the window" >&2; exit 1; }
  awk -v l="$label" -v n="$n" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
    printf "%-2s %9d %10.1f %10.1f %6.3f\n", l, n, c * 1e6 / hz / n, s * 1e6 / hz / n, c / s }' \
    > "$TMP/line"
  cat "$TMP/line" >> "$TMP/lines"
  cat "$TMP/line"
}

server_start "$SPREAD"
[ -n "$PORT" ] || { echo "steady.sh: the latency server did not start" >&2; exit 1; }
gen "$N" "$SPREAD" "$PORT" 2s 2s > "$TMP/steady.json"
printf '%-2s %9s %10s %10s %6s\n' arm requests client_us server_us ratio
: > "$TMP/lines"
# A B, then B A: a drift of the machine's speed through the run weighs on
# both arms alike.
for i in $(seq "$PAIRS"); do
  if [ -z "${B:-}" ] || [ $((i % 2)) -eq 1 ]; then
    arm A "${A_ENV[@]}"
    [ -z "${B:-}" ] || arm B "${B_ENV[@]}"
  else
    arm B "${B_ENV[@]}"
    arm A "${A_ENV[@]}"
  fi
done
for l in A B; do
  grep -q "^$l " "$TMP/lines" || continue
  echo "median ratio $l: $(awk -v l="$l" '$1 == l { print $5 }' "$TMP/lines" | median)"
done
server_stop
