#!/bin/bash
# A second sending loop, bounded from above (docs/bench/rest.md, "What
# bounds a warm round"): N sources polled every 2 s against the latency
# server, by one siphon process and then by two processes of N/2 sources
# each, started together. Two processes share nothing, so they are the
# best that a rest plugin sending from two threads could do on this
# machine, with no cost for handing records between threads.
#
#   bench/rest/split.sh [BUILD_DIR]     (default: build-rest-release; configured if missing, always brought up to date)
#
# Environment: N=10000 (even)  SPREAD=1  REPS=2  MS=200
#
# Per rep and layout, one continuous run of 9.7 s (rounds 1 to 5; the
# second process's rounds start within a few ms of the first's, since
# both count intervals from their start), then the median of rounds 3 to
# 5 over all N sources (rounds.py on the records of both processes): the
# round, set-up and sending seconds as in warm.sh, and the client CPU a
# request over the whole run (start-up and the cold round included, so
# only for comparing the two layouts).
set -eu
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
SPREAD=${SPREAD:-1}
REPS=${REPS:-2}
[ $((N % 2)) -eq 0 ] || { echo "split.sh: N must be even" >&2; exit 2; }
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"
split_cleanup() {
  pkill -f -- "$TMP/part" 2> /dev/null || true
  cleanup
}
trap split_cleanup EXIT

# layout PARTS: runs PARTS siphon processes at once over the N sources;
# prints "round_s setup_s send_s us_per_request".
layout() {
  local parts=$1 i pids=() cpu=0
  for i in $(seq "$parts"); do
    /usr/bin/time -q -f '%U %S' -o "$TMP/time.$i" "$SIPHON" -c "$TMP/part$parts.$i.json" \
      > "$TMP/out.$i" 2> "$TMP/err.$i" &
    pids+=($!)
  done
  sleep 9.7
  # /usr/bin/time ignores SIGTERM: signal each siphon itself.
  for i in "${pids[@]}"; do kill -TERM "$(pgrep -P "$i")" 2> /dev/null || true; done
  for i in "${pids[@]}"; do wait "$i" || true; done
  for i in $(seq "$parts"); do
    read -r u s < "$TMP/time.$i"
    cpu=$(echo "$cpu + $u + $s" | bc -l)
  done
  local n
  n=$(cat "$TMP"/out.[0-9]* | grep -c '"meta"' || true)
  [ "$n" -gt 0 ] || { echo "split.sh: no records (siphon's last words below)" >&2; tail -3 "$TMP/err.1" >&2; exit 1; }
  cat "$TMP"/out.[0-9]* | python3 "$ROOT/bench/rest/rounds.py" | sed -n 3,5p > "$TMP/rounds"
  rm -f "$TMP"/out.[0-9]*
  echo "$(cut -d' ' -f3 "$TMP/rounds" | median) $(cut -d' ' -f5 "$TMP/rounds" | median)" \
    "$(cut -d' ' -f6 "$TMP/rounds" | median) $(echo "$cpu * 1000000 / $n" | bc -l)"
}

server_start "$SPREAD"
[ -n "$PORT" ] || { echo "split.sh: the latency server did not start" >&2; exit 1; }
gen "$N" "$SPREAD" "$PORT" 2s 2s > "$TMP/all.json"
# One config of all N, and two of N/2, in the order gen wrote them.
python3 - "$TMP" << 'PY'
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/all.json"))
s = c["sources"]
h = len(s) // 2
for name, part in (("part1.1", s), ("part2.1", s[:h]), ("part2.2", s[h:])):
    json.dump(dict(c, sources=part), open("%s/%s.json" % (t, name), "w"))
PY
printf '%-4s %-9s %8s %8s %8s %8s\n' rep processes round_s setup_s send_s us/req
for rep in $(seq "$REPS"); do
  for parts in 1 2; do
    read -r r su se us <<< "$(layout "$parts")"
    printf '%-4s %-9s %8s %8s %8s %8.1f\n' "$rep" "$parts" "$r" "$su" "$se" "$us"
  done
done

echo "latency server:"
server_stop
