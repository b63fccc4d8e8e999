#!/bin/sh
# Host benchmarks (issue: the siphon host):
#  1. 10,000 idle async sources at a 1 s interval for DURATION seconds:
#     CPU share of one core and peak RSS.
#  2. Records per second through the output to /dev/null.
# Usage: bench/core/run.sh [BUILD_DIR] [DURATION]   (default build-release, 30)
set -eu
BUILD=${1:-build-release}
DURATION=${2:-30}
N=${N:-10000}
BIN=$BUILD/siphon
PLUGINS=$(cd "$BUILD/bench/plugins" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
HZ=$(getconf CLK_TCK)

gen() { # gen N COUNT INTERVAL JITTER
  {
    printf '{"siphon": {"plugin_path": ["%s"]}, "sources": [\n' "$PLUGINS"
    i=0
    while [ $i -lt "$1" ]; do
      [ $i -gt 0 ] && printf ',\n'
      printf '{"name": "s%d", "plugin": "tick", "interval": "%s", "jitter": "%s", "options": {"count": %d}}' \
        $i "$3" "$4" "$2"
      i=$((i + 1))
    done
    printf ']}\n'
  }
}

ulimit -n 65536 2>/dev/null || true
gen "$N" 1 1s 999ms > "$TMP/idle.json"
START=$(date +%s.%N)
"$BIN" --check -c "$TMP/idle.json" > /dev/null
END=$(date +%s.%N)
awk -v s="$START" -v e="$END" -v n="$N" 'BEGIN { printf "start-up: --check of %d sources in %.3f s\n", n, e - s }'
"$BIN" -c "$TMP/idle.json" > /dev/null 2> "$TMP/idle.err" &
PID=$!
# Steady state only: start-up (reading 10,000 sources) is measured apart.
sleep 3
set -- $(cut -d' ' -f14,15 /proc/$PID/stat)
START_TICKS=$(( $1 + $2 ))
sleep "$DURATION"
set -- $(cut -d' ' -f14,15 /proc/$PID/stat)
CPU_TICKS=$(( $1 + $2 - START_TICKS ))
HWM=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
kill -TERM $PID
wait $PID || true
awk -v t="$CPU_TICKS" -v hz="$HZ" -v d="$DURATION" -v n="$N" -v hwm="$HWM" 'BEGIN {
  printf "idle: %d sources at 1 s for %d s: CPU %.2f s = %.2f%% of one core, peak RSS %.1f MiB (%.0f B/source)\n",
    n, d, t / hz, 100 * t / hz / d, hwm / 1024, hwm * 1024 / n }'

# Throughput: 20 sources x 50,000 records in one --once round to /dev/null.
gen 20 50000 1m 0ms > "$TMP/flood.json"
START=$(date +%s.%N)
"$BIN" --once -c "$TMP/flood.json" > /dev/null 2> "$TMP/flood.err"
END=$(date +%s.%N)
awk -v s="$START" -v e="$END" 'BEGIN {
  printf "throughput: 1,000,000 records to /dev/null in %.3f s = %.0f records/s\n", e - s, 1000000 / (e - s) }'
