#!/usr/bin/env python3
"""check_pair.py TRUTH.json GOT.json LABEL [--basis B] [--by vm|messages] [--offset NS]
[--max-error MS]: the pair of GOT (a replay of two hosts' files) against the pair
of TRUTH (the one-host replay): every cross-side figure within clock_error_ms of
the truth, the applied offset within it of -(the shift), the error no wider than
--max-error. Prints ok/not ok lines as tests/lib.sh does."""
import json
import os
import sys

res = os.environ.get("MS_RESULTS", "/dev/null")


def verdict(ok, name, detail=""):
    name = os.environ.get("T_LABEL", "") + name
    print(("ok - " if ok else "not ok - ") + name + ("" if ok or not detail else f": {detail}"))
    with open(res, "a") as f:
        f.write("ok\n" if ok else "fail\n")


def main():
    truth, got, label = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
    args = dict(zip(sys.argv[4::2], sys.argv[5::2]))
    if not verdict(len(got["pairs"]) == 1, f"{label}: the sides pair", got["pairs"]) and False:
        return
    if len(got["pairs"]) != 1 or len(truth["pairs"]) != 1:
        return
    t, g = truth["pairs"][0], got["pairs"][0]
    err = g["clock_error_ms"]
    basis = args.get("--basis", "messages")
    verdict(g["clock_basis"] == basis, f"{label}: aligned by {basis}", g["clock_basis"])
    if "--by" in args:
        verdict(g["paired_by"] == args["--by"], f"{label}: paired by {args['--by']}",
                g["paired_by"])
    if err is None:
        verdict(False, f"{label}: the offset is bounded", g.get("clock_note"))
        return
    verdict(err <= float(args.get("--max-error", "1.0")),
            f"{label}: clock_error_ms {err} <= {args.get('--max-error', '1.0')}")
    if "--offset" in args:
        want = int(args["--offset"]) / 1e6
        verdict(abs(g["clock_offset_ms"] - want) <= err + 1e-6,
                f"{label}: offset {g['clock_offset_ms']} ms within {err} of the true {want}")
    bad = []
    for k, a, b in (("guest_downtime_ms", t["guest_downtime_ms"], g["guest_downtime_ms"]),
                    ("ack_transit_ms", t["ack_transit_ms"], g["ack_transit_ms"]),
                    ("transfer_load_ms", t["downtime_breakdown"]["transfer_load_ms"],
                     g["downtime_breakdown"]["transfer_load_ms"])):
        if a is None or b is None or abs(a - b) > err + 1e-6:
            bad.append((k, a, b))
    verdict(not bad, f"{label}: guest downtime, ACK transit, transfer+load within "
            f"+-{err} ms of the one-host figures", bad)
    print(f"# figure {label}: offset {g['clock_offset_ms']} ms +- {err} ms; guest downtime "
          f"{g['guest_downtime_ms']} (one host {t['guest_downtime_ms']})")


main()
