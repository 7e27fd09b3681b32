#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Write QEMU logs again, line by line, into a followed directory, with the
churn a host's logs see: a rotation (renamed away, a new file at the path), a
truncation, a delete and recreate, lines split across two writes, a file that
appears late.

  logchurn.py OUTDIR SRC.log [DST.log ...] [--seconds S]

Each input INPUT.log is written to OUTDIR/<basename>, over about S seconds
(default 3) in all, the inputs' lines interleaved in their time order (the
order QEMU wrote them in). The events of file k: at a third of its lines,
file 0 is rotated (renamed to NAME.1, a new NAME), file 1 truncated to 0;
at two thirds, file 0 is deleted and created again; every 5th line of every
file is written in two parts, 20 ms apart; file 1 is created only when its
first line is due. Prints one line per action, and the count of lines that
are catalog trace lines written ("lines N").
"""
import argparse
import os
import re
import sys
import time

STAMP = re.compile(r"^(?:\d+@)?(\d+(?:\.\d+)?)[:]|^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) ")


def stamp(line, last):
    """A sortable time of the line, else the previous line's."""
    m = STAMP.match(line)
    if not m:
        return last
    if m.group(1):
        return float(m.group(1))
    t = time.strptime(m.group(2).split(".")[0], "%Y-%m-%dT%H:%M:%S")
    frac = m.group(2).split(".")[1][:-1] if "." in m.group(2) else "0"
    return float(time.mktime(t) - time.timezone) + float("0." + frac)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()

    todo = []  # (time, file index, line index, text)
    counts = []
    for k, path in enumerate(a.inputs):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines(keepends=True)
        counts.append(len(lines))
        last = 0.0
        for i, ln in enumerate(lines):
            last = stamp(ln, last)
            todo.append((last, k, i, ln))
    todo.sort(key=lambda t: (t[0], t[1], t[2]))
    names = [os.path.join(a.outdir, os.path.basename(p)) for p in a.inputs]
    fds = [None] * len(names)
    if len(names) > 0:
        fds[0] = open(names[0], "w")
    pause = a.seconds / max(1, len(todo))
    written = 0
    # before each action, a pause: a truncation loses what the follower has
    # not read yet (as logrotate's copytruncate does); the test is of what
    # is read, not of that race
    settle = 0.3
    for _, k, i, ln in todo:
        n = counts[k]
        if fds[k] is None:
            fds[k] = open(names[k], "w")
            print("created late", names[k], flush=True)
        if k == 0 and i == n // 3:
            time.sleep(settle)
            fds[k].close()
            os.rename(names[k], names[k] + ".1")
            fds[k] = open(names[k], "w")
            print("rotated", names[k], "at line", i, flush=True)
        if k == 1 and i == n // 3:
            time.sleep(settle)
            fds[k].flush()
            os.truncate(names[k], 0)
            fds[k].seek(0)
            print("truncated", names[k], "at line", i, flush=True)
        if k == 0 and i == 2 * n // 3:
            time.sleep(settle)
            fds[k].close()
            os.unlink(names[k])
            fds[k] = open(names[k], "w")
            print("deleted and created", names[k], "at line", i, flush=True)
        if i % 5 == 4 and len(ln) > 4:
            half = len(ln) // 2
            fds[k].write(ln[:half])
            fds[k].flush()
            time.sleep(0.02)
            fds[k].write(ln[half:])
        else:
            fds[k].write(ln)
        fds[k].flush()
        if STAMP.match(ln):
            written += 1
        time.sleep(pause)
    for f in fds:
        if f:
            f.close()
    print("lines", written, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
