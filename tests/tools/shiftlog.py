#!/usr/bin/env python3
"""shiftlog.py IN OUT --shift-us N: a QEMU log-backend file as another host's
wall clock would have stamped it: every timestamp moved by N microseconds, in
both formats (`TID@SEC.USEC:event` up to QEMU 10.0, `YYYY-MM-DDTHH:MM:SS.uuuuuuZ
event` from 10.1); other lines pass through."""
import datetime
import re
import sys

OLD = re.compile(r"^(\d+)@(\d+)\.(\d{6}):")
ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z ")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    shift = int(sys.argv[sys.argv.index("--shift-us") + 1])
    with open(src, errors="surrogateescape") as f, open(dst, "w", errors="surrogateescape") as o:
        for line in f:
            m = OLD.match(line)
            if m:
                us = int(m.group(2)) * 1000000 + int(m.group(3)) + shift
                line = f"{m.group(1)}@{us // 1000000}.{us % 1000000:06d}:" + line[m.end():]
            else:
                m = ISO.match(line)
                if m:
                    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
                    t += datetime.timedelta(microseconds=int(m.group(2)) + shift)
                    line = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z " + line[m.end():]
            o.write(line)


main()
