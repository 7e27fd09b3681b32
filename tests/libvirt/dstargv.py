#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The command line of a plain destination QEMU for a libvirt domain's
running QEMU: the source's own argv (/proc/PID/cmdline, what libvirt ran),
so that machine, memory and devices are the same, with what belongs to
libvirt's process replaced:

  dstargv.py PID QMP SERIAL LOG EVENTS      one argument a line on stdout

- libvirt's monitor (-chardev socket,id=charmonitor,fd=N and its -mon) and the
  descriptors it passed (-add-fd) go; -qmp unix:QMP takes the monitor's place;
- the serial port's file (/dev/fdset/N) becomes SERIAL;
- -S goes (the destination runs the guest once the migration is in);
- -incoming defer, -D LOG -trace events=EVENTS are added.
"""
import sys


def main(argv):
    if len(argv) != 6:
        print(__doc__.strip().splitlines()[5], file=sys.stderr)
        return 2
    pid, qmp, serial, log, events = argv[1:]
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        args = f.read().decode().split("\0")[:-1]
    out = [args[0]]
    i = 1
    while i < len(args):
        a = args[i]
        v = args[i + 1] if i + 1 < len(args) else ""
        if a == "-S":
            i += 1
            continue
        if a == "-add-fd" or (a == "-chardev" and "id=charmonitor" in v) or \
                (a == "-mon" and "chardev=charmonitor" in v):
            i += 2
            continue
        if a == "-chardev" and "id=charserial0" in v:
            v = ",".join(f"path={serial}" if p.startswith("path=") else p
                         for p in v.split(","))
            out += [a, v]
            i += 2
            continue
        out.append(a)
        i += 1
    out += ["-qmp", f"unix:{qmp},server=on,wait=off", "-incoming", "defer",
            "-D", log, "-trace", f"events={events}"]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
