#!/bin/bash
# Whether one long page holds the other sources (docs/bench/rest.md, "Long
# pages"): a rest source whose one page is N records (httpfix's /many,
# split into one record each) beside a rest source polled every 50 ms,
# in one continuous run. The longest gap between the quick source's
# records is how long the loop was held; with no hold it is about 50 ms.
#
#   bench/rest/stall.sh [BUILD_DIR]      (default: build-rest-release; configured if missing, always brought up to date)
#
# Environment: N=300000 records on the long page (about 4 MB of JSON)
# Prints the long round's records and time, and the quick source's
# rounds and longest gap. Exits non-zero, saying why, if the long
# page's records did not all come.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-300000}
# shellcheck source=bench/rest/lib.sh
. "$(dirname "$0")/lib.sh"

server_start 1
cat > "$TMP/stall.json" << JSON
{"siphon": {"plugin_path": ["$PLUGINS"], "log_level": "warn"},
 "sources": [
  {"name": "long", "plugin": "rest", "interval": "1h", "timeout": "30s",
   "options": {"url": "http://127.0.0.1:$PORT/many?n=$N&ms=1000", "select": "/items", "split": true,
               "max_body_bytes": "256MiB"}},
  {"name": "quick", "plugin": "rest", "interval": "50ms",
   "options": {"url": "http://127.0.0.1:$PORT/json"}}]}
JSON
# The long page is answered after 1 s, so that the quick source's records
# before it show the gap of a loop that nothing holds; then the long
# round's parse and writing, then 1 s more.
"$SIPHON" -c "$TMP/stall.json" > "$TMP/stall.out" 2> "$TMP/stall.err" &
pid=$!
for _ in $(seq 300); do
  sleep 0.1
  [ "$(grep -c '"source":"long"' "$TMP/stall.out" || true)" -ge "$N" ] && break
done
sleep 1
kill -TERM "$pid"
wait "$pid" || true
server_stop > /dev/null
python3 - "$TMP/stall.out" "$N" << 'PY'
import datetime, json, sys
quick, long_ts = [], []
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = datetime.datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp()
    (quick if r["source"] == "quick" else long_ts).append(t)
if len(long_ts) != int(sys.argv[2]):
    sys.exit("stall.sh: %d of the long page's %s records came" % (len(long_ts), sys.argv[2]))
gaps = [b - a for a, b in zip(quick, quick[1:])]
print("long page: %d records written over %.3f s" % (len(long_ts), long_ts[-1] - long_ts[0]))
first = max(i for i, t in enumerate(quick) if t < long_ts[0]) if quick[0] < long_ts[0] else 0
print("quick source: %d rounds; longest gap between its records %.3f s (%.3f s before the long page)"
      % (len(quick), max(gaps), max(gaps[:first]) if first > 1 else float("nan")))
PY
