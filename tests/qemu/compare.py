#!/usr/bin/env python3
"""Checks of one real-QEMU migration (tests/qemu/test_qemu.sh): migscope's live
capture against what QEMU reported over QMP, and the replay of QEMU's own
log-backend files against the live capture. docs/qemu.md explains each check
and each relation asserted.

usage: compare.py NAME DIR SRC_PID DST_PID EXPECT [--ack] [--min-passes N]
       compare.py --log-only NAME DIR       (a QEMU without USDT probes: only logs)

DIR holds NAME.qmp.json (tests/qemu/migrate.py), NAME.live.json and
NAME.live.events (migscope replay of the recording), NAME.log.json and
NAME.log.events (migscope replay of the two QEMU logs NAME.src.log and
NAME.dst.log). EXPECT is the source's result: completed, failed, cancelled.

Prints one "ok - ..." / "not ok - ..." line per check, appends the verdicts
to $MS_RESULTS, and "# figure ..." lines with the values compared.
"""
import calendar
import difflib
import json
import os
import re
import sys
import time
from collections import defaultdict

results = os.environ.get("MS_RESULTS", "/dev/null")

# QMP figures are whole ms of QEMU_CLOCK_REALTIME/HOST: floor(end) - floor(start)
# is within 1 ms of the true span; 50 µs more for the instructions between a
# probe and QEMU's clock read.
MS_TOL = 1.05
TIME_TOL = 2.0  # total-time and setup-time (the tolerance)
# The extra events of the test's -trace list: outside the catalog, skipped by
# the replay, read here to place the start of the migration thread and the
# last thing it did before reading its end clock.
EXTRA_EVENTS = ("savevm_state_header", "migration_thread_setup_complete",
                "migration_return_path_end_after")


LABEL = os.environ.get("T_LABEL", "")


# the widest bound accepted (test_qemu.sh MAX_CLOCK_ERROR, which says why)
MAX_CLOCK_ERROR = float(os.environ.get("MS_MAX_CLOCK_ERROR", "1.0"))


def qemu_before(v):
    """Whether the QEMU under test (QEMU_VERSION, default 10.0.2) is older than v."""
    have = [int(x) for x in os.environ.get("QEMU_VERSION", "10.0.2").split(".")]
    return have < [int(x) for x in v.split(".")]


def verdict(ok, name, detail=""):
    name = LABEL + name
    print(("ok - " if ok else "not ok - ") + name + ("" if ok else f": {detail}"))
    with open(results, "a") as f:
        f.write("ok\n" if ok else "fail\n")
    return ok


def figure(text):
    print("# figure " + LABEL + text)


def load_events(path, pids):
    out = []
    for line in open(path):
        if line.strip():
            e = json.loads(line)
            if e.get("pid") in pids and e["kind"] == "usdt":
                out.append(e)
    return out


ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z (.*)")
NO_TID_PID = 4194304  # the pid of a 10.1+ log, which names no thread


def log_lines(path):
    """(ts ns, tid, text) of each timestamped line of a QEMU log (tid None for
    10.1+'s ISO-8601 stamps)"""
    for line in open(path):
        m = ISO.match(line)
        if m:
            t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
            yield t * 10**9 + int(m.group(2)) * 1000, None, m.group(3).strip()
            continue
        head, _, rest = line.partition(":")
        tid, _, ts = head.partition("@")
        if ts and tid.isdigit():
            sec, _, usec = ts.partition(".")
            yield int(sec) * 10**9 + int(usec) * 1000, int(tid), rest.strip()


def side(report, pid):
    m = [x for x in report["migrations"] if x["pid"] == pid]
    return m[0] if len(m) == 1 else None


def first(evs, pid, probe, arg0=None):
    for e in evs:
        if e["pid"] == pid and e["probe"] == probe and (arg0 is None or e["args"][0] == arg0):
            return e
    return None


def span(a, b):
    return None if a is None or b is None else (b - a) / 1e6


