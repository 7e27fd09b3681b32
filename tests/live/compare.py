#!/usr/bin/env python3
"""Compare migscope's reconstruction of a migsim run with migsim's own log.

usage: compare.py REPORT.json EVENTS.jsonl MIGSIM.log [--tolerance-ms 1]

Prints one "ok - ..." / "not ok - ..." line per check and appends the verdicts
to $MS_RESULTS (see tests/lib.sh).
"""
import json
import os
import sys
from collections import Counter, defaultdict

results = os.environ.get("MS_RESULTS", "/dev/null")
label = os.environ.get("T_LABEL", "")


def verdict(ok, name, detail=""):
    print(("ok - " if ok else "not ok - ") + label + name + ("" if ok else f": {detail}"))
    with open(results, "a") as f:
        f.write("ok\n" if ok else "fail\n")
    return ok


def close(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def main():
    report = json.load(open(sys.argv[1]))
    events = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    sim = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
    tol = 1.0
    if "--tolerance-ms" in sys.argv:
        tol = float(sys.argv[sys.argv.index("--tolerance-ms") + 1])

    migs = report["migrations"]
    summaries = [l["summary"] for l in sim if "summary" in l]
    verdict(len(summaries) > 0, "migsim wrote its summaries", "no summary line")
    for s in summaries:
        side = f"{s['role']} pid {s['pid']}: "
        cand = [m for m in migs if m["pid"] == s["pid"]]
        if not verdict(len(cand) == 1, side + "one migration in the report",
                       f"{len(cand)} found"):
            continue
        m = cand[0]
        verdict(m["role"] == s["role"], side + "role", f"{m['role']} != {s['role']}")
        verdict(m["result"] == s["result"], side + "result", f"{m['result']} != {s['result']}")
        verdict(m["vm"] == s.get("vm"), side + "vm name", f"{m['vm']} != {s.get('vm')}")
        verdict(m["uuid"] == s.get("uuid"), side + "uuid", f"{m['uuid']} != {s.get('uuid')}")
        pairs = [("total_ms", m["total_ms"]), ("downtime_ms", m["downtime_ms"]),
                 ("precopy_ms", m["precopy_ms"]),
                 ("ack_latency_ms", m["switchover_ack"]["ack_latency_ms"]),
                 ("ack_wait_ms", m["switchover_ack"]["ack_wait_ms"])]
        for key, mine in pairs:
            if key not in s:
                continue
            verdict(close(mine, s[key], tol), side + f"{key} within {tol} ms",
                    f"migscope {mine} migsim {s[key]}")
        if "precopy_passes" in s and s["precopy_passes"] is not None:
            verdict(m.get("precopy_passes") == s["precopy_passes"], side + "precopy passes",
                    f"migscope {m.get('precopy_passes')} migsim {s['precopy_passes']}")
        devs = {d["name"]: d for d in m["devices"]}
        verdict(sorted(devs) == sorted(d["name"] for d in s.get("devices", [])),
                side + "device names", f"{sorted(devs)}")
        for sd in s.get("devices", []):
            md = devs.get(sd["name"])
            if md is None:
                continue
            for key in ("initial_bytes", "stopcopy_bytes", "save_us", "load_us"):
                if key in sd:
                    verdict(md.get(key) == sd[key], side + f"{sd['name']} {key}",
                            f"migscope {md.get(key)} migsim {sd[key]}")
            if "init_drain_ms" in sd:
                verdict(close(md.get("init_drain_ms"), sd["init_drain_ms"], tol),
                        side + f"{sd['name']} init_drain_ms within {tol} ms",
                        f"migscope {md.get('init_drain_ms')} migsim {sd['init_drain_ms']}")

    # every probe migsim fired was seen, as many times
    fired = Counter((l["pid"], l["probe"]) for l in sim if "probe" in l)
    seen = Counter((e["pid"], e["probe"]) for e in events if e["kind"] == "usdt")
    missing = {k: v for k, v in fired.items() if seen.get(k, 0) != v}
    verdict(len(fired) > 0 and not missing, f"all {sum(fired.values())} probe firings seen",
            "; ".join(f"pid {p} {n}: fired {c}, seen {seen.get((p, n), 0)}"
                      for (p, n), c in list(missing.items())[:5]))
    # probe arguments agree, in order, per process
    by_pid_sim = defaultdict(list)
    for l in sim:
        if "probe" in l:
            by_pid_sim[l["pid"]].append((l["probe"], l["args"]))
    by_pid_seen = defaultdict(list)
    for e in events:
        if e["kind"] == "usdt":
            by_pid_seen[e["pid"]].append((e["probe"], e["args"]))
    bad = [p for p in by_pid_sim if sorted(map(json.dumps, by_pid_sim[p])) !=
           sorted(map(json.dumps, by_pid_seen.get(p, [])))]
    verdict(not bad, "probe arguments decoded as fired", f"differ for pids {bad}")

    # decoded VFIO ioctls equal what migsim passed
    sim_io = defaultdict(list)
    for l in sim:
        if "ioctl" in l:
            sim_io[l["pid"]].append(l)
    seen_io = defaultdict(list)
    for e in events:
        if e["kind"] == "ioctl":
            seen_io[e["pid"]].append(e)
    nio = sum(len(v) for v in sim_io.values())
    verdict(nio == sum(len(seen_io.get(p, [])) for p in sim_io), f"all {nio} VFIO ioctls seen",
            f"migsim {nio}, migscope {sum(len(v) for v in seen_io.values())}")
    diffs = []
    for pid, lst in sim_io.items():
        for a, b in zip(lst, seen_io.get(pid, [])):
            for key in ("ioctl", "feature", "state", "data_fd", "initial_bytes", "dirty_bytes",
                        "stop_copy_bytes", "ret"):
                if a.get(key) is not None and b.get(key) is not None and a[key] != b[key]:
                    diffs.append(f"pid {pid} {key}: migsim {a[key]} migscope {b[key]}")
                elif a.get(key) is not None and key in ("ioctl", "initial_bytes",
                                                         "dirty_bytes", "stop_copy_bytes",
                                                         "data_fd") and key not in b:
                    if key == "data_fd" and a.get("feature") != "MIG_DEVICE_STATE":
                        continue
                    if key in ("initial_bytes", "dirty_bytes") and a["ioctl"] != "MIG_GET_PRECOPY_INFO":
                        continue
                    if key == "stop_copy_bytes" and a.get("feature") != "MIG_DATA_SIZE":
                        continue
                    diffs.append(f"pid {pid} {key} missing in migscope's record")
    verdict(nio > 0 and not diffs if nio else True, "decoded VFIO values equal migsim's",
            "; ".join(diffs[:5]))


if __name__ == "__main__":
    main()
