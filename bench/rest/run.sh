#!/bin/bash
# rest benchmark (issue 3): siphon --once and the 50-thread curl baseline
# side by side over N sources at 200 ms latency, for one host and for 100
# loopback addresses (127.0.0.1 .. 127.0.0.100, same port).
#
#   bench/rest/run.sh [BUILD_DIR]        (default: build-rest-release; configured if missing, always brought up to date)
#
# Environment: NS="100 1000 10000"  SPREADS="1 100"  REPS=3  REPS_10K=3  MS=200
# Prints a table; cold = siphon --once (every connection new); warm = a
# round of a continuous run whose connections are left from the round
# before. CPU is user+sys of the client process; RSS its peak. us/req is
# client CPU per request with start-up (siphon --check) taken out; us/warm
# is the extra CPU of the warm rounds per request.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NS=${NS:-"100 1000 10000"}
SPREADS=${SPREADS:-"1 100"}
REPS=${REPS:-3}
REPS_10K=${REPS_10K:-3}
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"

printf '%-7s %6s | %9s %9s %8s %8s %8s %8s %8s | %9s %8s %8s | %7s\n' \
  spread N cold_s warm_s cold_cpu us/req us/warm cold_rss warm_rss base_s base_cpu base_rss speedup
for A in $SPREADS; do
  server_start "$A"
  for N in $NS; do
    reps=$REPS
    [ "$N" -ge 10000 ] && reps=$REPS_10K
    gen "$N" "$A" "$PORT" 1h 60s > "$TMP/once.json"
    read -r cold cpu rss <<< "$(cold_runs "$reps" "$TMP/once.json")"
    # Start-up (reading the config, loading the plugin, creating every
    # source) is measured apart with --check and taken out of CPU/request.
    /usr/bin/time -q -f '%U %S' -o "$TMP/time" "$SIPHON" --check -c "$TMP/once.json" > /dev/null 2>&1
    read -r u s < "$TMP/time"
    start_cpu=$(echo "$u + $s" | bc -l)
    # Warm: a continuous run of about 4 rounds; rounds 2-4 reuse
    # connections. The interval leaves room for a slow round.
    IV=$(echo "$cold * 2 + 2" | bc -l | cut -d. -f1)
    gen "$N" "$A" "$PORT" "${IV}s" "${IV}s" > "$TMP/run.json"
    read -r warm nr wcpu wrss <<< "$(warm_run "$TMP/run.json" $((IV * 3 + IV / 2 + 1)))"
    us_cold=$(echo "($cpu - $start_cpu) * 1000000 / $N" | bc -l)
    us_warm=0
    [ "$nr" -ge 2 ] && us_warm=$(echo "($wcpu - $cpu) * 1000000 / ($N * ($nr - 1))" | bc -l)

    "$BASE" --n "$N" --addrs "$A" --port "$PORT" --ms "$MS" --rounds "$reps" > "$TMP/base.out"
    base=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$TMP/base.out" | median)
    bcpu=$(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' "$TMP/base.out" | median)
    brss=$(sed -n 's/peak_rss_kib=//p' "$TMP/base.out")
    printf '%-7s %6d | %9.3f %9.3f %8.3f %8.1f %8.1f %8.1f %8.1f | %9.3f %8.3f %8.1f | %6.1fx\n' \
      "$A" "$N" "$cold" "${warm:-0}" "$cpu" "$us_cold" "$us_warm" "$(echo "$rss / 1024" | bc -l)" \
      "$(echo "$wrss / 1024" | bc -l)" \
      "$base" "$bcpu" "$(echo "$brss / 1024" | bc -l)" "$(echo "$base / $cold" | bc -l)"
  done
  echo "  latency server ($A addresses): $(server_stop)"
done
