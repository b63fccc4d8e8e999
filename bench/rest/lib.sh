# Shared by bench/rest/run.sh and bench/rest/knobs.sh (sourced, not run).
# Expects ROOT; sets BUILD, SIPHON, BASE, HTTPFIX, PLUGINS; builds the
# Release tree if needed; raises the fd limit; gives gen, median,
# server_start and server_stop.
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

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

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
