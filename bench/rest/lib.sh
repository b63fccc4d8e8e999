# Shared by bench/rest/run.sh, knobs.sh, idle.sh and warm.sh (sourced, not run).
# Expects ROOT; sets BUILD, SIPHON, BASE, HTTPFIX, PLUGINS; configures the
# Release tree if needed and always brings it up to date; raises the fd
# limit; gives gen, median, server_start, server_stop, cold_runs, run_for
# and warm_run.
BUILD=${1:-$ROOT/build-rest-release}
MS=${MS:-200}
if [ ! -x "$BUILD/siphon" ] || [ ! -x "$BUILD/bench/rest/rest_baseline" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSIPHON_BUILD_TESTS=OFF > /dev/null
fi
# Always brought up to date: a stale rest.so would measure old code.
cmake --build "$BUILD" -j2 --target siphon rest rest_baseline rest_httpfix > /dev/null
SIPHON=$BUILD/siphon
BASE=$BUILD/bench/rest/rest_baseline
HTTPFIX=$BUILD/bench/rest/rest_httpfix
PLUGINS=$BUILD/plugins

# 10,000 sources need 10,000 sockets on each side.
ulimit -n "$(ulimit -Hn)"
TMP=$(mktemp -d)
SRV_PID=
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2> /dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# The middle value; for an even count, the mean of the two middle ones.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

gen() { # gen N SPREAD PORT INTERVAL TIMEOUT > config
  printf '{"siphon": {"plugin_path": ["%s"], "log_level": "warn"}, "sources": [\n' "$PLUGINS"
  awk -v n="$1" -v a="$2" -v p="$3" -v iv="$4" -v to="$5" -v ms="$MS" 'BEGIN {
    for (i = 0; i < n; i++)
      printf "%s{\"name\": \"s%d\", \"plugin\": \"rest\", \"interval\": \"%s\", \"timeout\": \"%s\", \"options\": {\"url\": \"http://127.0.0.%d:%d/delay?ms=%d&id=%d\"}}\n",
        (i ? "," : ""), i, iv, to, 1 + i % a, p, ms, i }'
  printf ']}\n'
}

server_start() { # server_start SPREAD: sets SRV_PID and PORT
  "$HTTPFIX" --addrs "$1" > "$TMP/srv.out" 2> "$TMP/srv.err" &
  SRV_PID=$!
  for _ in $(seq 50); do grep -q port= "$TMP/srv.out" 2> /dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/port=//p' "$TMP/srv.out")
}

server_stop() { # prints the server's own CPU per request
  kill -TERM "$SRV_PID"
  wait "$SRV_PID" 2> /dev/null || true
  SRV_PID=
  cat "$TMP/srv.err"
}

# cold_runs REPS CONFIG [VAR=VALUE]: REPS `siphon --once` runs; prints the
# median round s, the median client CPU s and the largest peak RSS KiB.
cold_runs() {
  : > "$TMP/cold"
  for _ in $(seq "$1"); do
    env ${3:+"$3"} /usr/bin/time -q -f '%U %S %M' -o "$TMP/time" "$SIPHON" --once -c "$2" \
      > "$TMP/once.out" 2> "$TMP/once.err" || { echo "siphon --once failed:" >&2; tail -3 "$TMP/once.err" >&2; }
    want=$(grep -c '"plugin": "rest"' "$2")
    got=$(wc -l < "$TMP/once.out")
    [ "$got" -eq "$want" ] || echo "warning: $got of $want records" >&2
    round=$(sed -n 's/^round: .* in \([0-9.]*\) s$/\1/p' "$TMP/once.err")
    read -r u s m < "$TMP/time"
    echo "$round $(echo "$u + $s" | bc -l) $m" >> "$TMP/cold"
  done
  echo "$(cut -d' ' -f1 "$TMP/cold" | median) $(cut -d' ' -f2 "$TMP/cold" | median)" \
    "$(cut -d' ' -f3 "$TMP/cold" | sort -n | tail -1)"
}

# run_for CONFIG SECONDS OUT [VAR=VALUE ...]: one continuous `siphon -c
# CONFIG` run for SECONDS, its records in OUT and its log in OUT.err,
# with "user_s sys_s peak_rss_KiB" left in $TMP/wtime.
run_for() {
  local cfg=$1 secs=$2 out=$3
  shift 3
  env "$@" /usr/bin/time -q -f '%U %S %M' -o "$TMP/wtime" "$SIPHON" -c "$cfg" \
    > "$out" 2> "$out.err" &
  local wpid=$!
  sleep "$secs"
  # /usr/bin/time ignores SIGINT and SIGTERM: signal siphon itself.
  kill -TERM "$(pgrep -P $wpid)" 2> /dev/null || true
  wait $wpid || true
}

# warm_run CONFIG SECONDS [VAR=VALUE]: one continuous `siphon -c` run for
# SECONDS; prints the median round s of rounds 2 and later (connections
# left from the round before), the number of rounds, the client CPU s and
# the peak RSS KiB. A round k runs from its start in the rest plugin to
# its last record (rounds.py).
warm_run() {
  run_for "$1" "$2" "$TMP/run.out" ${3:+"$3"}
  python3 "$ROOT/bench/rest/rounds.py" < "$TMP/run.out" > "$TMP/rounds"
  read -r u s m < "$TMP/wtime"
  echo "$(tail -n +2 "$TMP/rounds" | cut -d' ' -f3 | median) $(wc -l < "$TMP/rounds")" \
    "$(echo "$u + $s" | bc -l) $m"
}
