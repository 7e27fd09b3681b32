#!/usr/bin/env python3
"""A small QMP client (python3 standard library only) for the real-QEMU tests.

As a module:
    q = QMP("/tmp/src.qmp")            # connects, reads the greeting, negotiates
    q.cmd("migrate-set-capabilities", capabilities=[...])
    q.cmd("query-migrate")             # the "return" value; QMPError on "error"
    q.events                           # asynchronous events received so far

As a command:
    qmp.py SOCKET COMMAND [JSON-ARGUMENTS]   prints the return value as JSON
    qmp.py --wait 10 SOCKET query-status     retries the connection for 10 s
"""
import json
import socket
import sys
import time


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path, timeout=10.0, wait=0.0):
        deadline = time.monotonic() + wait
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.events = []
        self.next_id = 0
        greeting = self._recv()
        if "QMP" not in greeting:
            raise QMPError(f"no QMP greeting from {path}: {greeting}")
        self.cmd("qmp_capabilities")

    def _recv(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise QMPError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, command, /, **args):
        self.next_id += 1
        msg = {"execute": command, "id": self.next_id}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            resp = self._recv()
            if "event" in resp:
                self.events.append(resp)
                continue
            if resp.get("id") != self.next_id:
                continue
            if "error" in resp:
                raise QMPError(f"{command}: {resp['error'].get('desc', resp['error'])}")
            return resp.get("return")

    def close(self):
        self.sock.close()


def main(argv):
    wait = 0.0
    if len(argv) > 2 and argv[1] == "--wait":
        wait = float(argv[2])
        argv = argv[:1] + argv[3:]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    args = json.loads(argv[3]) if len(argv) > 3 else {}
    try:
        q = QMP(argv[1], wait=wait)
        print(json.dumps(q.cmd(argv[2], **args)))
        q.close()
    except (OSError, QMPError) as e:
        print(f"qmp.py: {argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
