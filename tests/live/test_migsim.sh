#!/usr/bin/env bash
# Live BPF tests: migscope record traces migsim scenarios (started after the
# recorder, so discovery by exec is exercised every time); the replayed figures
# must agree with migsim's own log within 1 ms, every probe migsim fired must be
# seen, and the decoded VFIO values must equal those migsim passed.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
# every scenario's picture is rendered; the 16 devices' also dark
SVG_DARK_FOR='^dev16$'

# scenario NAME [MIGSIM ARGS...]: record one migsim run, replay it; leaves
# $T/NAME.{trace,json,events,log} and migsim's exit status in $SIM_ST
scenario() {
	local name=$1; shift
	SIM_ST=0
	rec_start "$T/$name.trace" ${REC_ARGS---binary "$MIGSIM"} || { t_fail "$name: recorder did not start"; return 1; }
	"$MIGSIM" --log "$T/$name.log" "$@" > "$T/$name.out" 2>&1 || SIM_ST=$?
	sleep 0.3 # let the last exit records reach the ring buffer
	rec_stop || { t_fail "$name: recorder failed"; sed 's/^/#   /' "$T/$name.trace.err"; return 1; }
	"$MIGSCOPE" replay --format json -o "$T/$name.all.json" "$T/$name.trace" &&
	"$MIGSCOPE" replay --format events -o "$T/$name.events" "$T/$name.trace" ||
		{ t_fail "$name: replay failed"; return 1; }
	"$MIGSCOPE" replay -o "$T/$name.txt" "$T/$name.trace" || { t_fail "$name: text replay failed"; return 1; }
	# other QEMU-like processes of the host are not this test's
	$PY "$MS_ROOT/tests/live/only_pids.py" "$T/$name.all.json" "$T/$name.log" > "$T/$name.json"
	perfetto_check "$name" "$T/$name.all.json" "$T/$name.trace"
	svg_check "$name" "$T/$name.all.json" "$T/$name.trace"
}


# compare NAME: migscope vs migsim's log (tests/live/compare.py)
compare() {
	T_LABEL="$1: " $PY "$MS_ROOT/tests/live/compare.py" "$T/$1.json" "$T/$1.events" "$T/$1.log"
}

# jq_check NAME DESCRIPTION JQ-EXPR: the replay JSON of NAME satisfies JQ-EXPR
jq_check() {
	if jq -e "$3" "$T/$1.json" > /dev/null; then t_pass "$1: $2"; else
		t_fail "$1: $2"; jq -c '.migrations[] | {pid,role,result,total_ms,downtime_ms,switchover_ack}' "$T/$1.json" | sed 's/^/#   /'
	fi
}

src='.migrations[] | select(.role=="source")'
dst='.migrations[] | select(.role=="destination")'

# The default scenario: migsim-vm, 2 VFIO devices, switchover-ack on.
if scenario default; then
	check "default: migsim completed" test "$SIM_ST" -eq 0
	compare default
	jq_check default "both sides, named migsim-vm, completed" \
		'[.migrations[] | select(.vm=="migsim-vm" and .result=="completed")] | length == 2'
	jq_check default "source and destination paired" \
		'.pairs | length == 1 and .[0].guest_downtime_ms != null and .[0].ack_transit_ms != null and .[0].ack_transit_ms >= 0'
	jq_check default "ACK handshake seen on both sides" \
		"($src | .switchover_ack.acked == true and .switchover_ack.enabled == true) and ($dst | .switchover_ack.pending_initial == 2)"
	check "default: probes the binary lacks are named, the rest traced" \
		grep -q 'lacks 8 of .* catalog probes (postcopy_start, loadvm_postcopy_handle_run, migrate_fd_error, migrate_fd_cancel, vfio_load_device_config_state, qmp_enter_migrate_incoming and 2 more); the rest' "$T/default.trace.err"
	jq_check default "no lost events, nothing incomplete" \
		'.lost_records == 0 and ([.migrations[] | select(.incomplete)] | length == 0)'
