#!/bin/bash
# Warm rounds of the rest plugin in the steady state (docs/bench/rest.md,
# "What bounds a warm round"): N sources polled every 2 s against the
# latency server, each keeping its connection between rounds.
#
#   bench/rest/warm.sh [BUILD_DIR]      (default: build-rest-release; configured if missing, always brought up to date)
#
# Environment: N=10000  SPREAD=1  REPS=3  MS=200
#   SIPHON_ENV="VAR=value ..."  extra environment for siphon, as in
#   SIPHON_ENV="LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#
# Per rep, two continuous runs, of 4 and of 8 rounds: the client CPU the
# longer one spends beyond the shorter, per request, is what a fully warm
# request costs, with start-up, the cold round and the half-cold round 2
# taken out. Then, from the longer run, the median of rounds 3 and later
# (rounds.py): round s, from the round's start in the rest plugin to its
# last record; setup s, to its first request's start (the loop setting up
# every source's round); send s, to its last request's start (set-up and
# the sending of every request). SIPHON_ENV is split on spaces: its
# values cannot hold any.
set -eu
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
SPREAD=${SPREAD:-1}
REPS=${REPS:-3}
SIPHON_ENV=${SIPHON_ENV:-}
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"
# lib.sh's cleanup stops the server; a siphon still running (the script
# killed mid-run) is found by its config, which is this run's alone.
warm_cleanup() {
  pkill -f -- "$TMP/warm.json" 2> /dev/null || true
  cleanup
}
trap warm_cleanup EXIT

# run SECONDS: prints "cpu_s records"; leaves the records in $TMP/warm.out.
run() {
  # shellcheck disable=SC2086
  run_for "$TMP/warm.json" "$1" "$TMP/warm.out" $SIPHON_ENV
  read -r u s _ < "$TMP/wtime"
  echo "$(echo "$u + $s" | bc -l) $(grep -c '"meta"' "$TMP/warm.out" || true)"
}

server_start "$SPREAD"
[ -n "$PORT" ] || { echo "warm.sh: the latency server did not start" >&2; exit 1; }
gen "$N" "$SPREAD" "$PORT" 2s 2s > "$TMP/warm.json"
printf '%-4s %10s %8s %8s %8s\n' rep us/warm round_s setup_s send_s
for rep in $(seq "$REPS"); do
  # Rounds are due every 2 s from start-up (under 0.5 s at 10,000) and
  # take about 0.5 s: 7.7 s and 15.7 s end the runs between rounds 4 and 5
  # and rounds 8 and 9, with none in flight.
  read -r c1 n1 <<< "$(run 7.7)"
  read -r c2 n2 <<< "$(run 15.7)"
  [ "$n2" -eq $((n1 + 4 * N)) ] || echo "warning: $((n2 - n1)) requests between the runs, not $((4 * N))" >&2
  [ "$n2" -gt "$n1" ] || { echo "warm.sh: no records beyond the short run (siphon's last words below)" >&2; tail -3 "$TMP/warm.out.err" >&2; exit 1; }
  python3 "$ROOT/bench/rest/rounds.py" < "$TMP/warm.out" > "$TMP/rounds.all"
  tail -n +3 "$TMP/rounds.all" > "$TMP/rounds"
  printf '%-4s %10.1f %8s %8s %8s\n' "$rep" "$(echo "($c2 - $c1) * 1000000 / ($n2 - $n1)" | bc -l)" \
    "$(cut -d' ' -f3 "$TMP/rounds" | median)" "$(cut -d' ' -f5 "$TMP/rounds" | median)" \
    "$(cut -d' ' -f6 "$TMP/rounds" | median)"
done

echo "latency server:"
server_stop
