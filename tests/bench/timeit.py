#!/usr/bin/python3
"""timeit.py [-o FILE] -- CMD ARGS...: run CMD (stdout to FILE, default
/dev/null) and print wall_s, user_s, sys_s, maxrss_kb and status as key=value
lines. The figures are the command's own (its children included)."""
import os
import resource
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    out = os.devnull
    if args[:1] == ["-o"]:
        out, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    with open(out, "wb") as f:
        t0 = time.monotonic()
        st = subprocess.call(args, stdout=f)
        wall = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"wall_s={wall:.6f}\nuser_s={ru.ru_utime:.6f}\nsys_s={ru.ru_stime:.6f}\n"
          f"maxrss_kb={ru.ru_maxrss}\nstatus={st}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