fi

# 16 devices, the most a migration holds: a track each
if scenario dev16 --devices 16; then
	check "dev16: migsim completed" test "$SIM_ST" -eq 0
	check "dev16: replay --format perfetto: a track per device on each side (32)" \
		test "$(jq '[.traceEvents[] | select(.ph == "M" and .name == "thread_name" and (.args.name | startswith("vfio ")))] | length' "$T/dev16.perfetto.json")" = 32
fi

for n in 0 1 3; do
	if scenario "dev$n" --devices "$n"; then
		check "dev$n: migsim completed" test "$SIM_ST" -eq 0
		compare "dev$n"
		jq_check "dev$n" "destination needed $n approvals" "$dst | .switchover_ack.pending_initial == $n"
		jq_check "dev$n" "source acked" "$src | .switchover_ack.acked == true"
	fi
done
jq_check dev0 "with no device the ACK comes before the source is ready (wait 0)" \
	"$src | .switchover_ack.ack_wait_ms == 0"

if scenario noack --no-ack; then
	check "noack: migsim completed" test "$SIM_ST" -eq 0
	compare noack
	jq_check noack "switchover-ack off: not enabled, no ACK figures" \
		"$src | .switchover_ack.enabled == false and .switchover_ack.ack_latency_ms == null and .switchover_ack.ack_wait_ms == null"
fi

if scenario slowack --approval-delay 600; then
	check "slowack: migsim completed" test "$SIM_ST" -eq 0
	compare slowack
	jq_check slowack "the source waited for the ACK (ack wait > 0)" "$src | .switchover_ack.ack_wait_ms > 50"
fi

if scenario fail --fail-at active; then
	check "fail: migsim reported the failure" test "$SIM_ST" -ne 0
	compare fail
	jq_check fail "source failed" "$src | .result == \"failed\""
fi

if scenario cancel --cancel-at active; then
	compare cancel
	jq_check cancel "source cancelled" "$src | .result == \"cancelled\""
fi

if scenario killdst --kill-dst-at active; then
	check "killdst: migsim reported the failure" test "$SIM_ST" -ne 0
	jq_check killdst "destination killed mid-migration ends as aborted" "$dst | .result == \"aborted\""
	jq_check killdst "source failed" "$src | .result == \"failed\""
fi

# Discovery by exec alone: no binary is known to the recorder when migsim
# starts; it must be found from its exec and traced within 1 s, before its
# QEMU-like start-up (300 ms) is over, so that nothing of the migration is
# missed.
if REC_ARGS="" scenario discovery; then
	check "discovery: migsim completed" test "$SIM_ST" -eq 0
	compare discovery
	jq_check discovery "both sides found and complete" \
		'[.migrations[] | select(.vm=="migsim-vm" and .result=="completed" and (.incomplete|not))] | length == 2'
	check "discovery: each process traced within 1 s of its start" \
		$PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sim = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
pids = {l["pid"] for l in sim if "pid" in l}
ok = True
for p in pids:
    start = min(l["ts"] for l in sim if l.get("pid") == p)
    first = min((e["ts"] for e in ev if e["pid"] == p and e["kind"] == "usdt"), default=None)
    print(f"# pid {p}: first event {(first - start) / 1e6 if first else None} ms after its first logged action")
    ok = ok and first is not None and first - start < 1e9
sys.exit(0 if ok else 1)' "$T/discovery.events" "$T/discovery.log"
fi

