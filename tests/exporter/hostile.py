#!/usr/bin/env python3
"""Hostile clients against `migscope serve` on loopback, bounded in count and time.

usage: hostile.py PID PLAIN_PORT TLS_PORT USER:PASSWORD

While a prober scrapes both servers every 100 ms from 127.0.0.2 (another
address than the attackers', as a Prometheus server is another host), the
attackers, from 127.0.0.3 and up, in turn: hold 1,000 connections at once,
send a byte a second on 16 connections, send 1 MiB headers, garbage and 200
pipelined requests, and start TLS handshakes that stop after the ClientHello.
Prints one "# ..." line per phase and the figures, and one "ok"/"not ok" line
per check. Exit 0 when every check passed.
"""
import base64
import os
import resource
import socket
import ssl
import sys
import threading
import time

pid, plain, tls = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
auth = base64.b64encode(sys.argv[4].encode()).decode()
HOST = "127.0.0.1"
failed = []
# 1,000 sockets at once: above the usual soft limit of 1024 files
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, _hard), _hard))


def check(ok, name, detail=""):
    print(("ok - " if ok else "not ok - ") + "hostile: " + name + ("" if ok else ": " + detail))
    if not ok:
        failed.append(name)


def proc(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def nfds():
    return len(os.listdir(f"/proc/{pid}/fd"))


def conn(src, port, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((HOST, port))
    return s


def read_answer(s):
    """The whole answer to one request that asked for the connection to close."""
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            return data
        data += b


# ------------------------------------------------------------------ the prober
REQ_PLAIN = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
REQ_TLS = ("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
           "Connection: close\r\n\r\n" % auth).encode()
tls_ctx = ssl.create_default_context()
tls_ctx.check_hostname = False
tls_ctx.verify_mode = ssl.CERT_NONE

lat = {"plain": [], "tls": []}
probe_fail = {"plain": 0, "tls": 0}
stop = threading.Event()


def probe_once(kind):
    t0 = time.monotonic()
    try:
        s = conn("127.0.0.2", plain if kind == "plain" else tls, timeout=5)
        if kind == "tls":
            s = tls_ctx.wrap_socket(s)
        s.sendall(REQ_PLAIN if kind == "plain" else REQ_TLS)
        ans = read_answer(s)
        s.close()
        ok = ans.startswith(b"HTTP/1.1 200") and b"migscope_build_info" in ans
    except OSError:
        ok = False
    if ok:
        lat[kind].append(time.monotonic() - t0)
    else:
        probe_fail[kind] += 1


def prober():
    while not stop.is_set():
        probe_once("plain")
        probe_once("tls")
        stop.wait(0.1)


# ------------------------------------------------------------------ attacks
def held_connections(n, src, port):
    socks, refused = [], 0
    for _ in range(n):
        try:
            socks.append(conn(src, port, timeout=2))
        except OSError:
            refused += 1
    return socks, refused


def phase_thousand():
    socks, refused = held_connections(1000, "127.0.0.3", plain)
    for s in socks:
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass
    time.sleep(3)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(1)  # b"": closed by the server; data: an answer
        except BlockingIOError:
            alive += 1  # still open, nothing sent back
        except OSError:
            pass
        s.close()
    print(f"# 1000 connections at once: {len(socks)} connected, {refused} refused, "
          f"{alive} still held by the server after 3 s")
    return alive


def phase_slow(seconds=20):
    socks, _ = held_connections(16, "127.0.0.4", plain)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 64
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < seconds:
        for s in socks:
            try:
                s.send(req[i % len(req):i % len(req) + 1])
            except OSError:
                pass
        i += 1
        time.sleep(1)
    for s in socks:
        s.close()
    print(f"# 16 slow clients, a byte a second each, for {seconds} s")


def phase_big_headers(n=20):
    codes = []
    big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (1 << 20) + b"\r\n\r\n"

    def one():
        try:
            s = conn("127.0.0.5", plain, timeout=10)
            try:
                s.sendall(big)
            except OSError:
                pass
            codes.append(s.recv(12)[9:12].decode(errors="replace") or "closed")
            s.close()
        except OSError as e:
            codes.append(type(e).__name__)

    ts = [threading.Thread(target=one) for _ in range(n)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print(f"# {n} requests with a 1 MiB header at once: {sorted(set(codes))}")
    return codes


def phase_garbage_pipelined():
    for junk in (os.urandom(4096), b"\r\n" * 5000, b"GET " + b"/" * 8000 + b"\r\n\r\n",
                 b"\x00" * 10000):
        try:
            s = conn("127.0.0.6", plain, timeout=3)
            s.sendall(junk)
            s.recv(64)
            s.close()
        except OSError:
            pass
    s = conn("127.0.0.6", plain, timeout=10)
    s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n" * 199 +
              b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ans = read_answer(s)
    s.close()
    n = ans.count(b"HTTP/1.1 200")
    print(f"# garbage on 4 connections; 200 pipelined requests on one: {n} answered")
    return n


def phase_half_tls(n=50, hold=20):
    socks = []
    for _ in range(n):
        try:
            s = conn("127.0.0.7", tls, timeout=2)
            inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = tls_ctx.wrap_bio(inc, outg)
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s.sendall(outg.read())  # the ClientHello, then nothing
            socks.append(s)
        except OSError:
            pass
    time.sleep(hold)
    for s in socks:
        s.close()
    print(f"# {len(socks)} TLS handshakes stopped after the ClientHello, held {hold} s")


# ------------------------------------------------------------------ run
base_rss, base_fds, base_thr = proc("VmRSS"), nfds(), proc("Threads")
rss_max = [base_rss]


def sampler():
    while not stop.is_set():
        try:
            rss_max[0] = max(rss_max[0], proc("VmRSS"))
        except OSError:
            pass
        stop.wait(0.2)


bg = [threading.Thread(target=prober), threading.Thread(target=sampler)]
[t.start() for t in bg]
time.sleep(1)
t_start = time.monotonic()
held = phase_thousand()
phase_slow()
codes = phase_big_headers()
pipelined = phase_garbage_pipelined()
phase_half_tls()
attack_s = time.monotonic() - t_start
stop.set()
[t.join() for t in bg]

# recovery: the attackers are gone; idle timeouts (15 s) may still hold some
deadline = time.monotonic() + 20
while time.monotonic() < deadline and (proc("Threads") > base_thr + 2 or nfds() > base_fds + 2):
    time.sleep(0.5)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


for kind in ("plain", "tls"):
    v = lat[kind]
    print(f"# {kind} scrapes during {attack_s:.0f} s of attacks: {len(v)} answered, "
          f"{probe_fail[kind]} failed; p50 {pct(v, .5) * 1000:.1f} ms, "
          f"p99 {pct(v, .99) * 1000:.1f} ms, max {max(v) * 1000 if v else 0:.1f} ms")
    check(len(v) > 50 and pct(v, .99) < 1.0, f"{kind} scrapes answer within 1 s at p99 throughout",
          f"p99 {pct(v, .99):.3f} s of {len(v)}")
    check(probe_fail[kind] == 0, f"no {kind} scrape failed", f"{probe_fail[kind]} failed")
print(f"# serve RSS {base_rss} kB before, {rss_max[0]} kB at most, {proc('VmRSS')} kB after; "
      f"fds {base_fds} -> {nfds()}, threads {base_thr} -> {proc('Threads')}")
check(held <= 16, "1000 connections from one address: at most 16 held (the per-address limit)",
      f"{held} held")
check(all(c == "431" for c in codes), "1 MiB headers: 431 each", f"{sorted(set(codes))}")
check(pipelined == 200, "200 pipelined requests: 200 answers", f"{pipelined}")
check(rss_max[0] - base_rss < 64 * 1024, "memory stays bounded (RSS within 64 MiB of the start)",
      f"{base_rss} -> {rss_max[0]} kB")
check(proc("Threads") <= base_thr + 2 and nfds() <= base_fds + 2,
      "recovered: threads and fds back to their count before the attacks",
      f"threads {base_thr} -> {proc('Threads')}, fds {base_fds} -> {nfds()}")
probe_once("plain")
probe_once("tls")
check(probe_fail["plain"] == 0 and probe_fail["tls"] == 0, "a scrape after it all answers")
sys.exit(1 if failed else 0)
