#!/bin/bash
# rest benchmark of the engine's two sizes (docs/bench/rest.md, "shards"
# and "batch"): siphon --once over N sources at 200 ms latency for each
# SIPHON_REST_SHARD_SIZE (sources per curl multi handle) and each
# SIPHON_REST_BATCH (first transfers started per loop turn), for one host
# and for 100 loopback addresses.
#
#   bench/rest/knobs.sh [BUILD_DIR]      (default: build-rest-release; configured if missing, always brought up to date)
#
# Environment: N=10000  SPREADS="1 100"  REPS=3  SHARDS="64 256 1024 100000"
#              BATCHES="16 64 256 100000"  MS=200
# A value as large as N means "off": one multi handle, or every round
# started in the first loop turn. Prints, for each value: cold, the median
# round time and client CPU and the largest peak RSS of REPS --once runs;
# warm, the median round time of rounds 2+ of a 13.5 s continuous run at a
# 3 s interval, its number of rounds, its whole CPU and its peak RSS.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
SPREADS=${SPREADS:-"1 100"}
REPS=${REPS:-3}
SHARDS=${SHARDS:-"64 256 1024 100000"}
BATCHES=${BATCHES:-"16 64 256 100000"}
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"

row() { # row SPREAD VAR=VALUE: cold (--once) and warm (continuous) figures
  read -r cold cpu rss <<< "$(cold_runs "$REPS" "$TMP/once.json" "$2")"
  read -r warm nr wcpu wrss <<< "$(warm_run "$TMP/run.json" 13.5 "$2")"
  printf '%-7s %-30s | %7.3f %7.3f %7.1f | %7.3f %6d %7.3f %7.1f\n' "$1" "$2" "$cold" "$cpu" \
    "$(echo "$rss / 1024" | bc -l)" "${warm:-0}" "$nr" "$wcpu" "$(echo "$wrss / 1024" | bc -l)"
}

printf '%-7s %-30s | %7s %7s %7s | %7s %6s %7s %7s\n' spread knob cold_s cold_cpu cold_rss \
  warm_s rounds run_cpu run_rss
for A in $SPREADS; do
  server_start "$A"
  gen "$N" "$A" "$PORT" 1h 60s > "$TMP/once.json"
  gen "$N" "$A" "$PORT" 3s 3s > "$TMP/run.json"
  for S in $SHARDS; do
    row "$A" "SIPHON_REST_SHARD_SIZE=$S"
  done
  for B in $BATCHES; do
    row "$A" "SIPHON_REST_BATCH=$B"
  done
  echo "  latency server ($A addresses): $(server_stop)"
done