# A QEMU-like process that exits while migscope is still reading its binary
# must not leave that binary marked as seen-but-unattached: the next process
# of the same binary is traced in full, and no attach errors are printed.
cp "$MIGSIM" "$T/qemu-shortlived" # a binary the recorder has never seen
if rec_start "$T/short.trace"; then
	for _ in $(seq 20); do "$T/qemu-shortlived" --help > /dev/null 2>&1; done
	"$T/qemu-shortlived" --vfiofs "$MS_BUILD/migsim-vfiofs" --log "$T/short.log" > "$T/short.out" 2>&1; st=$?
	sleep 0.3
	rec_stop
	check "short-lived: the migration after them completed" test "$st" -eq 0
	check "short-lived: no attach error printed" bash -c "! grep -q 'cannot attach' '$T/short.trace.err'"
	"$MIGSCOPE" replay --format json -o "$T/short.all.json" "$T/short.trace" &&
		"$MIGSCOPE" replay --format events -o "$T/short.events" "$T/short.trace" &&
		$PY "$MS_ROOT/tests/live/only_pids.py" "$T/short.all.json" "$T/short.log" > "$T/short.json" &&
		compare short
else
	t_fail "short-lived: recorder did not start"
fi

# A QEMU binary replaced on disk (a package upgrade renames a new file over
# the old one): the old file is detached once no traced process runs it, and
# one given with --binary is attached anew before the next QEMU starts, so
# that nothing of that QEMU's migration is missed.
cp "$MIGSIM" "$T/qemu-found"
cp "$MIGSIM" "$T/qemu-pinned"
if rec_start "$T/upg.trace" -v --binary "$T/qemu-pinned"; then
	"$T/qemu-found" --vfiofs "$MS_BUILD/migsim-vfiofs" > /dev/null 2>&1
	sleep 0.3
	cp "$MIGSIM" "$T/qemu-found.new" && mv "$T/qemu-found.new" "$T/qemu-found"
	cp "$MIGSIM" "$T/qemu-pinned.new" && mv "$T/qemu-pinned.new" "$T/qemu-pinned"
	# the recorder looks at the binaries once a second, attaches the new
	# --binary file, then detaches both old files (about 3 s each here)
	wait_for 20 sh -c "grep -q '$T/qemu-found: no traced process runs it' '$T/upg.trace.err' &&
		grep -q '$T/qemu-pinned: no traced process runs it' '$T/upg.trace.err'"
	"$T/qemu-pinned" --vfiofs "$MS_BUILD/migsim-vfiofs" --log "$T/upg.log" > /dev/null 2>&1
	sleep 0.3
	rec_stop
	check "upgrade: the replaced binary a process ran is detached after it exited" \
		grep -q "$T/qemu-found: no traced process runs it and it was replaced or deleted: detached" "$T/upg.trace.err"
	check "upgrade: a replaced --binary file is attached anew" \
		grep -q "$T/qemu-pinned was replaced: attaching the new file" "$T/upg.trace.err"
	"$MIGSCOPE" replay --format json -o "$T/upg.all.json" "$T/upg.trace" &&
		"$MIGSCOPE" replay --format events -o "$T/upg.events" "$T/upg.trace" &&
		$PY "$MS_ROOT/tests/live/only_pids.py" "$T/upg.all.json" "$T/upg.log" > "$T/upg.json" &&
		compare upg
	jq_check upg "the new --binary file's migration traced from its first probe" \
		'[.migrations[] | select(.result=="completed" and .vm=="migsim-vm" and (.incomplete|not))] | length == 2'
else
	t_fail "upgrade: recorder did not start"
fi

