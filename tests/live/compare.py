#!/usr/bin/env python3
"""Compare migscope's reconstruction of a migsim run with migsim's own log.

usage: compare.py REPORT.json EVENTS.jsonl MIGSIM.log [--tolerance-ms 1]

Prints one "ok - ..." / "not ok - ..." line per check and appends the verdicts
to $MS_RESULTS (see tests/lib.sh).
"""
import json
import os
import re
import sys
from collections import Counter, defaultdict

results = os.environ.get("MS_RESULTS", "/dev/null")
label = os.environ.get("T_LABEL", "")


def verdict(ok, name, detail=""):
    print(("ok - " if ok else "not ok - ") + label + name + ("" if ok else f": {detail}"))
    with open(results, "a") as f:
        f.write("ok\n" if ok else "fail\n")
    return ok


worst = [0.0]


def close(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    worst[0] = max(worst[0], abs(a - b))
    return abs(a - b) <= tol


def main():
    report = json.load(open(sys.argv[1]))
    events = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    sim = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
    tol = 1.0
    if "--tolerance-ms" in sys.argv:
        tol = float(sys.argv[sys.argv.index("--tolerance-ms") + 1])

    migs = report["migrations"]
    # a probe fired within its "window" after migsim's time stamp; a thread
    # preempted there (this host has 2 CPUs) moves migscope's stamp by as much.
    # Figures made of a device's multifd probe stamps get the windows of those
    # probes as slack, in ms.
    mf_probes = ("vfio_save_complete_precopy_thread_", "vfio_load_bufs_thread_",
                 "vfio_load_state_device_buffer_", "vfio_load_device_config_state_")
    mf_slack = defaultdict(float)
    for l in sim:
        if l.get("probe", "").startswith(mf_probes) and l.get("args"):
            mf_slack[(l["pid"], l["args"][0])] += l.get("window", 0) / 1e6
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
            mf = sd.get("multifd")
            for key in ("initial_bytes", "stopcopy_bytes", "stopcopy_read_bytes"):
                if key in sd:
                    verdict(md.get(key) == sd[key], side + f"{sd['name']} {key}",
                            f"migscope {md.get(key)} migsim {sd[key]}")
            # QEMU's own section times are exact; over multifd they are the
            # threads', from two probes' time stamps
            for key in ("save_us", "load_us"):
                if key not in sd:
                    continue
                if mf and sd[key] is not None and md.get(key) is not None:
                    t = tol + mf_slack[(s["pid"], sd["name"])]
                    verdict(close(md[key] / 1000, sd[key] / 1000, t),
                            side + f"{sd['name']} {key} within {tol} ms (+{t - tol:.3f} ms of probe windows)",
                            f"migscope {md.get(key)} migsim {sd[key]}")
                else:
                    verdict(md.get(key) == sd[key], side + f"{sd['name']} {key}",
                            f"migscope {md.get(key)} migsim {sd[key]}")
            if "multifd" in sd:
                mm = md.get("multifd")
                if not verdict((mm is None) == (mf is None), side + f"{sd['name']} multifd",
                               f"migscope {mm} migsim {mf}"):
                    continue
                for key, want in (mf or {}).items():
                    got = mm.get(key)
                    if key.endswith("_ms"):
                        t = tol + mf_slack[(s["pid"], sd["name"])]
                        verdict(close(got, want, t), side + f"{sd['name']} multifd {key} within "
                                f"{tol} ms (+{t - tol:.3f} ms of probe windows)",
                                f"migscope {got} migsim {want}")
                    else:
                        verdict(got == want, side + f"{sd['name']} multifd {key}",
                                f"migscope {got} migsim {want}")
            if "init_drain_ms" in sd:
                verdict(close(md.get("init_drain_ms"), sd["init_drain_ms"], tol),
                        side + f"{sd['name']} init_drain_ms within {tol} ms",
                        f"migscope {md.get('init_drain_ms')} migsim {sd['init_drain_ms']}")

    # every catalog probe migsim fired was seen, as many times, with its arguments
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    catalog = set(re.findall(r"X\(\s*[A-Z_]+,[\s\\]*(\w+),",
                             open(os.path.join(root, "include/migscope_probes.h")).read()))
    fired = Counter((l["pid"], l["probe"]) for l in sim if l.get("probe") in catalog)
    seen = Counter((e["pid"], e["probe"]) for e in events if e["kind"] == "usdt")
    missing = {k: v for k, v in fired.items() if seen.get(k, 0) != v}
    verdict(len(fired) > 0 and not missing, f"all {sum(fired.values())} probe firings seen",
            "; ".join(f"pid {p} {n}: fired {c}, seen {seen.get((p, n), 0)}"
                      for (p, n), c in list(missing.items())[:5]))
    # migscope keeps MS_STR_LEN - 1 = 63 bytes of a string argument
    def cut(args):
        return [a[:63] if isinstance(a, str) else a for a in args]

    sim_args = sorted(json.dumps([l["pid"], l["tid"], l["probe"], cut(l["args"])])
                      for l in sim if l.get("probe") in catalog)
    seen_args = sorted(json.dumps([e["pid"], e["tid"], e["probe"], e["args"]])
                       for e in events if e["kind"] == "usdt" and
                       e["pid"] in {l["pid"] for l in sim if "pid" in l})
    diff = sorted(set(sim_args) ^ set(seen_args))
    verdict(not diff, "probe arguments decoded as fired", "; ".join(diff[:4]))

    # decoded VFIO ioctls equal what migsim passed: each of migsim's ioctls is
    # matched with migscope's record of the same thread nearest in time
    seen_io = defaultdict(list)
    for e in events:
        if e["kind"] == "ioctl":
            seen_io[(e["pid"], e["tid"])].append(e)
    # With the syscall programs attached only around migrations (the
    # default), what must be seen is a migration's: the source's ioctls from
    # its qmp_enter_migrate on, the destination's from its first state
    # change; MS_ALL_IOCTLS=1 (--syscall-hooks always) asks for every one.
    arm = {}
    dst_pids = {s["pid"] for s in summaries if s.get("role") == "dst"}
    for l in sim:
        p = l.get("probe")
        if p == "qmp_enter_migrate" or (p == "migrate_set_state" and l["pid"] in dst_pids):
            arm.setdefault(l["pid"], l["ts"])
    all_io = os.environ.get("MS_ALL_IOCTLS") == "1"
    sim_io = [l for l in sim if "ioctl" in l and
              (all_io or l["ts"] >= arm.get(l["pid"], float("inf")))]
    if not all_io:
        srcs = {s["pid"] for s in summaries if s.get("role") == "src"}
        verdict(srcs <= set(arm), "every source's qmp_enter_migrate is in migsim's log",
                f"missing for pids {sorted(srcs - set(arm))}")
    fields = [("ioctl", "ioctl"), ("feature_name", "feature"), ("state_name", "state"),
              ("data_fd", "data_fd"), ("initial_bytes", "initial_bytes"),
              ("dirty_bytes", "dirty_bytes"), ("stop_copy_bytes", "stop_copy_bytes"),
              ("ret", "ret"), ("flags", "flags"), ("fd", "fd")]
    unmatched, diffs = 0, []
    for a in sim_io:
        cands = seen_io.get((a["pid"], a["tid"]), [])
        b = min(cands, key=lambda e: abs(e["ts"] - a["ts"]), default=None)
        if b is None or abs(b["ts"] - a["ts"]) > 1000000:
            unmatched += 1
            continue
        cands.remove(b)
        for ka, kb in fields:
            if a.get(ka) is not None and a[ka] != b.get(kb):
                diffs.append(f"{a['ioctl']} {a.get('feature_name')} {ka}: migsim {a[ka]} "
                             f"migscope {b.get(kb)}")
    verdict(unmatched == 0, f"all {len(sim_io)} VFIO ioctls seen",
            f"{unmatched} not found in migscope's records")
    verdict(not diffs, "decoded VFIO values equal migsim's", "; ".join(diffs[:5]))
    print(f"# {label}largest difference from migsim's figures: {worst[0] * 1000:.1f} us")


if __name__ == "__main__":
    main()
