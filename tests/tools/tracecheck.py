#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Check a `migscope replay --format perfetto` document against the Trace
Event Format's rules, and its durations against the JSON report of the same
input.

  tracecheck.py TRACE.json REPORT.json

Rules: a JSON object with a traceEvents list; every event has a phase of
those written (X, i, C, M, s, f), integer pid and tid, a number ts >= 0; X
has dur >= 0; every process has a process_name; the complete events of one
thread nest (Perfetto's slices: one within another or after it); per thread,
ts never goes back; every flow start has one end with its id, not before it.
Figures: for each migration of the report, the process named "(pid N)" with
its role has a "downtime", "precopy" and whole-migration complete event
whose durations are downtime_ms, precopy_ms and total_ms (to 1 us), and
neither where the report has null. Prints one line per failure and a
summary; exit 1 on a failure.
"""
import json
import re
import sys

PHASES = {"X", "i", "C", "M", "s", "f"}


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[5].strip(), file=sys.stderr)
        return 2
    doc = json.load(open(argv[1]))
    rep = json.load(open(argv[2]))
    bad = []
    evs = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not isinstance(evs, list) or not evs:
        print("not ok: no traceEvents list")
        return 1
    names = {}
    last_ts = {}
    slices = {}
    flows = {}
    for k, e in enumerate(evs):
        ph = e.get("ph")
        if ph not in PHASES:
            bad.append(f"event {k}: phase {ph!r}")
            continue
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            bad.append(f"event {k}: pid/tid not integers")
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            bad.append(f"event {k}: ts {ts!r}")
            continue
        track = (e["pid"], e["tid"])
        if ph == "M":
            if e.get("name") == "process_name":
                names[e["pid"]] = e["args"]["name"]
            continue
        if ts < last_ts.get(track, 0):
            bad.append(f"event {k}: ts {ts} before {last_ts[track]} on {track}")
        last_ts[track] = ts
        if ph == "X":
            dur = e.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                bad.append(f"event {k}: X without dur >= 0")
                continue
            slices.setdefault(track, []).append((ts, dur, e["name"]))
        elif ph in ("s", "f"):
            flows.setdefault(e.get("id"), []).append((ph, ts))
    pids = {e["pid"] for e in evs if isinstance(e.get("pid"), int)}
    for p in sorted(pids - set(names)):
        bad.append(f"pid {p}: no process_name")
    for track, sl in slices.items():
        stack = []
        for ts, dur, name in sorted(sl, key=lambda s: (s[0], -s[1])):
            while stack and ts >= stack[-1][0] + stack[-1][1] - 1e-6:
                stack.pop()
            if stack and ts + dur > stack[-1][0] + stack[-1][1] + 1e-6:
                bad.append(f"{track}: {name!r} [{ts}, +{dur}] overlaps {stack[-1][2]!r} "
                           f"[{stack[-1][0]}, +{stack[-1][1]}]")
            stack.append((ts, dur, name))
    for fid, ends in flows.items():
        kinds = sorted(p for p, _ in ends)
        if kinds != ["f", "s"]:
            bad.append(f"flow {fid}: {kinds}")
        elif dict(ends)["f"] < dict(ends)["s"]:
            bad.append(f"flow {fid}: ends before it starts")
    checked = 0
    for m in rep.get("migrations", []):
        role = m["role"]
        pid = next((p for p, n in names.items()
                    if n.endswith(f"(pid {m['pid']})") and f" {role} " in n), None)
        if pid is None:
            bad.append(f"migration pid {m['pid']} {role}: no process")
            continue
        xs = {}
        for e in evs:
            if e.get("pid") == pid and e.get("ph") == "X" and e.get("tid") in (1, 2):
                xs.setdefault(e["name"], e["dur"])
        for fig, name in (("downtime_ms", "downtime"), ("precopy_ms", "precopy"),
                          ("total_ms", f"migration {role}")):
            want = m.get(fig)
            got = xs.get(name)
            if name.startswith("migration") and want is None:
                continue  # still active: drawn to its last milestone
            if want is None and got is not None:
                bad.append(f"pid {m['pid']} {role}: {name} drawn, {fig} null")
            elif want is not None and (got is None or abs(got / 1000 - want) > 0.001):
                bad.append(f"pid {m['pid']} {role}: {name} {got} us, {fig} {want}")
            else:
                checked += 1
    for b in bad[:20]:
        print("not ok:", b)
    print(f"# {len(evs)} events, {len(names)} processes, {len(flows)} flows, "
          f"{checked} figures equal to the report, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