# Older releases' probes (build/migsim-8.2, -9.1: what those releases have,
# tests/migsim/provider.sh): attached by their shape, decoded live, every
# figure and decoded value as migsim's own; the figures they cannot give are
# null with the reason, and their older names stand in for the newer ones.
MIGSIM_DEFAULT=$MIGSIM
MIGSIM=$MS_BUILD/migsim-8.2
if scenario shapes-8.2; then
	check "shapes-8.2: migsim completed" test "$SIM_ST" -eq 0
	compare shapes-8.2
	check "shapes-8.2: records carry the 8.x shapes" bash -c "
		grep -q '\"probe\":\"migrate_transferred\",\"args\":\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*\]' '$T/shapes-8.2.events' &&
		grep -q '\"probe\":\"vfio_migration_set_state\",\"shape\":1' '$T/shapes-8.2.events' &&
		grep -q '\"probe\":\"vfio_migration_state_notifier\",\"shape\":1' '$T/shapes-8.2.events'"
	jq_check shapes-8.2 "device transitions, each with its ioctl, from the probe after it" \
		"[$src | .transitions[]] | length >= 6 and all(.dur_ms != null)"
	jq_check shapes-8.2 "switchover bandwidth from the five arguments, threshold known" \
		"$src | .convergence.threshold_bytes > 0"
	jq_check shapes-8.2 "no error text, SWITCHOVER_START or device complete time: null with the reason" \
		"$src | .error == null and (.unavailable | has(\"error\") and has(\"milestones.switchover-start\") and has(\"devices.complete_precopy_ms\")) and ([.devices[].complete_precopy_ms] | all(. == null))"
	check "shapes-8.2: probes names the shapes" bash -c "'$MIGSCOPE' probes --binary '$MIGSIM' > '$T/probes-8.2.txt' &&
		grep -qE 'present  vfio_migration_set_state +[0-9]+ sites?, the arguments of QEMU 8.1-9.0$' '$T/probes-8.2.txt' &&
		grep -qE 'present  vfio_migration_state_notifier +[0-9]+ sites?, the arguments of QEMU 8.1-8.2$' '$T/probes-8.2.txt' &&
		grep -qE '^  error +\(its probes came with QEMU 9.1\)' '$T/probes-8.2.txt'"
	check "shapes-8.2: the missing-probes note counts those it does not name" \
		grep -qE 'lacks 24 of [0-9]+ catalog probes \(.* and 18 more\)' "$T/shapes-8.2.trace.err"
fi
MIGSIM=$MS_BUILD/migsim-9.1
if scenario shapes-9.1; then
	check "shapes-9.1: migsim completed" test "$SIM_ST" -eq 0
	compare shapes-9.1
	check "shapes-9.1: 9.1's names fired and seen (vfio_load_device_config_state, no _start/_end)" bash -c "
		grep -q '\"probe\":\"vfio_load_device_config_state\"' '$T/shapes-9.1.events' &&
		! grep -q '\"probe\":\"vfio_load_device_config_state_start\"' '$T/shapes-9.1.events'"
	jq_check shapes-9.1 "the 3-argument set_state before its ioctl gives every transition" \
		"[$src | .transitions[]] | length >= 6 and all(.dur_ms != null)"
	jq_check shapes-9.1 "SWITCHOVER_START and precopy-complete: null with the reason (10.0)" \
		"$src | .unavailable | has(\"milestones.switchover-start\") and has(\"milestones.precopy-complete\") and (has(\"error\") | not)"
fi
if scenario cancel-9.1 --cancel-at precopy; then
	compare cancel-9.1
	check "cancel-9.1: migrate_fd_cancel fired" grep -q '"probe":"migrate_fd_cancel"' "$T/cancel-9.1.events"
	jq_check cancel-9.1 "migrate_fd_cancel stands in for migration_cancel: cancelled" \
		"$src | .result == \"cancelled\""
fi
if scenario fail-9.1 --fail-at active; then
	compare fail-9.1
	jq_check fail-9.1 "9.1's migrate_error gives the error text" \
		"$src | .result == \"failed\" and (.error | test(\"injected failure\"))"
fi
check "migsim-9.1 refuses --multifd in one line (multifd device state is 10.0's)" \
	bash -c "! '$MIGSIM' --multifd 2> '$T/mf91.err' && test \$(wc -l < '$T/mf91.err') -eq 1"
MIGSIM=$MIGSIM_DEFAULT

