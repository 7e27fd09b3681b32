#!/usr/bin/env python3
"""Checks of one real-QEMU migration (tests/qemu/test_qemu.sh): migscope's live
capture against what QEMU reported over QMP, and the replay of QEMU's own
log-backend files against the live capture. docs/qemu.md explains each check.

usage: compare.py NAME DIR SRC_PID DST_PID EXPECT [--ack] [--min-passes N]

DIR holds NAME.qmp.json (tests/qemu/migrate.py), NAME.live.json and
NAME.live.events (migscope replay of the recording), NAME.log.json and
NAME.log.events (migscope replay of the two QEMU logs). EXPECT is the
source's result: completed, failed or cancelled.

Prints one "ok - ..." / "not ok - ..." line per check, appends the verdicts
to $MS_RESULTS, and prints "# figure ..." lines with the values compared.
"""
import json
import os
import sys
from collections import defaultdict

results = os.environ.get("MS_RESULTS", "/dev/null")

# QMP "downtime" is floor(end ms) - floor(start ms) of QEMU_CLOCK_REALTIME read
# just after src-downtime-start and just before src-downtime-end: within 1 ms
# of the probes' span, plus the few µs between a probe and the clock read.
DOWNTIME_TOL_MS = 1.05
TIME_TOL_MS = 2.0
# A log line's timestamp is read after the USDT probe of the same trace call
# fired (and, under migscope, after its uprobe ran): a few µs later, not
# always by the same amount. Relative times agree within this.
LOG_TOL_MS = 0.05


def verdict(ok, name, detail=""):
    print(("ok - " if ok else "not ok - ") + name + ("" if ok else f": {detail}"))
    with open(results, "a") as f:
        f.write("ok\n" if ok else "fail\n")
    return ok


def figure(text):
    print("# figure " + text)


def load_events(path, pids):
    evs = []
    for line in open(path):
        if line.strip():
            e = json.loads(line)
            if e.get("pid") in pids:
                evs.append(e)
    return evs


def side(report, pid):
    m = [x for x in report["migrations"] if x["pid"] == pid]
    return m[0] if len(m) == 1 else None


def ev_ts(evs, pid, probe, arg0=None):
    for e in evs:
        if e["pid"] == pid and e["kind"] == "usdt" and e["probe"] == probe and (
                arg0 is None or e["args"][0] == arg0):
            return e["ts"]
    return None


