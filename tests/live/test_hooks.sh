#!/usr/bin/env bash
# The syscall programs around migrations (--syscall-hooks, live.c struct
# hooks): none attached while nothing migrates, both while migsim migrates,
# none again once it is over; every VFIO ioctl of the migration seen although
# migsim starts it at once after the QMP command; --syscall-hooks always keeps
# the per-syscall tracepoints attached from start to end. The links are read
# from the recorder's own fds (/proc/PID/fdinfo), so other BPF users of the
# host do not count.
. "$(dirname "$0")/../lib.sh"
t_tmpdir

# links PID [anon_inode:bpf-prog]: "NAME NAME..." of the programs PID's BPF
# links run (or, with the second argument, of the programs it holds)
links() {
	$PY - "$1" "${2:-anon_inode:bpf_link}" <<'PYEOF'
import json, os, subprocess, sys
pid, kind = sys.argv[1], sys.argv[2]
names = {p["id"]: p.get("name", "?") for p in
         json.loads(subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True,
                                   text=True).stdout or "[]")}
out = []
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        if os.readlink(f"/proc/{pid}/fd/{fd}") != kind:
            continue
        info = dict(l.split(":", 1) for l in open(f"/proc/{pid}/fdinfo/{fd}") if ":" in l)
    except OSError:
        continue
    out.append(names.get(int(info.get("prog_id", "0").strip()), "?"))
print(" ".join(sorted(out)))
PYEOF
}

# count_sys PID: how many of PID's links run ms_sys_enter or ms_sys_exit
count_sys() { links "$1" | tr ' ' '\n' | grep -c '^ms_sys_e'; }
sys_is() { [ "$(count_sys "$1")" -eq "$2" ]; }

# replay_to NAME: NAME.json (migsim's processes only) and NAME.events
replay_to() {
	"$MIGSCOPE" replay --format json -o "$T/$1.all.json" "$T/$1.trace" &&
		"$MIGSCOPE" replay --format events -o "$T/$1.events" "$T/$1.trace" ||
		{ t_fail "$1: replay failed"; return 1; }
	$PY "$MS_ROOT/tests/live/only_pids.py" "$T/$1.all.json" "$T/$1.log" > "$T/$1.json"
}

rec_start "$T/h.trace" --binary "$MIGSIM" -v || { t_fail "hooks: recorder did not start"; exit 0; }
check "idle: no syscall program attached" sys_is "$REC_PID" 0
progs=$(links "$REC_PID" anon_inode:bpf-prog)
echo "# programs loaded: $progs"
check "idle: the raw syscall programs loaded, the per-syscall ones not" \
	bash -c "grep -qw ms_sys_enter <<< '$progs' && ! grep -qw ms_ioctl_enter <<< '$progs'"
"$MIGSIM" --log "$T/h.log" --approval-delay 600 > "$T/h.out" 2>&1 &
SIM=$!
check "migrating: ms_sys_enter and ms_sys_exit attached" wait_for 10 sys_is "$REC_PID" 2
wait "$SIM"
check "migsim completed" test $? -eq 0
# detached some 6 s (HOOKS_GRACE_NS) after the last migration ended
t0=$(date +%s%N)
check "after it: detached again" wait_for 15 sys_is "$REC_PID" 0
after=$(( ($(date +%s%N) - t0) / 1000000 ))
check "not before the grace period (${after} ms after migsim exited)" test "$after" -ge 4000
rec_stop || t_fail "hooks: recorder failed"
if replay_to h; then
	T_LABEL="hooks: " $PY "$MS_ROOT/tests/live/compare.py" "$T/h.json" "$T/h.events" "$T/h.log"
	check "hooks: no figure nulled for want of syscalls" \
		jq -e '[.migrations[].unavailable | keys[] | select(test("bytes"))] | length == 0' "$T/h.json" > /dev/null
fi

# The source alone (-p): its QMP command is what attaches them, and migsim
# starts the migration at once after it. The window the attach has is from
# that probe to the source's first VFIO ioctl. Every ioctl from the attach
# on must be seen; one issued before it (the attach lost the race: a wakeup
# and two links take 0.4 to 0.8 ms on this VM, the window is 0.5 to 3 ms)
# is counted, and the figures it feeds must then be absent, not short.
"$MIGSIM" --log "$T/p.log" --startup-delay 2000 > "$T/p.out" 2>&1 &
SIM=$!
rec_start "$T/p.trace" -p "$SIM" -v || t_fail "source only: recorder did not start"
check "source only: nothing attached before its migration" sys_is "$REC_PID" 0
wait "$SIM"
check "source only: migsim completed" test $? -eq 0
sleep 0.3
rec_stop || t_fail "source only: recorder failed"
"$MIGSCOPE" replay --format events -o "$T/p.events" "$T/p.trace" &&
	"$MIGSCOPE" replay --format json -o "$T/p.json" "$T/p.trace" || t_fail "source only: replay failed"
$PY - "$T/p.log" "$T/p.events" "$T/p.trace.err" "$SIM" "$T/p.json" > "$T/p.window" <<'PYEOF2'
import json, re, sys
sim = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ev = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
src = int(sys.argv[4])
qmp = min(l["ts"] for l in sim if l.get("probe") == "qmp_enter_migrate" and l["pid"] == src)
att = re.search(r"syscall programs attached in ([0-9.]+) ms, ([0-9.]+) ms after",
                open(sys.argv[3]).read())
