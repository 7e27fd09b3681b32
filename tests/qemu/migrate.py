#!/usr/bin/env python3
"""Drive one live migration between two QEMUs over QMP and write what QEMU
itself reported (query-migrate on both sides, run states) as JSON.

usage: migrate.py --src SOCK --dst SOCK --port N [--ack] [--max-bandwidth B]
                  [--downtime-limit MS] [--cancel-after S | --kill-dst PID
                  --kill-after S] [--timeout S] -o OUT.json

--ack turns on the return-path and switchover-ack capabilities on both sides.
--cancel-after / --kill-after act that many seconds after the source went
active (migrate_cancel, or SIGKILL to the destination). Exit status 0 when
the migration reached a terminal state, 1 otherwise.
"""
import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import QMP, QMPError  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ack", action="store_true")
    ap.add_argument("--max-bandwidth", type=int)
    ap.add_argument("--downtime-limit", type=int)
    ap.add_argument("--cancel-after", type=float)
    ap.add_argument("--kill-dst", type=int)
    ap.add_argument("--kill-after", type=float)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    src = QMP(a.src, wait=10)
    dst = QMP(a.dst, wait=10)
    if a.ack:  # (QEMU before 8.1 has no switchover-ack: leave them alone)
        caps = [{"capability": "return-path", "state": True},
                {"capability": "switchover-ack", "state": True}]
        for q in (src, dst):
            q.cmd("migrate-set-capabilities", capabilities=caps)
    uri = f"tcp:127.0.0.1:{a.port}"
    dst.cmd("migrate-incoming", uri=uri)
    params = {}
    if a.max_bandwidth:
        params["max-bandwidth"] = a.max_bandwidth
    if a.downtime_limit:
        params["downtime-limit"] = a.downtime_limit
    if params:
        src.cmd("migrate-set-parameters", **params)
    out = {"uri": uri, "ack": a.ack, "params": params, "action": None,
           "kvm": src.cmd("query-kvm"), "wall_start": time.time()}
    src.cmd("migrate", uri=uri)
    active_at = None
    polls = 0
    deadline = time.monotonic() + a.timeout
    while True:
        info = src.cmd("query-migrate")
        polls += 1
        status = info.get("status")
        if status in TERMINAL:
            break
        if status == "active":
            out["last_active"] = info
        now = time.monotonic()
        if status == "active" and active_at is None:
            active_at = now
        if active_at is not None and out["action"] is None:
            if a.cancel_after is not None and now - active_at >= a.cancel_after:
                src.cmd("migrate_cancel")
                out["action"] = {"migrate_cancel": time.time()}
            elif a.kill_dst and a.kill_after is not None and now - active_at >= a.kill_after:
                os.kill(a.kill_dst, signal.SIGKILL)
                out["action"] = {"kill_dst": time.time()}
        if now > deadline:
            out["timeout"] = True
            src.cmd("migrate_cancel")
            deadline = now + 10
        time.sleep(0.01)
    # QEMU sets "completed" before it computes total-time and downtime
    # (migration_calculate_complete() runs after the state change): a query
    # in between reads 0 for both. Ask again until they are there.
    requeries = 0
    while status == "completed" and not info.get("total-time") and requeries < 200:
        time.sleep(0.005)
        info = src.cmd("query-migrate")
        requeries += 1
    out["completed_requeries"] = requeries
    out["wall_end"] = time.time()
    out["polls"] = polls
    out["src"] = info
    out["src_status"] = src.cmd("query-status")
    out["dst"] = out["dst_status"] = None
    if out["action"] is None or "kill_dst" not in out["action"]:
        try:
            # the destination runs the guest once it has loaded it
            for _ in range(500):
                out["dst_status"] = dst.cmd("query-status")
                out["dst"] = dst.cmd("query-migrate")
                if status != "completed" or out["dst_status"].get("status") == "running":
                    break
                time.sleep(0.01)
        except (OSError, QMPError) as e:
            out["dst_error"] = str(e)
    with open(a.output, "w") as f:
        json.dump(out, f, indent=1)
    return 0 if status in TERMINAL and not out.get("timeout") else 1


if __name__ == "__main__":
    sys.exit(main())
