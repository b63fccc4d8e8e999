#!/bin/bash
# Memory of an idle rest source (docs/bench/rest.md, "Memory"): a continuous
# run of 1 and of N sources against the latency server, each source keeping
# its connection between rounds, read from siphon's own stats record
# (siphon.stats_interval) once the third round is over.
#
#   bench/rest/idle.sh [BUILD_DIR]      (default: build-rest-release, built if missing)
#
# Environment: N=10000  MS=200
# Prints, for 1 and N sources: the heap in use, the heap kept free, RSS and
# peak RSS, in MiB; then the heap and the RSS that each source beyond the
# first adds, in KiB.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"

# Rounds at 0, 6 and 12 s; stats at 3, 6, 9, 12 and 15 s: the one at 15 s
# finds every source idle, with the connection its last round kept.
idle() { # idle N: prints "heap free rss peak" in bytes
  gen "$1" 1 "$PORT" 6s 3s | sed 's/"log_level": "warn"/&, "stats_interval": "3s"/' > "$TMP/idle.json"
  "$SIPHON" -c "$TMP/idle.json" > "$TMP/idle.out" 2> "$TMP/idle.err" &
  local pid=$!
  sleep 16.5
  kill -TERM "$pid"
  wait "$pid" || true
  python3 - "$TMP/idle.out" << 'PY'
import json, sys
last = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("source") == "siphon" and r["data"]["rounds_in_flight"] == 0:
        last = r["data"]
if last is None or last["rounds"] < 3 * last["sources"]:
    sys.exit("no idle stats record after the third round")
m = last["memory"]
print(m["heap_in_use_bytes"], m["heap_free_bytes"], m["rss_bytes"], m["peak_rss_bytes"])
PY
}

server_start 1
read -r h1 f1 r1 p1 <<< "$(idle 1)"
read -r hn fn rn pn <<< "$(idle "$N")"
server_stop > /dev/null
mib() { echo "scale=1; $1 / 1048576" | bc -l; }
printf '%-8s %10s %10s %10s %10s\n' sources heap_MiB free_MiB rss_MiB peak_MiB
printf '%-8s %10s %10s %10s %10s\n' 1 "$(mib "$h1")" "$(mib "$f1")" "$(mib "$r1")" "$(mib "$p1")"
printf '%-8s %10s %10s %10s %10s\n' "$N" "$(mib "$hn")" "$(mib "$fn")" "$(mib "$rn")" "$(mib "$pn")"
printf 'per idle source: heap %s KiB, RSS %s KiB\n' \
  "$(echo "scale=2; ($hn - $h1) / ($N - 1) / 1024" | bc -l)" \
  "$(echo "scale=2; ($rn - $r1) / ($N - 1) / 1024" | bc -l)"