on = qmp + float(att.group(2)) * 1e6 if att else float("inf")
issued = sorted(l["ts"] for l in sim if "ioctl" in l and l["pid"] == src and l["ts"] >= qmp)
after = [t for t in issued if t >= on]
seen = {e["ts"] for e in ev if e["kind"] == "ioctl" and e["pid"] == src}
# a syscall record is stamped at the syscall's entry, migsim's just before it
seen_after = [t for t in after if any(0 <= s - t < 200000 for s in seen)]
early = len(issued) - len(after)
m = [x for x in json.load(open(sys.argv[5]))["migrations"] if x["pid"] == src][0]
sums = {}
for l in sim:
    if l.get("pid") == src and l.get("data_io") == "read" and (l.get("ret") or 0) > 0:
        sums[l["device"]] = sums.get(l["device"], 0) + l["ret"]
ok = all(d["bytes_read"] is None or d["bytes_read"] == sums.get(d["name"]) for d in m["devices"])
print(f"{(issued[0] - qmp) / 1e6:.3f} {att.group(1) if att else -1} "
      f"{att.group(2) if att else -1} {len(after)} {len(seen_after)} {early} "
      f"{int(ok and len(m['devices']) > 0)}")
PYEOF2
read -r window attach lag after seen early counts_ok < "$T/p.window"
echo "# qmp_enter_migrate to the source's first VFIO ioctl: $window ms; the attach took $attach ms and ended $lag ms after the probe; $early ioctls came before it"
check "source only: the QMP probe attached them ($lag ms after it)" \
	$PY -c "import sys; sys.exit(not (0 < float('$lag') < 50))"
check "source only: all $after VFIO ioctls from the attach on seen ($seen)" \
	test "$after" -gt 0 -a "$seen" -eq "$after"
check "source only: its data fd byte counts whole or absent, never short" test "$counts_ok" = 1

# --syscall-hooks always: the per-syscall tracepoints, all the time
rec_start "$T/a.trace" --binary "$MIGSIM" --syscall-hooks always || t_fail "always: recorder did not start"
n=$(links "$REC_PID" | tr ' ' '\n' | grep -cE '^ms_(ioctl|read|write|close)_e')
check "always: the seven per-syscall programs attached while idle ($n)" test "$n" -eq 7
check "always: no raw syscall program" sys_is "$REC_PID" 0
"$MIGSIM" --log "$T/a.log" > "$T/a.out" 2>&1
check "always: migsim completed" test $? -eq 0
rec_stop || t_fail "always: recorder failed"
replay_to a &&
	MS_ALL_IOCTLS=1 T_LABEL="always: " $PY "$MS_ROOT/tests/live/compare.py" "$T/a.json" "$T/a.events" "$T/a.log"

# a bad value: one line, usage status, nothing started
"$MIGSCOPE" record -o "$T/bad.trace" --syscall-hooks sometimes 2> "$T/bad.err"
st=$?
check "--syscall-hooks sometimes: exit 2, one line naming the choices" \
	bash -c "[ $st -eq 2 ] && [ \$(wc -l < '$T/bad.err') -eq 1 ] && grep -q 'migration or always' '$T/bad.err'"

# migscope started in the middle of a migration: the first probes it sees
# (made while the programs are off) attach them, for the rest of the
# migration, without flapping; the figures of the I/O it missed are null
# with the reason, not short
"$MIGSIM" --log "$T/m.log" --approval-delay 3000 > "$T/m.out" 2>&1 &
SIM=$!
sleep 1.5
rec_start "$T/m.trace" -v || t_fail "mid-migration: recorder did not start"
wait "$SIM"
check "mid-migration: migsim completed" test $? -eq 0
check "mid-migration: detached after its end" wait_for 15 sys_is "$REC_PID" 0
rec_stop || t_fail "mid-migration: recorder failed"
n=$(grep -c 'syscall programs attached' "$T/m.trace.err")
check "mid-migration: attached once for it (and once at start, the check): $n" test "$n" -eq 2
if replay_to m; then
	check "mid-migration: no data fd count (what it saw is not all there was), never a short one" \
		jq -e '[.migrations[].devices[] | .bytes_read, .bytes_written] | length > 0 and all(. == null)' "$T/m.json" > /dev/null
fi

# serve's self-metrics of the syscall programs
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MIGSCOPE" serve --listen "127.0.0.1:$port" --binary "$MIGSIM" 2> "$T/serve.err" &
SERVE=$!
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
if wait_for 30 metric_is migscope_syscall_hooks_attached 0; then
	t_pass "serve: migscope_syscall_hooks_attached 0 while nothing migrates"
	"$MIGSIM" --log "$T/s.log" --approval-delay 600 > "$T/s.out" 2>&1 &
	SIM=$!
	check "serve: migscope_syscall_hooks_attached 1 during the migration" \
		wait_for 10 metric_is migscope_syscall_hooks_attached 1
	wait "$SIM"
	check "serve: back to 0 after it" wait_for 15 metric_is migscope_syscall_hooks_attached 0
	on=$(metric migscope_syscall_hooks_attached_seconds_total)
	check "serve: one attach, ${on} s attached (the migration and the 6 s grace)" \
		$PY -c "import sys; sys.exit(not ('$(metric migscope_syscall_hooks_attaches_total)' == '1' and 6 <= float('$on') < 30))"
else
	t_fail "serve: no metrics"; sed 's/^/#   /' "$T/serve.err"
fi
kill -TERM "$SERVE"; wait "$SERVE"
