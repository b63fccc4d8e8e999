#!/bin/bash
# Memory of an idle rest source (docs/bench/rest.md, "Memory"): a continuous
# run of 1 and of N sources against the latency server, each source keeping
# its connection between rounds, read from siphon's own stats record
# (siphon.stats_interval) once three rounds of every source are over.
#
#   bench/rest/idle.sh [BUILD_DIR]      (default: build-rest-release; configured if missing, always brought up to date)
#
# Environment: N=10000 (at least 2)  MS=200
#   RELEASE=1s  siphon.release_memory_after, with its unit (0ms: freed pages kept)
#   SIPHON_ENV="VAR=value ..."  extra environment for siphon (an allocator
#   trial: LD_PRELOAD=... MALLOC_CONF=...), split on spaces; with another
#   allocator preloaded the heap columns are "-", since siphon reads them
#   from glibc's allocator only.
# Prints, for 1 and N sources: the heap in use, the heap kept free, RSS and
# peak RSS, in MiB; then the heap and the RSS that each source beyond the
# first adds, in KiB. Exits non-zero, saying why, if a run has no such
# record (a round failed, siphon died, or 60 s passed).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
RELEASE=${RELEASE:-1s}
[ "$N" -ge 2 ] || { echo "idle.sh: N must be at least 2" >&2; exit 2; }
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"

# Prints "heap free rss peak" (bytes) of the first stats record that finds
# three rounds of every source done, every one ok, and none in flight;
# exits 1 if there is none yet, 2 if a round failed.
pick() {
  python3 - "$1" << 'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        break  # a line still being written
    if r.get("source") != "siphon":
        continue
    d = r["data"]
    bad = d["rounds_failed"] + d["rounds_timeout"]
    if bad > 0:
        sys.exit("%d rounds failed or timed out" % bad)
    if d["rounds"] >= 3 * d["sources"] and d["rounds_in_flight"] == 0:
        m = d["memory"]
        print(m.get("heap_in_use_bytes", "-"), m.get("heap_free_bytes", "-"),
              m["rss_bytes"], m["peak_rss_bytes"])
        sys.exit(0)
sys.exit(1)
PY
}

# Rounds every 6 s, stats every 3 s, half a period apart once they settle;
# freed pages given back 1 s into each idle spell (the default, 10 s,
# would need rounds 20 s apart).
idle() { # idle N: prints "heap free rss peak" in bytes
  gen "$1" 1 "$PORT" 6s 3s \
    | sed "s/\"log_level\": \"warn\"/&, \"stats_interval\": \"3s\", \"release_memory_after\": \"$RELEASE\"/" \
    > "$TMP/idle.json"
  # shellcheck disable=SC2086
  env ${SIPHON_ENV:-} "$SIPHON" -c "$TMP/idle.json" > "$TMP/idle.out" 2> "$TMP/idle.err" &
  local pid=$! rc=1
  for _ in $(seq 120); do
    sleep 0.5
    rc=0
    pick "$TMP/idle.out" > "$TMP/idle.pick" || rc=$?
    [ "$rc" -eq 1 ] && kill -0 "$pid" 2> /dev/null && continue
    break
  done
  kill -TERM "$pid" 2> /dev/null || true
  wait "$pid" || true
  if [ "$rc" -ne 0 ]; then
    echo "idle.sh: no idle stats record from $1 sources (siphon's last words below)" >&2
    tail -3 "$TMP/idle.err" >&2
    exit 1
  fi
  cat "$TMP/idle.pick"
}

server_start 1
[ -n "$PORT" ] || { echo "idle.sh: the latency server did not start" >&2; exit 1; }
one=$(idle 1)
many=$(idle "$N")
server_stop > /dev/null
read -r h1 f1 r1 p1 <<< "$one"
read -r hn fn rn pn <<< "$many"
mib() { if [ "$1" = - ]; then echo -; else echo "scale=1; $1 / 1048576" | bc -l; fi; }
kib() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; else echo "scale=2; ($1 - $2) / ($N - 1) / 1024" | bc -l; fi; }
printf '%-8s %10s %10s %10s %10s\n' sources heap_MiB free_MiB rss_MiB peak_MiB
printf '%-8s %10s %10s %10s %10s\n' 1 "$(mib "$h1")" "$(mib "$f1")" "$(mib "$r1")" "$(mib "$p1")"
printf '%-8s %10s %10s %10s %10s\n' "$N" "$(mib "$hn")" "$(mib "$fn")" "$(mib "$rn")" "$(mib "$pn")"
printf 'per idle source: heap %s KiB, RSS %s KiB\n' \
  "$(kib "$hn" "$h1")" "$(kib "$rn" "$r1")"
