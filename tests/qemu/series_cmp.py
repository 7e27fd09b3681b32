#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""series_cmp.py EXPECTED GOT [ERROR_MS]: two expositions (already cut to the
migration families) have the same series with the same values, except the
figures made across the two sides of a pair (guest downtime, the transfer+load
part of its breakdown), which may differ by ERROR_MS: the bound of the clock
alignment of EXPECTED's two inputs when GOT had both sides on one clock (the
two logs followed by one process: a single clock, where the replay of the two
files aligns them by the migration's messages). Their histogram buckets may
then differ where a value moved across a bucket's bound; their counts may not.
Prints the differences; exit 1 if any is not allowed.
"""
import re
import sys

CROSS = (re.compile(r'^migscope_guest_downtime_seconds_'),
         re.compile(r'^migscope_downtime_breakdown_seconds_.*part="transfer_load"'))


def read(path):
    out = {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        key, _, val = line.rpartition(" ")
        out[key] = val
    return out


def main():
    a, b = read(sys.argv[1]), read(sys.argv[2])
    err_s = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.0
    bad = 0
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if va == vb:
            continue
        cross = any(c.search(k) for c in CROSS)
        ok = False
        if cross and va is not None and vb is not None:
            if "_bucket{" in k:
                ok = err_s > 0
            elif k.split("{")[0].endswith("_sum"):
                ok = abs(float(va) - float(vb)) <= err_s + 1e-9
        print(f"{'allowed' if ok else 'differs'}: {k}: {va} vs {vb}"
              + (f" (clock error {err_s * 1000:g} ms)" if cross else ""))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