def main():
    name, d = sys.argv[1], sys.argv[2]
    spid, dpid, expect = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    ack = "--ack" in sys.argv
    min_passes = int(sys.argv[sys.argv.index("--min-passes") + 1]) if "--min-passes" in sys.argv else 1
    p = lambda s: f"{name}: {s}"  # noqa: E731

    qmp = json.load(open(f"{d}/{name}.qmp.json"))
    live = json.load(open(f"{d}/{name}.live.json"))
    log = json.load(open(f"{d}/{name}.log.json"))
    lev = load_events(f"{d}/{name}.live.events", {spid, dpid})
    gev = load_events(f"{d}/{name}.log.events", {spid, dpid})
    q = qmp["src"]
    figure(f"{name}: accel {'kvm' if qmp['kvm'].get('enabled') else 'tcg'}, QMP status "
           f"{q.get('status')} total-time {q.get('total-time')} setup-time {q.get('setup-time')} "
           f"downtime {q.get('downtime')} dirty-sync-count {q.get('ram', {}).get('dirty-sync-count')}")

    src, dst = side(live, spid), side(live, dpid)
    if not verdict(src is not None and dst is not None, p("live: one migration per side"),
                   f"source {src is not None}, destination {dst is not None}"):
        return
    verdict(src["role"] == "source" and dst["role"] == "destination", p("live: roles"),
            f"{src['role']} / {dst['role']}")
    verdict(q.get("status") == expect, p(f"QMP: source {expect}"), q.get("status"))
    verdict(src["result"] == q.get("status"), p("live: source result = QMP status"),
            f"{src['result']} != {q.get('status')}")
    verdict(not src["incomplete"] and not dst["incomplete"] and live["lost_events"] == 0,
            p("live: nothing lost or incomplete"), f"lost {live['lost_events']}")

    syncs = sum(1 for e in lev if e["pid"] == spid and e.get("probe") == "migration_bitmap_sync_end")
    dsc = q.get("ram", {}).get("dirty-sync-count")
    if expect == "completed":
        verdict(syncs == dsc, p("live: one migration_bitmap_sync_end per QMP dirty-sync-count"),
                f"{syncs} probes, dirty-sync-count {dsc}")
    else:
        # a failed or cancelled migration's query-migrate has no ram figures:
        # the last poll while active had them (a sync may have come after it)
        dsc = qmp.get("last_active", {}).get("ram", {}).get("dirty-sync-count")
        verdict(dsc is not None and dsc <= syncs <= dsc + 1,
                p("live: migration_bitmap_sync_end probes = dirty-sync-count of the last active poll"),
                f"{syncs} probes, dirty-sync-count {dsc}")

    if expect == "completed":
        dt, qdt = src["downtime_ms"], q.get("downtime")
        figure(f"{name}: downtime migscope {dt} ms, QMP {qdt} ms")
        verdict(dt is not None and qdt is not None and abs(dt - qdt) <= DOWNTIME_TOL_MS,
                p(f"downtime within {DOWNTIME_TOL_MS} ms of QMP"), f"{dt} vs {qdt}")
        tt, qtt = src["total_ms"], q.get("total-time")
        figure(f"{name}: total migscope {tt} ms, QMP {qtt} ms")
        verdict(tt is not None and abs(tt - qtt) <= TIME_TOL_MS,
                p(f"total time within {TIME_TOL_MS} ms of QMP"), f"{tt} vs {qtt}")
        act = src["milestones"].get("active")
        st = act / 1e6 if act is not None else None
        figure(f"{name}: setup (active - setup) migscope {st} ms, QMP setup-time {q.get('setup-time')} ms")
        verdict(st is not None and abs(st - q.get("setup-time")) <= TIME_TOL_MS,
                p(f"setup time within {TIME_TOL_MS} ms of QMP"), f"{st} vs {q.get('setup-time')}")
        # the final sync of the stop phase is in dirty-sync-count, not a precopy pass
        figure(f"{name}: precopy passes {src['precopy_passes']}, dirty-sync-count {dsc}")
        verdict(src["precopy_passes"] is not None and src["precopy_passes"] + 1 == dsc,
                p("precopy passes = dirty-sync-count - 1 (the stop phase's final sync)"),
                f"{src['precopy_passes']} vs {dsc}")
        verdict((src["precopy_passes"] or 0) >= min_passes,
                p(f"precopy iterated at least {min_passes} times"), src["precopy_passes"])
        verdict(dst["result"] == "completed", p("live: destination completed"), dst["result"])
        ds = (qmp.get("dst_status") or {}).get("status")
        verdict(ds == "running", p("the guest runs on the destination (QMP)"), ds)
        # guest-visible downtime: the checkpoints' own span, one clock
        pairs = [x for x in live["pairs"]
                 if live["migrations"][x["source"]]["pid"] == spid
                 and live["migrations"][x["destination"]]["pid"] == dpid]
        stop = ev_ts(lev, spid, "vmstate_downtime_checkpoint", "src-vm-stopped")
        run = ev_ts(lev, dpid, "vmstate_downtime_checkpoint", "dst-precopy-bh-vm-started")
        if verdict(len(pairs) == 1 and stop and run, p("live: source and destination paired")):
            g = pairs[0]["guest_downtime_ms"]
            figure(f"{name}: guest-visible downtime {g} ms (QEMU downtime {dt} ms)")
            verdict(g is not None and abs(g - (run - stop) / 1e6) < 1e-6,
                    p("guest downtime = dst-precopy-bh-vm-started - src-vm-stopped"),
                    f"{g} vs {(run - stop) / 1e6}")
    else:
        # no final sync: every sync was a precopy pass
        verdict(src["precopy_passes"] == syncs and dsc is not None and
                dsc <= src["precopy_passes"] <= dsc + 1,
                p("precopy passes = dirty-sync-count (no stop phase)"),
                f"{src['precopy_passes']} vs {dsc}")
        verdict(src["downtime_ms"] is None and q.get("downtime") is None,
                p("no downtime on either side"), f"{src['downtime_ms']} / {q.get('downtime')}")
        if expect == "failed":
            verdict(dst["result"] == "aborted", p("live: killed destination ends as aborted"),
                    dst["result"])
            verdict(src["error"] is not None, p("live: the source's error text"), src["error"])
        else:
            verdict(src["milestones"].get("cancel") is not None and
                    src["milestones"].get("cancelling") is not None,
                    p("live: cancel and cancelling milestones"), src["milestones"])
            verdict(dst["result"] in ("failed", "aborted"),
                    p("live: destination failed (its stream was cut)"), dst["result"])

    # the switchover-ack handshake, in order, on one clock
    sa = src["switchover_ack"]
    if ack and expect == "completed":
        order = [("dst ack-needed", ev_ts(lev, dpid, "loadvm_state_switchover_ack_needed")),
                 ("dst ack sent", ev_ts(lev, dpid, "migrate_send_rp_message", 7)),
                 ("src ack received", ev_ts(lev, spid, "source_return_path_thread_switchover_acked")),
                 ("src downtime start", ev_ts(lev, spid, "vmstate_downtime_checkpoint", "src-downtime-start"))]
        ts = [t for _, t in order]
        figure(f"{name}: ack handshake " + ", ".join(
            f"{n} +{(t - ts[0]) / 1e3:.1f} us" if t and ts[0] else f"{n} -" for n, t in order))
        verdict(all(ts) and ts == sorted(ts),
                p("ACK needed (dst) < ACK sent (dst) < ACK received (src) < downtime start (src)"),
                order)
        verdict(sa["enabled"] is True and sa["acked"] is True and
                dst["switchover_ack"]["pending_initial"] == 0,
                p("live: switchover-ack on, acked, no device to wait for"), sa)
        verdict(live["pairs"] and [x for x in live["pairs"] if x["ack_transit_ms"] is not None],
                p("live: ACK transit measured"))
    elif not ack:
        verdict(sa["enabled"] in (False, None) and sa["ack_latency_ms"] is None and
                ev_ts(lev, spid, "source_return_path_thread_switchover_acked") is None,
                p("switchover-ack off: no ACK"), sa)

    # --- the QEMU log replay against the live capture ---
    gsrc, gdst = side(log, spid), side(log, dpid)
    verdict(gsrc is not None and gdst is not None,
            p("log: one migration per side, with the live pids (the main thread's TID)"),
            [m["pid"] for m in log["migrations"]])
    if gsrc is None or gdst is None:
        return
    verdict(log.get("input_skipped_lines") == 0, p("log: no line skipped"),
            log.get("input_skipped_lines"))
    # every probe of the live capture is in the log, same thread, same arguments
    seq = defaultdict(list)
    gseq = defaultdict(list)
    for e in lev:
        if e["kind"] == "usdt":
            seq[(e["pid"], e["tid"])].append((e["probe"], e["args"]))
    for e in gev:
        if e["kind"] == "usdt":
            gseq[(e["pid"], e["tid"])].append((e["probe"], e["args"]))
    diff = [k for k in set(seq) | set(gseq) if seq[k] != gseq[k]]
    verdict(not diff, p(f"log: the same {len(lev)} events per thread, same arguments"),
            [(k, len(seq[k]), len(gseq[k])) for k in diff][:4])

    worst = [0.0]

    def close(a, b, tol, scale=1.0):
        if a is None or b is None:
            return a is None and b is None
        worst[0] = max(worst[0], abs(a - b) * scale)
        return abs(a - b) * scale <= tol

    for role, a, b in (("source", src, gsrc), ("destination", dst, gdst)):
        bad = []
        for k in ("role", "result", "precopy_passes", "phase", "state", "error"):
            if a[k] != b[k]:
                bad.append((k, a[k], b[k]))
        if role == "destination" and expect == "failed":
            # a log has no process exit: the killed destination stays active
            bad = [x for x in bad if x[0] not in ("result", "phase")]
            verdict(b["result"] == "active", p("log: killed destination stays active (no exit in a log)"),
                    b["result"])
        for k in ("total_ms", "downtime_ms", "precopy_ms"):
            if not (role == "destination" and expect == "failed" and k == "total_ms") and \
                    not close(a[k], b[k], LOG_TOL_MS):
                bad.append((k, a[k], b[k]))
        for k in set(a["milestones"]) | set(b["milestones"]):
            if role == "destination" and expect == "failed" and k == "aborted":
                continue
            if not close(a["milestones"].get(k), b["milestones"].get(k), LOG_TOL_MS, 1e-6):
                bad.append((k, a["milestones"].get(k), b["milestones"].get(k)))
        for k in ("enabled", "acked", "pending_initial", "pending"):
            if a["switchover_ack"][k] != b["switchover_ack"][k]:
                bad.append(("switchover_ack." + k, a["switchover_ack"][k], b["switchover_ack"][k]))
        for k in ("ack_latency_ms", "ack_wait_ms", "ack_sent_ms"):
            if not close(a["switchover_ack"][k], b["switchover_ack"][k], LOG_TOL_MS):
                bad.append(("switchover_ack." + k, a["switchover_ack"][k], b["switchover_ack"][k]))
        for k in set(a["downtime_breakdown"] or {}) | set(b["downtime_breakdown"] or {}):
            if expect == "failed":
                continue
            if not close((a["downtime_breakdown"] or {}).get(k), (b["downtime_breakdown"] or {}).get(k),
                         LOG_TOL_MS):
                bad.append(("downtime_breakdown." + k, a["downtime_breakdown"][k], b["downtime_breakdown"][k]))
        if a["devices"] != b["devices"] or a["transitions"] != b["transitions"]:
            bad.append(("devices", a["devices"], b["devices"]))
        if a["sections"] != b["sections"]:
            bad.append(("sections", a["sections"], b["sections"]))
        ca, cb = a["convergence"], b["convergence"]
        if (ca is None) != (cb is None) or (ca and any(
                ca[k] != cb[k] for k in ("iterations", "pending_bytes", "threshold_bytes",
                                         "transferred_bytes"))):
            bad.append(("convergence", ca and ca.get("iterations"), cb and cb.get("iterations")))
        verdict(not bad, p(f"log = live, {role}: result, figures, milestones, devices, sections"),
                bad[:6])
    lp = [x for x in live["pairs"] if live["migrations"][x["source"]]["pid"] == spid]
    gp = [x for x in log["pairs"] if log["migrations"][x["source"]]["pid"] == spid]
    if lp and expect == "completed":
        ok = len(gp) == 1 and close(lp[0]["guest_downtime_ms"], gp[0]["guest_downtime_ms"], LOG_TOL_MS) \
            and close(lp[0]["ack_transit_ms"], gp[0]["ack_transit_ms"], LOG_TOL_MS)
        verdict(ok, p("log = live: pair, guest downtime, ACK transit"),
                (lp[0], gp[0] if gp else None))
    figure(f"{name}: log vs live, largest difference {worst[0] * 1e3:.1f} us")


if __name__ == "__main__":
    main()
