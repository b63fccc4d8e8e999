#!/usr/bin/env bash
# Socket plugin benchmarks (release build):
#  1. listen: bench/socket/loadgen sends 100-byte JSON lines over 1, 10 and
#     100 loopback TCP connections for $SECONDS_EACH s; siphon (json
#     framing) writes to /dev/null. Reports lines/s, siphon's CPU and peak
#     RSS, and checks that siphon received exactly what was sent.
#  2. probes: 1,000 probe sources in one `--once` round against a siphon
#     listener; all must succeed within one timeout.
# Usage: bench/socket/run.sh
#   (BUILD=dir SECONDS_EACH=n CONNS="1 10 100" PROBES=n FRAMING=json|lines to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-socket-release}
SECONDS_EACH=${SECONDS_EACH:-5}
CONNS=${CONNS:-"1 10 100"}
PROBES=${PROBES:-1000}
FRAMING=${FRAMING:-json}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSIPHON_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" -j2 --target siphon socket socket_loadgen >/dev/null
SIPHON="$BUILD/siphon"
LOADGEN="$BUILD/bench/socket_loadgen"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ulimit -n 8192 2>/dev/null || true

# Starts siphon (under GNU time) with $1 as config; sets PID, TPID, PORT.
start_siphon() {
  local cfg=$1 log=$2 timef=$3
  /usr/bin/time -f "%e %U %S %M" -o "$timef" "$SIPHON" -c "$cfg" 2>"$log" &
  TPID=$!
  PORT=""
  for _ in $(seq 1 200); do
    PORT=$(grep -o 'listening on tcp://127.0.0.1:[0-9]*' "$log" 2>/dev/null | sed 's/.*://' || true)
    [ -n "$PORT" ] && break
    sleep 0.05
  done
  [ -n "$PORT" ] || { echo "siphon did not start:"; cat "$log"; exit 1; }
  PID=$(pgrep -P "$TPID")
  LOG=$log
}

listen_config() {
  cat >"$1" <<JSON
{"siphon": {"plugin_path": ["$PWD/$BUILD/plugins"], "log_level": "info",
            "output": {"type": "file", "path": "/dev/null"}},
 "sources": [{"name": "bench", "plugin": "socket",
              "options": {"mode": "listen", "address": "tcp://127.0.0.1:0",
                          "framing": "$FRAMING", "max_connections": 2000}}]}
JSON
}

echo "## listen: 100-byte JSON lines, $FRAMING framing, output to /dev/null, ${SECONDS_EACH}s each"
echo
echo "| connections | lines sent | lines received | lines/s | siphon CPU (s) | CPU % of one core | peak RSS (MiB) |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNS; do
  cfg="$WORK/listen.json"
  listen_config "$cfg"
  start_siphon "$cfg" "$WORK/siphon.log" "$WORK/time"
  cpu0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  out=$("$LOADGEN" 127.0.0.1 "$PORT" "$c" "$SECONDS_EACH")
  cpu1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  kill -TERM "$PID"
  wait "$TPID"
  sent=$(sed 's/.*sent=\([0-9]*\).*/\1/' <<<"$out")
  wall=$(sed 's/.*drained_seconds=\([0-9.]*\).*/\1/' <<<"$out")
  got=$(grep -o 'stopped: [0-9]* records' "$WORK/siphon.log" | grep -o '[0-9]*')
  written=$(grep -o '[0-9]* records written' "$WORK/siphon.log" | grep -o '^[0-9]*')
  read -r _ _ _ rss <"$WORK/time"
  hz=$(getconf CLK_TCK)
  awk -v c="$c" -v s="$sent" -v g="$got" -v w="$wall" -v c0="$cpu0" -v c1="$cpu1" -v hz="$hz" \
    -v r="$rss" 'BEGIN {
      cpu = (c1 - c0) / hz;
      printf "| %d | %d | %d | %.0f | %.2f | %.0f | %.1f |\n", c, s, g, g / w, cpu,
             100 * cpu / w, r / 1024 }'
  if [ "$sent" != "$got" ] || [ "$got" != "$written" ]; then
    echo "MISMATCH: sent $sent, siphon received $got, wrote $written; its log:" >&2
    cat "$LOG" >&2
    exit 1
  fi
done
echo
echo "lines/s = lines / (loadgen start .. siphon has closed every connection, i.e. read"
echo "every line up to the loadgen's FIN); CPU = siphon's user+system time over that span."

echo
echo "## probe: $PROBES probe sources in one --once round (timeout 2s)"
cfg="$WORK/listen.json"
listen_config "$cfg"
start_siphon "$cfg" "$WORK/target.log" "$WORK/time"
{
  printf '{"siphon": {"plugin_path": ["%s"], "output": {"type": "file", "path": "/dev/null"}},\n "sources": [' \
    "$PWD/$BUILD/plugins"
  for i in $(seq 1 "$PROBES"); do
    [ "$i" -gt 1 ] && printf ','
    printf '{"name": "p%d", "plugin": "socket", "interval": "10s", "timeout": "2s", "options": {"mode": "probe", "address": "tcp://127.0.0.1:%s"}}\n' "$i" "$PORT"
  done
  printf ']}\n'
} >"$WORK/probes.json"
p0=$(date +%s.%N)
/usr/bin/time -f "%e %U %S %M" -o "$WORK/ptime" "$SIPHON" --once -c "$WORK/probes.json" \
  2>"$WORK/probes.log" || { tail -5 "$WORK/probes.log"; exit 1; }
p1=$(date +%s.%N)
kill -TERM "$PID"
wait "$TPID"
summary=$(grep '^round:' "$WORK/probes.log")
read -r _ puser psys prss <"$WORK/ptime"
echo
echo "summary: $summary"
awk -v t0="$p0" -v t1="$p1" -v u="$puser" -v y="$psys" -v r="$prss" 'BEGIN {
  printf "wall %.3f s for the whole process (load, create, one round, exit); CPU %.2f s; peak RSS %.1f MiB\n",
         t1 - t0, u + y, r / 1024 }'
