#!/usr/bin/env python3
"""Keep, in a replay JSON report, only the migrations of the processes that a
migsim log names (other QEMU-like processes on the host are not the test's).

usage: only_pids.py REPORT.json MIGSIM.log > FILTERED.json
"""
import json
import sys

report = json.load(open(sys.argv[1]))
pids = set()
for line in open(sys.argv[2]):
    line = line.strip()
    if line:
        rec = json.loads(line)
        if "pid" in rec:
            pids.add(rec["pid"])
        if "summary" in rec:
            pids.add(rec["summary"]["pid"])
keep = [i for i, m in enumerate(report["migrations"]) if m["pid"] in pids]
index = {old: new for new, old in enumerate(keep)}
report["migrations"] = [report["migrations"][i] for i in keep]
pairs = []
for p in report.get("pairs", []):
    if p["source"] in index and p["destination"] in index:
        p["source"], p["destination"] = index[p["source"]], index[p["destination"]]
        pairs.append(p)
report["pairs"] = pairs
json.dump(report, sys.stdout, indent=1)
