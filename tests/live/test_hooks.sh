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
# that probe to the source's first VFIO ioctl; every ioctl from the probe on
# must be seen.
"$MIGSIM" --log "$T/p.log" --startup-delay 2000 > "$T/p.out" 2>&1 &
SIM=$!
rec_start "$T/p.trace" -p "$SIM" -v || t_fail "source only: recorder did not start"
check "source only: nothing attached before its migration" sys_is "$REC_PID" 0
wait "$SIM"
check "source only: migsim completed" test $? -eq 0
sleep 0.3
rec_stop || t_fail "source only: recorder failed"
"$MIGSCOPE" replay --format events -o "$T/p.events" "$T/p.trace" || t_fail "source only: replay failed"
$PY - "$T/p.log" "$T/p.events" "$T/p.trace.err" "$SIM" > "$T/p.window" <<'PYEOF'
import json, re, sys
sim = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ev = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
src = int(sys.argv[4])
qmp = min(l["ts"] for l in sim if l.get("probe") == "qmp_enter_migrate" and l["pid"] == src)
issued = sorted(l["ts"] for l in sim if "ioctl" in l and l["pid"] == src and l["ts"] >= qmp)
seen = [e for e in ev if e["kind"] == "ioctl" and e["pid"] == src and e["ts"] >= qmp]
att = re.search(r"syscall programs attached in ([0-9.]+) ms, ([0-9.]+) ms after",
                open(sys.argv[3]).read())
print(f"{(issued[0] - qmp) / 1e6:.3f} {att.group(1) if att else -1} "
      f"{att.group(2) if att else -1} {len(issued)} {len(seen)}")
PYEOF
read -r window attach lag issued seen < "$T/p.window"
echo "# qmp_enter_migrate to the source's first VFIO ioctl: $window ms; the attach took $attach ms and ended $lag ms after the probe"
check "source only: the programs were on before its first VFIO ioctl" \
	$PY -c "import sys; sys.exit(not (0 < float('$lag') < float('$window')))"
check "source only: all $issued VFIO ioctls from the QMP command on seen ($seen)" \
	test "$issued" -gt 0 -a "$seen" -eq "$issued"

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
