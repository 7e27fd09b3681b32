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
neither where the report has null; each device's precopy-bytes counter ends
at the report's precopy_initial_bytes / precopy_dirty_bytes, and on a source
its first nonzero initial bytes are initial_bytes; a thread track per
thread of the report, with its name, records and span. Prints one line per
failure and a summary; exit 1 on a failure.
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
        # each device's precopy counter ends at the report's latest sizes,
        # and (a series that did not wrap) its first nonzero initial bytes
        # are the report's initial_bytes (the source's)
        for d in m.get("devices") or []:
            cs = [e["args"] for e in evs if e.get("pid") == pid and e.get("ph") == "C"
                  and e.get("name") == f"vfio {d['name']} precopy bytes"]
            li, ld = d.get("precopy_initial_bytes"), d.get("precopy_dirty_bytes")
            if li is None and ld is None:
                if cs:
                    bad.append(f"pid {m['pid']} {role}: {d['name']}: a counter, no sizes")
                continue
            if not cs or cs[-1].get("initial") != li or cs[-1].get("dirty") != ld:
                bad.append(f"pid {m['pid']} {role}: {d['name']}: counter ends at "
                           f"{cs[-1] if cs else None}, the report has {li}/{ld}")
                continue
            checked += 1
            first = next((c["initial"] for c in cs if c["initial"]), None)
            if role == "source" and len(cs) < 64 and first is not None:
                if first != d.get("initial_bytes"):
                    bad.append(f"pid {m['pid']} {role}: {d['name']}: first initial {first}, "
                               f"initial_bytes {d.get('initial_bytes')}")
                else:
                    checked += 1
        # a track per thread of the report's, over its first to last record
        tracks = {e["args"]["tid"]: e for e in evs if e.get("pid") == pid
                  and e.get("ph") == "X" and e.get("cat") == "thread"}
        for t in m.get("threads", []):
            e = tracks.get(t["tid"])
            want = (t["last_ns"] - t["first_ns"]) / 1000
            if (e is None or e["name"] != t["name"] or e["args"]["records"] != t["records"]
                    or abs(e["dur"] - want) > 0.001):
                bad.append(f"pid {m['pid']} {role}: thread {t} drawn as {e}")
            else:
                checked += 1
        if len(tracks) != len(m.get("threads", [])):
            bad.append(f"pid {m['pid']} {role}: {len(tracks)} thread tracks, "
                       f"{len(m.get('threads', []))} threads in the report")
    for b in bad[:20]:
        print("not ok:", b)
    print(f"# {len(evs)} events, {len(names)} processes, {len(flows)} flows, "
          f"{checked} figures equal to the report, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