# VFIO device state over multifd (10.0): a save thread per device on the
# source, packets on a second connection, a load thread per device on the
# destination started at SWITCHOVER_START (one device with little stop-copy
# state, one with several buffers).
if scenario multifd --multifd --devices 3 --dev-stopcopy 6M,1M,0; then
	check "multifd: migsim completed" test "$SIM_ST" -eq 0
	compare multifd
	jq_check multifd "source: every device saved by its thread, its stop-copy bytes from the thread's reads" \
		"[$src | .devices[] | .multifd.saved == true and .stopcopy_read_bytes > 0 and .save_us > 0] | length == 3 and all"
	jq_check multifd "destination: every packet loaded, the config last; the source's bytes" \
		"([$src | .devices[] | {(.name): .stopcopy_read_bytes}] | add) as \$r |
		 [$dst | .devices[] | .multifd.packets_in == .multifd.buffers_loaded + 1 and .multifd.load_thread_ms > 0 and .stopcopy_bytes == \$r[.name]] | length == 3 and all"
	jq_check multifd "no multifd figure on a device that did not use it (nothing else null)" \
		"[.migrations[] | .devices[] | .multifd] | all(. != null)"
	check "multifd: the text report shows the threads" grep -q 'device state over multifd' "$T/multifd.txt"
fi
if scenario multifd-nodev --multifd --devices 0; then
	check "multifd-nodev: migsim completed" test "$SIM_ST" -eq 0
	compare multifd-nodev
fi
if scenario multifd-killdst --multifd --kill-dst-at vm-stopped; then
	check "multifd-killdst: migsim reported the failure" test "$SIM_ST" -ne 0
	jq_check multifd-killdst "source failed, destination aborted" \
		"($src | .result == \"failed\") and ($dst | .result == \"aborted\")"
fi

# A storm of probes overflows a small ring buffer: the loss reaches the file
# and the report, and the affected migration is incomplete, without invented
# figures.
if rec_start "$T/storm.trace" --binary "$MIGSIM" --ring-size 0.0625; then
	"$MIGSIM" --log "$T/storm.log" --storm 2000000 > "$T/storm.out" 2>&1
	sleep 0.3
	rec_stop
	"$MIGSCOPE" replay --format json -o "$T/storm.all.json" "$T/storm.trace"
	$PY "$MS_ROOT/tests/live/only_pids.py" "$T/storm.all.json" "$T/storm.log" > "$T/storm.json"
	"$MIGSCOPE" replay "$T/storm.trace" > "$T/storm.txt"
	jq_check storm "lost events counted in the file" '.lost_records > 0'
	check "storm: the text report shows the loss" grep -qiE 'lost [1-9]' "$T/storm.txt"
	jq_check storm "the affected source migration is incomplete" "$src | .incomplete == true"
	jq_check storm "an incomplete migration has no invented ACK wait or pass count" \
		"$src | .switchover_ack.ack_wait_ms == null and .precopy_passes == null"
else
	t_fail "storm: recorder did not start"
fi

# -p restricts tracing to the given process: migsim's destination is started
# by the source, so with -p on an unrelated QEMU-like process nothing of migsim
# is recorded.
"$MIGSIM" --help > /dev/null 2>&1
sleep 60 & idle=$!
cp "$MIGSIM" "$T/qemu-idle" # a QEMU-like binary (it has qemu USDT notes)
"$T/qemu-idle" --role idle > /dev/null 2>&1 & qidle=$!
kill "$idle"
if rec_start "$T/pid.trace" -p "$qidle"; then
	"$MIGSIM" > /dev/null 2>&1
	rec_stop
	"$MIGSCOPE" replay --format events -o "$T/pid.events" "$T/pid.trace"
	check "-p PID: that process is traced, and nothing else is recorded" \
		$PY -c 'import json,sys; p=int(sys.argv[2]); s={json.loads(l)["pid"] for l in open(sys.argv[1]) if l.strip()}; sys.exit(0 if s == {p} else 1)' "$T/pid.events" "$qidle"
fi
kill "$qidle" 2>/dev/null; wait "$qidle" 2>/dev/null
true