def close(x, y, tol=1e-6):
    if x is None or y is None:
        return x is None and y is None
    return abs(x - y) <= tol


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
    gev = load_events(f"{d}/{name}.log.events", {spid, dpid, NO_TID_PID})
    # A 10.1+ log names no thread (docs/qemu.md): its pid is a pseudo pid, its
    # records one thread's; match them per process, the source's log being the
    # first input
    iso = any(m["pid"] == NO_TID_PID for m in log["migrations"])
    live_tid = {(e["pid"], e["ts"]): e["tid"] for e in lev}
    if iso:
        for e in gev:
            e["pid"] = dpid if e.get("input", 0) else spid
        for m in log["migrations"]:
            if m["pid"] == NO_TID_PID:
                m["pid"] = spid if m["role"] == "source" else dpid
        for e in lev + gev:
            e["tid"] = None
    q = qmp["src"]
    figure(f"{name}: accel {'kvm' if qmp['kvm'].get('enabled') else 'tcg'}, QMP status "
           f"{q.get('status')} total-time {q.get('total-time')} setup-time {q.get('setup-time')} "
           f"downtime {q.get('downtime')} dirty-sync-count {q.get('ram', {}).get('dirty-sync-count')}")

    src, dst = side(live, spid), side(live, dpid)
    gsrc, gdst = side(log, spid), side(log, dpid)
    if not verdict(src is not None and dst is not None, p("live: one migration per side"),
                   [m["pid"] for m in live["migrations"]]):
        return
    verdict(gsrc is not None and gdst is not None,
            p("log: one migration per side, a pseudo pid (10.1+ logs name no thread)") if iso else
            p("log: one migration per side, with the live pids (the main thread's TID)"),
            [m["pid"] for m in log["migrations"]])

    # --- the same run seen twice: map each live event to its log line ---
    # Same thread, same probe and arguments, same order. Each side may miss a
    # prefix: the recorder attached after QEMU started, and QEMU opens its log
    # after its first run-state change.
    seq, gseq = defaultdict(list), defaultdict(list)
    for e in lev:
        seq[(e["pid"], e["tid"])].append(e)
    for e in gev:
        gseq[(e["pid"], e["tid"])].append(e)
    tmap, bad = {}, []
    for k in set(seq) | set(gseq):
        la = [json.dumps((e["probe"], e["args"])) for e in seq[k]]
        lb = [json.dumps((e["probe"], e["args"])) for e in gseq[k]]
        matched = False
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
            if op == "equal":
                matched = True
                for i, j in zip(range(i1, i2), range(j1, j2)):
                    tmap[(k[0], seq[k][i]["ts"])] = gseq[k][j]["ts"]
            elif matched or (i2 > i1 and j2 > j1):
                bad.append((k, op, la[i1:i2][:2], lb[j1:j2][:2]))
    if iso:
        # one sequence per process: lines of two threads logged within a few
        # us may come in either order; a handful of such swaps is the cost
        figure(f"{name}: log events not in the live order (threads unknown): {len(bad)}")
        verdict(len(bad) <= max(2, len(lev) // 50) and len(tmap) >= len(lev) * 9 // 10,
                p(f"log: the same events per process as the live capture ({len(tmap)} of "
                  f"{len(lev)}), same arguments"), bad[:3])
    else:
        verdict(not bad and tmap, p(f"log: the same events per thread as the live capture "
                                    f"({len(tmap)} of {len(lev)}), same arguments"), bad[:3])
    # How long after the probe QEMU wrote its log line (relative to the
    # fastest line): the uprobe, and any preemption right after the probe.
    off = min(v - k[1] for k, v in tmap.items()) if tmap else 0
    after = {k: v - k[1] - off for k, v in tmap.items()}
    delays = sorted(after.values()) or [0]
    figure(f"{name}: log line after its probe: median {delays[len(delays) // 2] / 1e3:.1f} us, "
           f"max {delays[-1] / 1e3:.1f} us")

    def stall(e):
        """ms between a live probe and QEMU's next instruction, from the log"""
        return after.get((e["pid"], e["ts"]), 0) / 1e6 if e else 0.0

    def end_low(e):
        """ns of the last act of QEMU's migration thread known to come before
        it read its end clock, the src-downtime-end probe e coming after that
        read: QEMU's end time lies between the two. From 8.2
        to 10.2 no event of the test's list fires between the read and the
        probe, so the thread's previous log line (its TID; in a 10.1+ log,
        which names no thread, the live events of its TID and
        migration_return_path_end_after, which that thread alone logs) bounds
        it. Microseconds, unless the thread was held up just there (a
        preemption, or the uprobe's trap)."""
        if e is None or (e["pid"], e["ts"]) not in tmap:
            return e and e["ts"]
        tid, end = live_tid[(e["pid"], e["ts"])], tmap[(e["pid"], e["ts"])]
        low = [v for k, v in tmap.items() if v < end and live_tid.get(k) == tid and k[0] == e["pid"]]
        low += [ts for ts, t, text in log_lines(f"{d}/{name}.src.log") if ts < end and
                (t == tid if t is not None else text.split(" ")[0] == "migration_return_path_end_after")]
        return max(low) - off if low else e["ts"]

    # --- live against QMP query-migrate ---
    verdict(q.get("status") == expect, p(f"QMP: source {expect}"), q.get("status"))
    verdict(src["role"] == "source" and dst["role"] == "destination", p("live: roles"),
            f"{src['role']} / {dst['role']}")
    verdict(src["result"] == q.get("status"), p("live: source result = QMP status"),
            f"{src['result']} != {q.get('status')}")
    verdict(not src["incomplete"] and not dst["incomplete"] and live["lost_records"] == 0,
            p("live: nothing lost or incomplete"), f"lost {live['lost_records']}")
    syncs = sum(1 for e in lev if e["pid"] == spid and e["probe"] == "migration_bitmap_sync_end")
    dsc = q.get("ram", {}).get("dirty-sync-count")

    if expect == "completed":
        verdict(syncs == dsc, p("one migration_bitmap_sync_end probe per QMP dirty-sync-count"),
                f"{syncs} probes, dirty-sync-count {dsc}")
        # downtime: QEMU reads its clock just after the src-downtime-start
        # probe and just before src-downtime-end: the spans differ by the
        # time QEMU spent between the start probe and its clock read (the
        # log measures it; µs unless QEMU was preempted there); its end
        # clock read lies in the window before src-downtime-end (end_low)
        dt, qdt = src["downtime_ms"], q.get("downtime")
        u = stall(first(lev, spid, "vmstate_downtime_checkpoint", "src-downtime-start"))
        dend = first(lev, spid, "vmstate_downtime_checkpoint", "src-downtime-end")
        low = end_low(dend)
        w = span(low, dend and dend["ts"]) or 0.0
        figure(f"{name}: downtime migscope {dt} ms, QMP {qdt} ms, stall after the start probe {u:.3f} ms, "
               f"end window {w:.3f} ms")
        verdict(dt is not None and qdt is not None and dt - u - w - MS_TOL <= qdt <= dt - u + MS_TOL,
                p(f"downtime within 1 ms of QMP ({'after a measured stall of %.3f ms' % u if u > 0.05 else 'no stall'}"
                  f"{', the end read within %.3f ms before its probe' % w if w > 0.05 else ''})"),
                f"{dt} - {u} - [0, {w}] vs {qdt}")
        # total: QEMU's start_time is read just after the "setup" probe, its
        # end_time in the same window; migscope's ends at "completed", which
        # 8.2 sets before that window and 10.0+ after it
        tt, qtt = src["total_ms"], q.get("total-time")
        u = stall(first(lev, spid, "migrate_set_state", "setup"))
        comp = first(lev, spid, "migrate_set_state", "completed")
        lo = span(low, comp and comp["ts"]) or 0.0
        hi = span(comp and comp["ts"], dend and dend["ts"]) or 0.0
        figure(f"{name}: total migscope {tt} ms, QMP {qtt} ms, stall after the setup probe {u:.3f} ms, "
               f"QEMU's end read {-lo:.3f} to {hi:.3f} ms from \"completed\"")
        verdict(tt is not None and qtt is not None and tt - u - lo - TIME_TOL <= qtt <= tt - u + hi + TIME_TOL,
                p(f"total time within {TIME_TOL} ms of QMP"), f"{tt} - {u} + [{-lo}, {hi}] vs {qtt}")
        # setup: QEMU's setup-time runs from the migration thread's first
        # instruction to just after the "active" probe; migscope's from the
        # "setup" state (the migrate command, before the connection and the
        # thread exist) to "active". The thread's start lies between the
        # last thing the main thread does before creating it (with a return
        # path, open_return_path_on_source; else the "setup" probe) and its
        # own first log line, savevm_state_header, which comes after it
        # took the BQL: a wait for the main thread there (measured up to
        # 3.6 ms on a loaded host) is inside QEMU's setup-time
        act = src["milestones"].get("active")
        st = act / 1e6 if act is not None else None
        qst = q.get("setup-time")
        setup_ev = first(lev, spid, "migrate_set_state", "setup")
        hdr = [ts for ts, _, t in log_lines(f"{d}/{name}.src.log") if t.startswith("savevm_state_header")]
        orp = first(lev, spid, "open_return_path_on_source")
        pre = (hdr[0] - off - setup_ev["ts"]) / 1e6 if hdr and setup_ev else None
        pre_lo = span(setup_ev and setup_ev["ts"], orp and orp["ts"]) or 0.0
        u = stall(first(lev, spid, "migrate_set_state", "active"))
        figure(f"{name}: setup migscope {st} ms, QMP setup-time {qst} ms, QEMU's migration thread "
               f"started {pre_lo:.3f} to {pre} ms after \"setup\", stall after the active probe {u:.3f} ms")
        verdict(st is not None and pre is not None and qst is not None and
                st - pre + u - TIME_TOL <= qst <= st - pre_lo + u + TIME_TOL,
                p(f"setup: migscope's active - setup, less the time before QEMU's migration thread, "
                  f"within {TIME_TOL} ms of QMP setup-time"), f"{st} - [{pre_lo}, {pre}] + {u} vs {qst}")
        # passes: every sync is one migration_bitmap_sync_end and one
        # dirty-sync-count; the stop phase's final sync is not a precopy pass
        figure(f"{name}: precopy passes {src['precopy_passes']}, dirty-sync-count {dsc}")
        verdict(src["precopy_passes"] is not None and src["precopy_passes"] + 1 == dsc,
                p("precopy passes = dirty-sync-count - 1 (the stop phase's final sync)"),
                f"{src['precopy_passes']} vs {dsc}")
        verdict((src["precopy_passes"] or 0) >= min_passes,
                p(f"precopy iterated at least {min_passes} times"), src["precopy_passes"])
        verdict(dst["result"] == "completed", p("live: destination completed"), dst["result"])
        ds = (qmp.get("dst_status") or {}).get("status")
        verdict(ds == "running", p("the guest runs on the destination (QMP query-status)"), ds)
        # guest-visible downtime: the checkpoints' own span on one clock
        pairs = [x for x in live["pairs"] if live["migrations"][x["source"]]["pid"] == spid and
                 live["migrations"][x["destination"]]["pid"] == dpid]
        stop = first(lev, spid, "vmstate_downtime_checkpoint", "src-vm-stopped")
        run = first(lev, dpid, "vmstate_downtime_checkpoint", "dst-precopy-bh-vm-started")
        if verdict(len(pairs) == 1 and stop and run, p("live: source and destination paired")):
            g = pairs[0]["guest_downtime_ms"]
            figure(f"{name}: guest-visible downtime {g} ms, QEMU downtime {dt} ms")
            verdict(close(g, span(stop["ts"], run["ts"])),
                    p("guest downtime = dst-precopy-bh-vm-started - src-vm-stopped"),
                    f"{g} vs {span(stop['ts'], run['ts'])}")
    else:
        # a failed or cancelled migration's query-migrate has no ram figures:
        # the last poll while active had them (a sync may have come after it)
        dsc = (qmp.get("last_active") or {}).get("ram", {}).get("dirty-sync-count")
        figure(f"{name}: precopy passes {src['precopy_passes']}, dirty-sync-count of the last "
               f"active poll {dsc}")
        verdict(dsc is not None and src["precopy_passes"] == syncs and dsc <= syncs <= dsc + 1,
                p("precopy passes = migration_bitmap_sync_end probes = dirty-sync-count "
                  "(no stop phase)"), f"{src['precopy_passes']}, {syncs} vs {dsc}")
        verdict(src["downtime_ms"] is None and q.get("downtime") is None,
                p("no downtime on either side"), f"{src['downtime_ms']} / {q.get('downtime')}")
        if expect == "failed":
            verdict(dst["result"] == "aborted", p("live: the killed destination ends as aborted"),
                    dst["result"])
            if qemu_before("9.1"):
                # 8.x traces only a connection's error (migrate_fd_error), not
                # a stream's: null, not invented
                verdict(src["error"] is None, p("live: no error text (no probe on this path "
                                                "before 9.1)"), src["error"])
            else:
                verdict(src["error"] is not None, p("live: the source's error text"),
                        src["error"])
        else:
            verdict(src["milestones"].get("cancel") is not None and
                    src["milestones"].get("cancelling") is not None,
                    p("live: cancel and cancelling milestones"), src["milestones"])
            verdict(dst["result"] in ("failed", "aborted"),
                    p("live: the destination failed (its stream was cut)"), dst["result"])

    # --- the switchover-ack handshake, in order, on one clock ---
    sa = src["switchover_ack"]
    if ack and expect == "completed":
        order = [("dst ack-needed", first(lev, dpid, "loadvm_state_switchover_ack_needed")),
                 ("dst ack sent", first(lev, dpid, "migrate_send_rp_message", 7)),
                 ("src ack received", first(lev, spid, "source_return_path_thread_switchover_acked")),
                 ("src downtime start", first(lev, spid, "vmstate_downtime_checkpoint", "src-downtime-start"))]
        ts = [e["ts"] if e else None for _, e in order]
        figure(f"{name}: ack handshake " + ", ".join(
            f"{n} +{(t - ts[0]) / 1e3:.1f} us" if t and ts[0] else f"{n} -"
            for (n, _), t in zip(order, ts)))
        verdict(all(ts) and ts == sorted(ts),
                p("ACK needed (dst) < ACK sent (dst) < ACK received (src) < downtime start (src)"),
                ts)
        verdict(sa["enabled"] is True and sa["acked"] is True and
                dst["switchover_ack"]["pending_initial"] == 0,
                p("live: switchover-ack on, acked, no device to wait for"), sa)
    elif not ack:
        verdict(sa["enabled"] in (False, None) and sa["ack_latency_ms"] is None and
                first(lev, spid, "source_return_path_thread_switchover_acked") is None,
                p("switchover-ack off: no ACK"), sa)

    # --- the QEMU log replay against the live capture ---
    if gsrc is None or gdst is None:
        return
    nextra = sum(1 for f in ("src", "dst") for _, _, t in log_lines(f"{d}/{name}.{f}.log")
                 if t.split(" ")[0] in EXTRA_EVENTS)
    verdict(log.get("input_skipped_lines") == nextra,
            p(f"log: the {nextra} lines of events outside the catalog skipped, nothing else"),
            log.get("input_skipped_lines"))
    verdict(gsrc["vm"] == f"mstest-{name}" and gsrc["uuid"] is None,
            p("log: the VM named by --vm, no UUID"), (gsrc["vm"], gsrc["uuid"]))

    def mapped(m, rel):
        return None if rel is None else tmap.get((m["pid"], m["start_ns"] + rel))

    spans = {"downtime_ms": ("src-downtime-start", "src-downtime-end"),
             "precopy_ms": ("active", "src-downtime-start")}
    ack_spans = {"ack_latency_ms": ("active", "ack-received"), "ack_sent_ms": ("active", "ack-sent")}
    worst = 0
    for role, a, b in (("source", src, gsrc), ("destination", dst, gdst)):
        bad = []
        killed = role == "destination" and expect == "failed"
        for k in ("role", "result", "precopy_passes", "phase", "state", "error"):
            if a[k] != b[k] and not (killed and k in ("result", "phase")):
                bad.append((k, a[k], b[k]))
        if killed:
            verdict(b["result"] == "active",
                    p("log: the killed destination stays active (a log has no process exit)"),
                    b["result"])
        # milestones: relative to the start, each the log time of the event
        # the live capture took it from (exact, in ns of whole µs)
        start = mapped(a, 0)
        for k in set(a["milestones"]) | set(b["milestones"]):
            if killed and k == "aborted":
                continue
            rel = a["milestones"].get(k)
            worst = max(worst, abs((rel or 0) - (b["milestones"].get(k) or 0)))
            want = mapped(a, rel)
            want = None if want is None or start is None else want - start
            if (rel is None) != (want is None) or want != b["milestones"].get(k):
                bad.append((k, rel, b["milestones"].get(k), want))
        figs = dict(spans, total_ms=("setup", "end"))
        for k, (f, t) in figs.items():
            if killed and k == "total_ms":
                continue
            x = mapped(a, a["milestones"].get(f))
            y = tmap.get((a["pid"], a["end_ns"])) if t == "end" else mapped(a, a["milestones"].get(t))
            if not close(span(x, y) if a[k] is not None else None, b[k]):
                bad.append((k, a[k], b[k], span(x, y)))
        for k, (f, t) in ack_spans.items():
            x, y = mapped(a, a["milestones"].get(f)), mapped(a, a["milestones"].get(t))
            if not close(span(x, y) if a["switchover_ack"][k] is not None else None, b["switchover_ack"][k]):
                bad.append(("switchover_ack." + k, a["switchover_ack"][k], b["switchover_ack"][k]))
        for k in ("enabled", "acked", "pending_initial", "pending"):
            if a["switchover_ack"][k] != b["switchover_ack"][k]:
                bad.append(("switchover_ack." + k, a["switchover_ack"][k], b["switchover_ack"][k]))
        if (a["switchover_ack"]["ack_wait_ms"] is None) != (b["switchover_ack"]["ack_wait_ms"] is None):
            bad.append(("ack_wait_ms", a["switchover_ack"]["ack_wait_ms"], b["switchover_ack"]["ack_wait_ms"]))
        if len(a["switchover_ack"]["approvals"]) != len(b["switchover_ack"]["approvals"]):
            bad.append(("approvals", a["switchover_ack"]["approvals"], b["switchover_ack"]["approvals"]))
        for k in ("devices", "transitions", "sections"):
            if a[k] != b[k]:
                bad.append((k, a[k][:2], b[k][:2]))
        ca, cb = a["convergence"], b["convergence"]
        if (ca is None) != (cb is None) or (ca and any(
                ca[k] != cb[k] for k in ("iterations", "pending_bytes", "threshold_bytes",
                                         "bandwidth_bytes_per_ms", "transferred_bytes"))):
            bad.append(("convergence", ca and ca.get("iterations"), cb and cb.get("iterations")))
        verdict(not bad, p(f"log = live, {role}: result, figures and milestones (at the log's "
                           "timestamps of the same events), devices, sections, convergence"), bad[:6])

    lp = [x for x in live["pairs"] if live["migrations"][x["source"]]["pid"] == spid]
    gp = [x for x in log["pairs"] if log["migrations"][x["source"]]["pid"] == spid]
    if expect == "completed":
        stop = first(lev, spid, "vmstate_downtime_checkpoint", "src-vm-stopped")
        run = first(lev, dpid, "vmstate_downtime_checkpoint", "dst-precopy-bh-vm-started")
        want = span(tmap.get((spid, stop["ts"])), tmap.get((dpid, run["ts"]))) if stop and run else None
        # the two logs are two clocks to migscope (on one host here, so want,
        # from their own stamps, is the truth): the aligned figure lies within
        # the pair's bound of it, and the bound is tight on loopback
        ok = len(lp) == 1 and len(gp) == 1 and within_bound(want, gp[0]) and \
            (lp[0]["ack_transit_ms"] is None) == (gp[0]["ack_transit_ms"] is None) and \
            all((lp[0]["downtime_breakdown"][k] is None) == (gp[0]["downtime_breakdown"][k] is None)
                for k in lp[0]["downtime_breakdown"])
        verdict(ok, p("log = live: paired by --vm, guest downtime, ACK transit, breakdown"),
                (want, gp[0] if gp else None))
        if gp:
            figure(f"{name}: the two logs aligned by {gp[0]['clock_basis']}: destination offset "
                   f"{gp[0]['clock_offset_ms']} ms, error {gp[0]['clock_error_ms']} ms")
    figure(f"{name}: log vs live milestones, largest raw difference {worst / 1e3:.1f} us")


def within_bound(want, pair):
    """A cross-side figure of two logs: within clock_error_ms of the one-clock
    value (which must be <= MAX_CLOCK_ERROR), or equal to it when nothing bounded the
    offset (no return path: the realtime estimate, exact on one host)."""
    got, err = pair["guest_downtime_ms"], pair["clock_error_ms"]
    if err is None:
        return pair["clock_basis"] == "realtime" and close(want, got)
    return want is not None and got is not None and err <= MAX_CLOCK_ERROR and \
        abs(got - want) <= err + 0.0015


def log_only(name, d):
    """Debian's own QEMU 7.2 (log backend only, no downtime checkpoints, no
    switchover-ack): the log replay alone against QMP."""
    p = lambda s: f"{name}: {s}"  # noqa: E731
    qmp = json.load(open(f"{d}/{name}.qmp.json"))
    log = json.load(open(f"{d}/{name}.log.json"))
    q = qmp["src"]
    figure(f"{name}: QMP status {q.get('status')} total-time {q.get('total-time')} setup-time "
           f"{q.get('setup-time')} downtime {q.get('downtime')} dirty-sync-count "
           f"{q.get('ram', {}).get('dirty-sync-count')}")
    migs = log["migrations"]
    src = [m for m in migs if m["role"] == "source"]
    dst = [m for m in migs if m["role"] == "destination"]
    if not verdict(len(src) == 1 and len(dst) == 1, p("log: a source and a destination"),
                   [(m["pid"], m["role"]) for m in migs]):
        return
    src, dst = src[0], dst[0]
    verdict(src["result"] == dst["result"] == q.get("status") == "completed",
            p("log: both completed, as QMP says"), (src["result"], dst["result"], q.get("status")))
    verdict(len(log["pairs"]) == 1, p("log: paired by --vm"), log["pairs"])
    # no USDT probe here: the log's timestamps are QEMU's own instants
    tt = src["total_ms"]
    figure(f"{name}: total log {tt} ms, QMP {q.get('total-time')} ms")
    verdict(tt is not None and abs(tt - q.get("total-time")) <= TIME_TOL,
            p(f"log: total time within {TIME_TOL} ms of QMP"), (tt, q.get("total-time")))
    lines = list(log_lines(f"{d}/{name}.src.log"))
    setup = [ts for ts, _, t in lines if t == "migrate_set_state new state setup"]
    hdr = [ts for ts, _, t in lines if t.startswith("savevm_state_header")]
    act = src["milestones"].get("active")
    pre = span(setup[0], hdr[0]) if setup and hdr else None
    figure(f"{name}: setup log {act / 1e6 if act else None} ms, QMP setup-time "
           f"{q.get('setup-time')} ms, before the migration thread {pre} ms")
    verdict(act is not None and pre is not None and
            abs(act / 1e6 - pre - q.get("setup-time")) <= TIME_TOL,
            p(f"log: setup, less the time before the migration thread, within {TIME_TOL} ms "
              f"of QMP setup-time"), (act, pre, q.get("setup-time")))
    # before 8.2 there is no src-downtime-start: the stop phase's final sync
    # cannot be told from a pass, and every sync counts
    dsc = q.get("ram", {}).get("dirty-sync-count")
    figure(f"{name}: precopy passes {src['precopy_passes']}, dirty-sync-count {dsc}")
    verdict(src["precopy_passes"] == dsc,
            p("log: precopy passes = dirty-sync-count (no downtime checkpoints before 8.2)"),
            (src["precopy_passes"], dsc))
    verdict(src["downtime_ms"] is None and q.get("downtime") is not None,
            p("log: downtime absent (null), not invented, where QEMU has no checkpoint"),
            src["downtime_ms"])
    # 7.2 has no switchover-ack capability: both sides say it is off, and no
    # ACK figure is made up
    sa, da = src["switchover_ack"], dst["switchover_ack"]
    verdict(sa["enabled"] is False and da["enabled"] is False and sa["ack_latency_ms"] is None
            and sa["ack_wait_ms"] is None and da["ack_sent_ms"] is None
            and not sa["approvals"] and not da["approvals"],
            p("log: switchover-ack off on both sides (7.2 has none), no ACK figure"), (sa, da))


if __name__ == "__main__":
    if sys.argv[1] == "--log-only":
        log_only(sys.argv[2], sys.argv[3])
    else:
        main()
