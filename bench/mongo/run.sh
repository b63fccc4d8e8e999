#!/bin/sh
# mongo plugin benchmark (issue: the mongo plugin):
#   100 mongo sources, each a find returning 100 documents of a 10,000-document
#   collection, with siphon.threads = 4, 16 and 64:
#   1. round time: `siphon --once` over the 100 sources (ROUNDS runs, median),
#      with its CPU time and peak RSS;
#   2. steady state: `siphon -c` for DURATION seconds with the 100 sources every
#      INTERVAL (5 s) plus one async tick source every 100 ms: CPU, peak RSS, mongo records
#      per second, and the tick source's period (mean, p50, p99, max) in the
#      same run, showing the loop is not held up by the blocking rounds.
# The server is the in-memory CongoServer of the tests (tests/mongo/server),
# or $SIPHON_BENCH_MONGO_URI. Its CPU is reported too: it is single-threaded
# JavaScript and is the bottleneck, not siphon.
# Usage: bench/mongo/run.sh [BUILD_DIR] [DURATION]   (default build-release, 20)
set -eu
BUILD=${1:-build-release}
DURATION=${2:-20}
ROUNDS=${ROUNDS:-5}
# The 100 sources' interval (and timeout) in the steady-state run: long
# enough for a round to end, short enough for several rounds per run.
INTERVAL=${INTERVAL:-5s}
THREADS=${THREADS:-"4 16 64"}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$BUILD/siphon
PLUGINS=$(cd "$BUILD/plugins" && pwd)
TICK=$(cd "$BUILD/bench/mongo/plugins" && pwd)
TMP=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
HZ=$(getconf CLK_TCK)

if [ -n "${SIPHON_BENCH_MONGO_URI:-}" ]; then
  URI=$SIPHON_BENCH_MONGO_URI
else
  "$ROOT/tests/mongo/server/install.sh" >&2
  node "$ROOT/tests/mongo/server/start.js" > "$TMP/port" 2> "$TMP/server.err" &
  SERVER_PID=$!
  i=0
  while [ ! -s "$TMP/port" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$TMP/port" ] || { echo "server did not start: $(cat "$TMP/server.err")" >&2; exit 1; }
  URI="mongodb://127.0.0.1:$(head -1 "$TMP/port")"
fi
"$BUILD/bench/mongo/mongo_bench_seed" "$URI" siphon_bench items 10000

gen() { # gen THREADS WITH_TICK INTERVAL
  printf '{"siphon": {"threads": %d, "plugin_path": ["%s", "%s"], "log_level": "warn"},\n "sources": [\n' \
    "$1" "$PLUGINS" "$TICK"
  i=0
  while [ $i -lt 100 ]; do
    [ $i -gt 0 ] && printf ',\n'
    printf '{"name": "m%02d", "plugin": "mongo", "interval": "%s", "timeout": "%s", "options": {"uri": "%s", "database": "siphon_bench", "collection": "items", "filter": {"tag": %d}, "batch_size": 100}}' \
      $i "$3" "$3" "$URI" $i
    i=$((i + 1))
  done
  [ "$2" = 1 ] && printf ',\n{"name": "beat", "plugin": "tick", "interval": "100ms"}'
  printf ']}\n'
}

ticks() { # ticks PID -> utime+stime in clock ticks
  cut -d' ' -f14,15 "/proc/$1/stat" | awk '{print $1 + $2}'
}

echo "mongo benchmark: 100 sources x find 100 docs of 10,000; $(nproc) CPUs; server ${SIPHON_BENCH_MONGO_URI:+given}${SIPHON_BENCH_MONGO_URI:-CongoServer (node)}"
for t in $THREADS; do
  gen "$t" 0 1m > "$TMP/once.json"
  gen "$t" 1 "$INTERVAL" > "$TMP/run.json"
  : > "$TMP/rounds"
  r=0
  while [ $r -lt "$ROUNDS" ]; do
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$BIN" --once -c "$TMP/once.json" > "$TMP/once.out" 2> "$TMP/once.err" ||
      { echo "--once failed:" >&2; tail -5 "$TMP/once.err" >&2; exit 1; }
    n=$(wc -l < "$TMP/once.out")
    [ "$n" -eq 10000 ] || { echo "--once wrote $n records, not 10000" >&2; exit 1; }
    # The round as the host reports it, then wall time of the whole process
    # (start-up, and shutdown: closing a client pool joins its monitor).
    ROUND=$(sed -n 's/^round: .* in \([0-9.]*\) s$/\1/p' "$TMP/once.err")
    echo "$ROUND $(cat "$TMP/time")" >> "$TMP/rounds"
    r=$((r + 1))
  done
  sort -n "$TMP/rounds" | awk -v t="$t" '{ r[NR] = $1; w[NR] = $2; u[NR] = $3 + $4; m[NR] = $5 }
    END { k = int((NR + 1) / 2);
      printf "threads %2d  --once: round median %.3f s [min %.3f, max %.3f], process wall %.3f s, CPU %.3f s, peak RSS %.1f MiB\n",
        t, r[k], r[1], r[NR], w[k], u[k], m[k] / 1024 }'

  "$BIN" -c "$TMP/run.json" > "$TMP/run.out" 2> "$TMP/run.err" &
  PID=$!
  sleep 2
  T0=$(ticks $PID)
  S0=$( [ -n "$SERVER_PID" ] && ticks "$SERVER_PID" || echo 0)
  L0=$(grep -c '"plugin":"mongo"' "$TMP/run.out" || true)
  sleep "$DURATION"
  T1=$(ticks $PID)
  S1=$( [ -n "$SERVER_PID" ] && ticks "$SERVER_PID" || echo 0)
  L1=$(grep -c '"plugin":"mongo"' "$TMP/run.out" || true)
  HWM=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
  kill -TERM $PID
  wait $PID || true
  FAILED=$(grep -c "collect failed\|collect timed out" "$TMP/run.err" || true)
  awk -v t="$t" -v c=$((T1 - T0)) -v s=$((S1 - S0)) -v hz="$HZ" -v d="$DURATION" -v l=$((L1 - L0)) \
      -v hwm="$HWM" -v f="$FAILED" 'BEGIN {
    printf "threads %2d  -c %ds: siphon CPU %.1f%% of a core, server CPU %.1f%%, peak RSS %.1f MiB, %.0f mongo records/s, %d failed/timed-out rounds\n",
      t, d, 100 * c / hz / d, 100 * s / hz / d, hwm / 1024, l / d, f }'
  # The async source's period, from its records' timestamps.
  grep '"source":"beat"' "$TMP/run.out" | sed 's/.*"ts":"[^T]*T\([0-9:.]*\)Z".*/\1/' |
    awk -F: '{ ms = ($1 * 3600 + $2 * 60 + $3) * 1000; if (NR > 1) printf "%.0f\n", ms - prev; prev = ms }' |
    sort -n | awk -v t="$t" '{ p[++n] = $1; sum += $1 }
      END { if (n == 0) { print "no tick records"; exit 1 }
        printf "threads %2d  async 100 ms source: %d periods, mean %.1f ms, p50 %.0f, p99 %.0f, max %.0f ms\n",
          t, n, sum / n, p[int(n * 0.5) + 1], p[int(n * 0.99) + 1], p[n] }'
done
