#!/bin/bash
# rest benchmark of the engine's two sizes (docs/bench/rest.md, "shards"
# and "batch"): siphon --once over N sources at 200 ms latency for each
# SIPHON_REST_SHARD_SIZE (sources per curl multi handle) and each
# SIPHON_REST_BATCH (first transfers started per loop turn), for one host
# and for 100 loopback addresses.
#
#   bench/rest/knobs.sh [BUILD_DIR]      (default: build-rest-release, built if missing)
#
# Environment: N=10000  SPREADS="1 100"  REPS=3  SHARDS="64 256 1024 100000"
#              BATCHES="16 64 256 100000"  MS=200
# A value as large as N means "off": one multi handle, or every round
# started in the first loop turn. Prints median round time and client
# CPU, and the largest peak RSS, of REPS runs each.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
SPREADS=${SPREADS:-"1 100"}
REPS=${REPS:-3}
SHARDS=${SHARDS:-"64 256 1024 100000"}
BATCHES=${BATCHES:-"16 64 256 100000"}
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"

once() { # once VAR=VALUE: median round s, median CPU s, max RSS MiB
  : > "$TMP/runs"
  for _ in $(seq "$REPS"); do
    env "$1" /usr/bin/time -q -f '%U %S %M' -o "$TMP/time" "$SIPHON" --once -c "$TMP/once.json" \
      > "$TMP/once.out" 2> "$TMP/once.err" || { echo "siphon --once failed:"; tail -3 "$TMP/once.err"; }
    got=$(wc -l < "$TMP/once.out")
    [ "$got" -eq "$N" ] || echo "warning: $got of $N records"
    round=$(sed -n 's/^round: .* in \([0-9.]*\) s$/\1/p' "$TMP/once.err")
    read -r u s m < "$TMP/time"
    echo "$round $(echo "$u + $s" | bc -l) $m" >> "$TMP/runs"
  done
  printf '%9.3f %8.3f %8.1f' "$(cut -d' ' -f1 "$TMP/runs" | median)" \
    "$(cut -d' ' -f2 "$TMP/runs" | median)" \
    "$(echo "$(cut -d' ' -f3 "$TMP/runs" | sort -n | tail -1) / 1024" | bc -l)"
}

printf '%-7s %-22s | %9s %8s %8s\n' spread knob round_s cpu_s rss_MiB
for A in $SPREADS; do
  server_start "$A"
  gen "$N" "$A" "$PORT" 1h 60s > "$TMP/once.json"
  for S in $SHARDS; do
    printf '%-7s %-22s | %s\n' "$A" "SIPHON_REST_SHARD_SIZE=$S" "$(once SIPHON_REST_SHARD_SIZE="$S")"
  done
  for B in $BATCHES; do
    printf '%-7s %-22s | %s\n' "$A" "SIPHON_REST_BATCH=$B" "$(once SIPHON_REST_BATCH="$B")"
  done
  echo "  latency server ($A addresses): $(server_stop)"
done
