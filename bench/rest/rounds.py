#!/usr/bin/env python3
"""Round times of a continuous siphon run, from its records on stdin.

The k-th record of every source belongs to round k. A record's request
started at its ts minus meta.elapsed_ms (libcurl's time for it), and was
asked for meta.wait_ms before that (when the rest plugin began the round;
the time between is the loop setting up every source's round, and first
requests waiting for their turn). A round starts when the first of its
requests was asked for and ends with its last record.

Prints one line per complete round: "round K S N SETUP SEND": its
number, its seconds, its records, and the seconds from its start to its
first request's start (the set-up) and to its last one's (set-up and the
sending of every request). Records
without "meta" (the host's stats records) are skipped; records without
meta.wait_ms (siphon before it had one) count from their request's
start."""
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
    m = r["meta"]
    ts = datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    started = ts - m["elapsed_ms"] / 1000.0
    by_source.setdefault(r["source"], []).append((ts, started, started - m.get("wait_ms", 0) / 1000.0))

n = len(by_source)
rounds = min(len(v) for v in by_source.values()) if by_source else 0
for k in range(rounds):
    start = min(v[k][2] for v in by_source.values())
    first = min(v[k][1] for v in by_source.values())
    last = max(v[k][1] for v in by_source.values())
    end = max(v[k][0] for v in by_source.values())
    print("round %d %.3f %d %.3f %.3f" % (k + 1, end - start, n, first - start, last - start))
