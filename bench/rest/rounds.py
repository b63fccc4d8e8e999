#!/usr/bin/env python3
"""Round times of a continuous siphon run, from its records on stdin.

The k-th record of every source belongs to round k. A round starts when
its first transfer started (record ts minus meta.elapsed_ms) and ends
with its last record. Prints one line per complete round: "round K S N I"
(its number, seconds, records, and the seconds from its first
transfer's start to its last one's: the time it took to send every
request). Records without "meta" (the host's stats records) are
skipped.

What it leaves out: the loop sets up every source's round (the host's
timers fire, the plugin makes its transfers) before the first transfer
starts, 57-96 ms at 10,000 warm sources (bench/rest/warm.sh measures
it); round times here start after that."""
import json
import sys
from datetime import datetime

by_source = {}
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    if "meta" not in r:
        continue
    ts = datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    by_source.setdefault(r["source"], []).append((ts, r["meta"]["elapsed_ms"] / 1000.0))

n = len(by_source)
rounds = min(len(v) for v in by_source.values()) if by_source else 0
for k in range(rounds):
    starts = [v[k][0] - v[k][1] for v in by_source.values()]
    end = max(v[k][0] for v in by_source.values())
    print("round %d %.3f %d %.3f" % (k + 1, end - min(starts), n, max(starts) - min(starts)))
