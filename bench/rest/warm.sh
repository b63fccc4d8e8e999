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
# taken out. Then, from the longer run, the median of rounds 3 and later:
# round s (first transfer's start to last record) and send s (first
# transfer's start to last transfer's start). Last, with strace, the time
# from the loop's wake-up for a round to its first request on the wire:
# the host's and the plugin's set-up of every source's round, which
# rounds.py does not count. strace stops the traced thread at every system
# call, so that figure is an upper bound; without strace, or where it
# cannot attach (ptrace restricted), it is left out, saying so.
# SIPHON_ENV is split on spaces: its values cannot hold any.
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
  env $SIPHON_ENV /usr/bin/time -q -f '%U %S' -o "$TMP/wtime" "$SIPHON" -c "$TMP/warm.json" \
    > "$TMP/warm.out" 2> "$TMP/warm.err" &
  local pid=$!
  sleep "$1"
  # /usr/bin/time ignores SIGINT and SIGTERM: signal siphon itself.
  kill -TERM "$(pgrep -P $pid)" 2> /dev/null || true
  wait $pid || true
  read -r u s < "$TMP/wtime"
  echo "$(echo "$u + $s" | bc -l) $(grep -c '"meta"' "$TMP/warm.out" || true)"
}

server_start "$SPREAD"
[ -n "$PORT" ] || { echo "warm.sh: the latency server did not start" >&2; exit 1; }
gen "$N" "$SPREAD" "$PORT" 2s 2s > "$TMP/warm.json"
printf '%-4s %10s %8s %8s\n' rep us/warm round_s send_s
for rep in $(seq "$REPS"); do
  # Rounds are due every 2 s from start-up (under 0.5 s at 10,000) and
  # take about 0.5 s: 7.7 s and 15.7 s end the runs between rounds 4 and 5
  # and rounds 8 and 9, with none in flight.
  read -r c1 n1 <<< "$(run 7.7)"
  read -r c2 n2 <<< "$(run 15.7)"
  [ "$n2" -eq $((n1 + 4 * N)) ] || echo "warning: $((n2 - n1)) requests between the runs, not $((4 * N))" >&2
  [ "$n2" -gt "$n1" ] || { echo "warm.sh: no records beyond the short run (siphon's last words below)" >&2; tail -3 "$TMP/warm.err" >&2; exit 1; }
  python3 "$ROOT/bench/rest/rounds.py" < "$TMP/warm.out" > "$TMP/rounds.all"
  tail -n +3 "$TMP/rounds.all" > "$TMP/rounds"
  printf '%-4s %10.1f %8s %8s\n' "$rep" "$(echo "($c2 - $c1) * 1000000 / ($n2 - $n1)" | bc -l)" \
    "$(cut -d' ' -f3 "$TMP/rounds" | median)" "$(cut -d' ' -f5 "$TMP/rounds" | median)"
done

if ! command -v strace > /dev/null; then
  echo "set-up before the first request of a round: not measured (no strace)"
else
  # shellcheck disable=SC2086
  env $SIPHON_ENV "$SIPHON" -c "$TMP/warm.json" > /dev/null 2> "$TMP/warm.err" &
  pid=$!
  sleep 4.5 # rounds 1 and 2 are over; round 3 is on
  # The main thread only (no -f): the loop's waits and curl's sends.
  timeout 5 strace -ttt -T -e trace=epoll_wait,epoll_pwait,sendto -o "$TMP/strace" -p $pid \
    2> "$TMP/strace.err" || true
  kill -TERM $pid 2> /dev/null || true
  wait $pid || true
  if [ ! -s "$TMP/strace" ]; then
    echo "set-up before the first request of a round: not measured (strace: $(head -1 "$TMP/strace.err"))"
  else
    # A round's start: a wait of over 0.1 s (the loop idle between rounds)
    # that timed out; the set-up runs from its end to the next send.
    python3 - "$TMP/strace" << 'PY'
import re, sys
wake = None
gaps = []
for line in open(sys.argv[1]):
    m = re.match(r"([\d.]+) (\w+)\(.*= (-?\d+).*<([\d.]+)>", line)
    if not m:
        continue
    t, call, rv, took = float(m[1]), m[2], int(m[3]), float(m[4])
    if call in ("epoll_wait", "epoll_pwait"):
        if rv == 0 and took > 0.1:
            wake = t + took
    elif wake is not None:
        gaps.append(t - wake)
        wake = None
print("set-up before the first request of a round (strace, an upper bound): %s ms"
      % (", ".join("%.1f" % (g * 1000) for g in gaps) or "none seen"))
PY
  fi
fi
echo "latency server:"
server_stop
