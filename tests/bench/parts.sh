# The parts of tests/bench/run.sh, sourced by it: each bench_* function puts
# samples (put KEY VALUE) that report.py turns into medians and spreads.
# Variables and helpers come from run.sh ($W, $RUNS, put, kv, rec_start, ...).

# fresh NAME: a new copy of probe_loop, so that this exec is the first of its
# binary for any tracer that attaches to QEMU-like binaries as they are
# executed (a concurrent migscope); prints its path
fresh() {
	# a new file, so a new inode (uprobes hold on to the old one)
	local p
	p=$(mktemp "$W/bin/$1.XXXXXX") && cp "$W/bin/probe_loop" "$p" && chmod +x "$p" && echo "$p"
}

BT_ARGS='printf("%s %lu %lu %lu %lu %lu\n", str(arg0), arg1, arg2, arg3, arg4, arg5);'
BT_COUNT='@[str(arg0)] = count();'

# probe_one MODE KEY: one timed run of 1,000,000 probes under MODE; a run
# that another tracer disturbed (the semaphore is not what MODE sets, before
# or after the loop) is run again, up to 3 times
probe_one() {
	local try
	for try in 1 2 3; do
		probe_try "$@" && return 0
	done
	note "probe $1: disturbed 3 times by another tracer; no sample"
	return 1
}

probe_try() {
	local mode=$1 key=$2 bin o=$W/probe.out lost= want=1
	bin=$(fresh "pl-$key") || return 1
	case $mode in
	none) "$bin" -n 1000000 > "$o" ;;
	floor) "$W/bin/usdt_floor" "$bin" qemu vfio_state_pending_exact -- \
		"$bin" -n 1000000 --wait-enabled 5 > "$o" ;;
	record) "$W/bin/usdt_floor" --record "$bin" qemu vfio_state_pending_exact -- \
		"$bin" -n 1000000 --wait-enabled 5 > "$o" ;;
	migscope)
		rec_start "$W/probe.trace" --binary "$bin" || return 1
		"$bin" -n 1000000 --wait-enabled 5 > "$o"
		sleep 0.3
		rec_stop
		lost=$(rec_lost "$W/probe.trace")
		;;
	bpftrace | bpftrace_count)
		local prog=$BT_ARGS
		[ "$mode" = bpftrace_count ] && prog=$BT_COUNT
		bpftrace -o "$W/bt.out" -e "usdt:$bin:qemu:vfio_state_pending_exact { $prog }" \
			-c "$bin -n 1000000 --wait-enabled 5" > "$o" 2> "$W/bt.err"
		if [ "$mode" = bpftrace ]; then
			lost=$(grep -ho 'Lost [0-9]* events' "$W/bt.out" "$W/bt.err" |
				awk '{s += $2} END {print s + 0}')
		fi
		;;
	esac
	[ "$mode" = none ] && want=0
	if [ "$(kv "$o" semaphore_start)" != "$want" ] || [ "$(kv "$o" semaphore_end)" != "$want" ]; then
		note "probe $mode: semaphore $(kv "$o" semaphore_start) -> $(kv "$o" semaphore_end), not $want: another tracer came; again"
		return 1
	fi
	[ -n "$lost" ] && put "probe_lost_$key" "$lost"
	put "probe_ns_$key" "$(kv "$o" cpu_ns_per_probe)"
	put "probe_best_ns_$key" "$(kv "$o" cpu_best_ns_per_probe)"
	put "probe_wall_ns_$key" "$(kv "$o" ns_per_probe)"
}

# prog_ids NAME: ids of the loaded BPF programs called NAME
prog_ids() {
	bpftool -j prog show name "$1" 2>/dev/null |
		$PY -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(p["id"]) for p in (d if isinstance(d, list) else [d])))' 2>/dev/null
}

bench_probe() {
	note "probe: 1,000,000 vfio_state_pending_exact (\"suuuuu\") probes; none, floor, record, migscope, bpftrace; $RUNS rounds"
	local r
	for r in $(seq 1 "$RUNS"); do
		probe_one none none
		probe_one floor floor
		probe_one record record
		probe_one migscope migscope
		probe_one bpftrace_count bpftrace_count
	done
	# bpftrace's printf delivers each event through a perf buffer with a
	# wakeup per event: tens of seconds a run, so fewer rounds
	for r in $(seq 1 "${BENCH_PRINTF_RUNS:-$((RUNS < 3 ? RUNS : 3))}"); do
		probe_one bpftrace bpftrace
	done
	# Where the time goes, in one more round with the kernel's BPF run-time
	# statistics on (they add two clock reads to every program run, so the
	# timed rounds above run without them).
	local bs bin o=$W/probe.out
	"$W/bin/bpf_stats" > "$W/bs.out" &
	bs=$!
	BG+=("$bs")
	sleep 0.3
	bin=$(fresh pl-stats)
	"$W/bin/usdt_floor" "$bin" qemu vfio_state_pending_exact -- "$bin" -n 1000000 \
		--wait-enabled 5 > "$o"
	put probe_bpf_prog_ns_floor "$(kv "$o" bpf_prog_ns)"
	bin=$(fresh pl-stats-record)
	"$W/bin/usdt_floor" --record "$bin" qemu vfio_state_pending_exact -- "$bin" -n 1000000 \
		--wait-enabled 5 > "$o"
	put probe_bpf_prog_ns_record "$(kv "$o" bpf_prog_ns)"
	# our ms_usdt is the one that was not there before the recorder started
	local before
	before=$(prog_ids ms_usdt)
	if rec_start "$W/probe.trace" --binary "$bin"; then
		"$bin" -n 1000000 --wait-enabled 5 > "$o"
		put probe_bpf_prog_ns_migscope "$(bpftool -j prog show name ms_usdt 2>/dev/null |
			$PY -c '
import json, sys
before = set(int(x) for x in sys.argv[1].split())
d = json.load(sys.stdin)
mine = [p for p in (d if isinstance(d, list) else [d])
        if p["id"] not in before and p.get("run_cnt")]
print("%.1f" % (mine[0]["run_time_ns"] / mine[0]["run_cnt"]) if len(mine) == 1 else "null")
' "$before")"
		rec_stop
	fi
	kill -INT "$bs" 2>/dev/null
	wait "$bs" 2>/dev/null
}

# sys_one VARIANT: one sysloop run under VARIANT (base, migscope, or a
# sysattach variant). Any syscall tracepoint of another tool, anywhere, puts
# every thread on the kernel's slow syscall path: a sample taken while other
# BPF tracing programs were loaded is taken again (up to 3 times), after
# waiting up to 20 s for them to go.
sys_one() {
	local v=$1 o=$W/sys.out try i ok
	for try in 1 2 3; do
		for i in $(seq 1 20); do
			[ "$(foreign_progs)" -eq 0 ] && break
			sleep 1
		done
		ok=1
		[ "$(foreign_progs)" -eq 0 ] || ok=0
		case $v in
		base) "$W/bin/sysloop" -b 50 > "$o" ;;
		migscope | migscope_always)
			# nothing migrates: by default the syscall programs are
			# loaded (5 programs) but not attached; always: the 7
			# per-syscall tracepoints attached (10)
			local want=5 args=()
			[ "$v" = migscope_always ] && want=10 args=(--syscall-hooks always)
			rec_start "$W/sys.trace" "${args[@]}" || return 1
			[ "$(foreign_progs)" -eq "$want" ] || ok=0
			"$W/bin/sysloop" -b 50 > "$o"
			[ "$(foreign_progs)" -eq "$want" ] || ok=0
			rec_stop
			;;
		*) "$W/bin/sysattach" "$v" -- "$W/bin/sysloop" -b 50 > "$o" || return 1 ;;
		esac
		# our own variant's programs are freed a little after it exits
		if [ "${v#migscope}" = "$v" ]; then
			for i in $(seq 1 30); do
				[ "$(foreign_progs)" -eq 0 ] && break
				sleep 0.1
			done
			[ "$(foreign_progs)" -eq 0 ] || ok=0
		fi
		[ $ok = 1 ] && break
		note "syscall $v: other tools' BPF programs came during the run; again"
	done
	[ $ok = 1 ] || { note "syscall $v: disturbed 3 times; no sample"; return 1; }
	local c
	for c in other ioctl ioctl_vfio read write close getppid; do
		put "syscall_ns_${c}_$v" "$(kv "$o" "${c}_ns")"
		put "syscall_best_ns_${c}_$v" "$(kv "$o" "${c}_best_ns")"
	done
}

bench_syscall() {
	note "syscall: ioctl/read/write/close/getppid on /dev/null from a process that is not QEMU; base, migscope record (nothing migrating; --syscall-hooks migration and always), attach variants; $RUNS rounds"
	local r v
	for r in $(seq 1 "$RUNS"); do
		for v in base migscope migscope_always tpnull tp rawnull raw btfnull btf; do
			sys_one "$v"
		done
	done
}

# rate_step RATE: one recording while the generator fires RATE probes/s for 3 s;
# puts a step line; returns 0 when nothing was lost and the rate was reached
rate_step() {
	local rate=$1 bin o=$W/rate.out c0 c1 t0 t1 lost ev got cpu ns
	bin=$(fresh "rate-$rate")
	rec_start "$W/rate.trace" --binary "$bin" || return 2
	c0=$(cpu_of "$REC")
	t0=$(now_ns)
	"$bin" --rate "$rate" --duration 3 --threads 2 --wait-enabled 5 > "$o"
	c1=$(cpu_of "$REC")
	t1=$(now_ns)
	sleep 0.5
	rec_stop
	got=$(kv "$o" rate)
	# the file says what was lost (MS_EV_LOST records, the trailer)
	lost=$("$MIGSCOPE" replay --format json "$W/rate.trace" 2> /dev/null |
		$PY -c 'import json,sys; print(json.load(sys.stdin).get("lost_records"))')
	ev=$(rec_events "$W/rate.trace")
	cpu=$(awk -v a="$c0" -v b="$c1" -v t="$((t1 - t0))" 'BEGIN {printf "%.1f", (b - a) * 100 / t}')
	ns=$(awk -v a="$c0" -v b="$c1" -v n="${ev:-0}" 'BEGIN {printf "%.0f", n ? (b - a) / n : 0}')
	echo "rate_step=$rate:$got:$lost:$cpu:$ns" >> "$RES"
	note "  asked $rate/s: fired $got/s, lost $lost, collector $cpu % of a core, $ns ns/event"
	RATE_GOT=$got RATE_CPU=$cpu RATE_NS=$ns RATE_LOST=$lost
	[ "$lost" = 0 ] || return 1
	awk -v g="$got" -v r="$rate" 'BEGIN {exit !(g >= 0.95 * r)}' || return 3
	return 0
}

bench_rate() {
	note "rate: the highest rate with no lost event (default ring buffer), collector CPU"
	local rate best=0 best_rate=0 bound=loss st
	for rate in 250000 500000 750000 1000000 1250000 1500000 2000000 3000000; do
		rate_step "$rate"
		st=$?
		# short of the rate with nothing lost: the machine was busy; once more
		[ $st -eq 3 ] && [ "$RATE_LOST" = 0 ] && { rate_step "$rate"; st=$?; }
		if [ $st -eq 0 ]; then
			best=$RATE_GOT best_rate=$rate
			continue
		fi
		if [ $st -eq 3 ] && [ "$RATE_LOST" = 0 ]; then
			# the generator could not fire that fast: what it did fire
			# was recorded whole
			best=$RATE_GOT best_rate=$rate bound=generator
		fi
		break
	done
	echo "events_per_s_bound=$bound" >> "$RES"
	[ "$best_rate" = 0 ] && { put events_per_s_no_loss 0; return; }
	# the rate asked of the generator; events_per_s_no_loss is what it fired
	put events_per_s_no_loss_asked "$best_rate"
	# the best step again, for its spread
	local r
	for r in $(seq 1 $((RUNS < 3 ? RUNS : 3))); do
		[ "$r" -gt 1 ] && rate_step "$best_rate" > /dev/null
		[ "$RATE_LOST" = 0 ] || continue
		put events_per_s_no_loss "$RATE_GOT"
		put collector_cpu_percent "$RATE_CPU"
		put collector_ns_per_event "$RATE_NS"
	done
}

bench_replay() {
	local big=$W/big.trace small=$W/small.trace o=$W/replay.out r u
	note "replay: $EVENTS-event file from tests/bench/data/migsim-6s.trace; replay vs zcat and zlib; $RUNS rounds"
	$PY "$root/tests/bench/timeit.py" -o "$W/gen.out" -- "$W/bin/gentrace" \
		"$root/tests/bench/data/migsim-6s.trace" "$big" -n "$EVENTS" > "$o" || return
	put gentrace_events_per_s "$(awk -v n="$EVENTS" -v t="$(kv "$o" wall_s)" 'BEGIN {printf "%.0f", n / t}')"
	put bytes_per_event "$(awk -v n="$EVENTS" -v b="$(kv "$W/gen.out" bytes)" 'BEGIN {printf "%.2f", b / n}')"
	"$W/bin/zinflate" "$big" -r 3 --gzip "$W/big.gz" > "$W/z.out" || return
	u=$(kv "$W/z.out" uncompressed_bytes)
	put uncompressed_bytes_per_event "$(awk -v n="$EVENTS" -v b="$u" 'BEGIN {printf "%.2f", b / n}')"
	for r in $(seq 1 "$RUNS"); do
		"$W/bin/zinflate" "$big" -r 1 > "$W/z.out"
		put zlib_inflate_mb_per_s "$(kv "$W/z.out" inflate_mb_per_s)"
		$PY "$root/tests/bench/timeit.py" -- zcat "$W/big.gz" > "$o"
		put zcat_mb_per_s "$(awk -v b="$u" -v t="$(kv "$o" wall_s)" 'BEGIN {printf "%.1f", b / t / 1e6}')"
		# `migscope replay FILE`: the text report, the default
		$PY "$root/tests/bench/timeit.py" -- "$MIGSCOPE" replay "$big" -o /dev/null > "$o"
		[ "$(kv "$o" status)" = 0 ] || { note "replay failed"; continue; }
		put replay_events_per_s "$(awk -v n="$EVENTS" -v t="$(kv "$o" wall_s)" 'BEGIN {printf "%.0f", n / t}')"
		put replay_mb_per_s "$(awk -v b="$u" -v t="$(kv "$o" wall_s)" 'BEGIN {printf "%.1f", b / t / 1e6}')"
		put replay_cpu_s "$(awk -v a="$(kv "$o" user_s)" -v b="$(kv "$o" sys_s)" 'BEGIN {printf "%.2f", a + b}')"
		put replay_maxrss_kb "$(kv "$o" maxrss_kb)"
		# and the JSON report
		$PY "$root/tests/bench/timeit.py" -- "$MIGSCOPE" replay "$big" --format json \
			-o /dev/null > "$o"
		[ "$(kv "$o" status)" = 0 ] &&
			put replay_json_mb_per_s "$(awk -v b="$u" -v t="$(kv "$o" wall_s)" 'BEGIN {printf "%.1f", b / t / 1e6}')"
	done
	# instructions: deterministic, unlike time, on a smaller file
	"$W/bin/gentrace" "$root/tests/bench/data/migsim-6s.trace" "$small" -n 200000 > /dev/null &&
		valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$MIGSCOPE" replay "$small" \
			-o /dev/null 2> "$W/cg.err" &&
		put replay_instructions "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$W/cg.err" | tail -1)" &&
		put replay_instructions_per_event "$(awk -v n=200000 -v i="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$W/cg.err" | tail -1)" 'BEGIN {printf "%.0f", i / n}')"
	# the engine at scale: instructions per migration with 2,000 and 8,000
	# migrations in one timeline (tlscale: both sides, then one side alone),
	# flat when nothing walks every migration per record
	local n i2 i8
	for n in 2000 8000; do
		valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$W/bin/tlscale" "$n" \
			> /dev/null 2> "$W/cg.err" || { note "tlscale failed"; return; }
		put "engine_instructions_per_migration_$n" "$(awk -v n="$n" -v i="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$W/cg.err" | tail -1)" 'BEGIN {printf "%.0f", i / n}')"
	done
	i2=$(sed -n 's/^engine_instructions_per_migration_2000=//p' "$RES" | tail -1)
	i8=$(sed -n 's/^engine_instructions_per_migration_8000=//p' "$RES" | tail -1)
	[ -n "$i2" ] && [ -n "$i8" ] &&
		put engine_scale_8000_vs_2000 "$(awk -v a="$i2" -v b="$i8" 'BEGIN {printf "%.3f", b / a}')"
}

# cpu_tasks PID: CPU time of all threads of PID so far, ns
cpu_tasks() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s + 0}'
}
# switches PID: context switches of all threads of PID so far (each a wakeup)
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}'
}

bench_idle() {
	local i sims=() serve= c0 c1 s0 s1 sc0 sc1 ss0 ss1
	note "idle: migscope record and serve for $IDLE_S s, tracing 4 idle QEMU-like processes"
	for i in 1 2 3 4; do
		"$W/bin/migsim" --role idle -name "guest=idle$i" > /dev/null 2>&1 &
		sims+=($!)
		BG+=($!)
	done
	sleep 0.5
	# -p: on a shared machine, QEMU-like processes of others (tests running
	# migrations) would otherwise be traced too, and their events counted as
	# idle work; the programs and the polling are those of a default run
	local pids=()
	for i in "${sims[@]}"; do pids+=(-p "$i"); done
	rec_start "$W/idle.trace" "${pids[@]}" || return
	if "$MIGSCOPE" serve --help > /dev/null 2>&1; then
		"$MIGSCOPE" serve --listen 127.0.0.1:0 "${pids[@]}" > /dev/null 2> "$W/serve.err" &
		serve=$!
		BG+=("$serve")
	else
		note "migscope serve is not there: idle_cpu_percent_serve is null"
	fi
	sleep 3 # attach and discovery done
	c0=$(cpu_tasks "$REC") s0=$(switches "$REC")
	[ -n "$serve" ] && sc0=$(cpu_tasks "$serve") ss0=$(switches "$serve")
	sleep "$IDLE_S"
	c1=$(cpu_tasks "$REC") s1=$(switches "$REC")
	[ -n "$serve" ] && sc1=$(cpu_tasks "$serve") ss1=$(switches "$serve")
	put idle_cpu_percent_record "$(awk -v a="$c0" -v b="$c1" -v t="$IDLE_S" 'BEGIN {printf "%.4f", (b - a) / t / 1e7}')"
	put idle_wakeups_per_s_record "$(awk -v a="$s0" -v b="$s1" -v t="$IDLE_S" 'BEGIN {printf "%.1f", (b - a) / t}')"
	if [ -n "$serve" ] && kill -0 "$serve" 2> /dev/null; then
		put idle_cpu_percent_serve "$(awk -v a="$sc0" -v b="$sc1" -v t="$IDLE_S" 'BEGIN {printf "%.4f", (b - a) / t / 1e7}')"
		put idle_wakeups_per_s_serve "$(awk -v a="$ss0" -v b="$ss1" -v t="$IDLE_S" 'BEGIN {printf "%.1f", (b - a) / t}')"
		kill -INT "$serve"
		wait "$serve" 2> /dev/null
	elif [ -n "$serve" ]; then
		note "migscope serve exited: $(tail -1 "$W/serve.err")"
	fi
	rec_stop
	put idle_traced_processes "$("$MIGSCOPE" replay --format json "$W/idle.trace" 2> /dev/null |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["events_by_kind"].get("proc", 0))' 2> /dev/null || echo null)"
	kill "${sims[@]}" 2> /dev/null
	wait "${sims[@]}" 2> /dev/null
}

# qemu_skip WHY: the QEMU figures are null, and why
qemu_skip() {
	note "qemu: skipped: $1"
	echo "qemu_skipped=$1" >> "$RES"
}

# qemu_migrate MODE: one migration of a dirtying guest between two QEMUs on
# loopback, with (MODE=with) or without migscope record attached; puts the
# source's query-migrate downtime and total time
qemu_migrate() {
	local mode=$1 q=$W/q src dst port st=0
	rm -f "$q".*
	if [ "$mode" = with ]; then
		rec_start "$W/qemu.trace" --binary "$QEMU" || return 1
	fi
	qemu_start() { # SIDE [ARGS...]
		local side=$1; shift
		"$QEMU" -name "guest=msbench-$side" -machine pc -accel kvm -accel tcg -m 128 \
			-nodefaults -display none -no-user-config -L /usr/share/seabios -L /usr/share/qemu \
			-kernel "$W/migguest.elf" -append "$QEMU_APPEND" -serial "file:$q.$side.serial" \
			-qmp "unix:$q.$side.qmp,server=on,wait=off" "$@" > "$q.$side.out" 2>&1 &
		QPID=$!
		BG+=("$QPID")
	}
	qemu_start src
	src=$QPID
	qemu_start dst -incoming defer
	dst=$QPID
	local i
	for i in $(seq 1 600); do
		grep -qs 'migguest: ready' "$q.src.serial" && break
		sleep 0.05
	done
	port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	$PY "$root/tests/qemu/migrate.py" --src "$q.src.qmp" --dst "$q.dst.qmp" --port "$port" \
		--max-bandwidth $((128 << 20)) --downtime-limit 50 -o "$q.json" > "$q.migrate.out" 2>&1 || st=1
	for p in "$q.src.qmp:$src" "$q.dst.qmp:$dst"; do
		$PY "$root/tests/qemu/qmp.py" "${p%%:*}" quit > /dev/null 2>&1 || kill "${p##*:}" 2> /dev/null
	done
	for i in $(seq 1 100); do
		kill -0 "$src" 2> /dev/null || kill -0 "$dst" 2> /dev/null || break
		sleep 0.05
	done
	kill -9 "$src" "$dst" 2> /dev/null
	wait "$src" "$dst" 2> /dev/null
	[ "$mode" = with ] && rec_stop
	if [ $st -ne 0 ]; then
		note "qemu $mode: migration failed: $(tail -1 "$q.migrate.out")"
		return 1
	fi
	$PY - "$q.json" "$mode" >> "$RES" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
d = j["src"]
print(f"qemu_kvm={int(bool((j.get('kvm') or {}).get('enabled')))}")
if d.get("status") == "completed":
    print(f"qemu_downtime_ms_{sys.argv[2]}={d['downtime']}")
    print(f"qemu_total_ms_{sys.argv[2]}={d['total-time']}")
    print(f"qemu_setup_ms_{sys.argv[2]}={d.get('setup-time', 0)}")
PYEOF
}

bench_qemu() {
	if [ "$BENCH_QEMU" = 0 ]; then
		qemu_skip "BENCH_QEMU=0"
		return
	fi
	QEMU=$("$root/scripts/build-qemu.sh" --check 2> /dev/null | tail -n 1)
	if [ ! -x "$QEMU" ]; then
		qemu_skip "no cached QEMU build with the dtrace backend (scripts/build-qemu.sh; make check makes it)"
		return
	fi
	if [ ! -f "$root/tests/qemu/migrate.py" ] || [ ! -f "$root/tests/qemu/guest/migguest.c" ]; then
		qemu_skip "tests/qemu/migrate.py or the test guest is missing"
		return
	fi
	if ! gcc -m32 -march=i686 -O2 -ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -mno-sse -mno-mmx -nostdlib -static \
		-Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,"$root/tests/qemu/guest/guest.ld" \
		-o "$W/migguest.elf" "$root/tests/qemu/guest/migguest.c" 2> "$W/guest.err"; then
		qemu_skip "the test guest does not build: $(head -1 "$W/guest.err")"
		return
	fi
	[ -r /usr/share/seabios/bios-256k.bin ] || [ -r /usr/share/seabios/bios.bin ] || {
		qemu_skip "seabios is not installed (make check installs it)"
		return
	}
	# tests/qemu's dirty scenario: 48 MiB dirtied at 96 MiB/s under a 128 MiB/s
	# link and a 50 ms downtime limit, several precopy passes
	QEMU_APPEND="mib=48 rate=96"
	note "qemu: $RUNS migrations of a dirtying guest without migscope and $RUNS with, alternated"
	local r
	for r in $(seq 1 "$RUNS"); do
		qemu_migrate without
		qemu_migrate with
	done
}

bench_serve() {
	local s=$root/tests/bench/serve_bench.sh
	if [ ! -f "$s" ]; then
		note "serve: tests/bench/serve_bench.sh is not there yet: scrape figures are null"
		return
	fi
	note "serve: $s"
	: > "$W/serve.kv"
	MIGSCOPE=$MIGSCOPE bash "$s" "$W/serve.kv" || note "serve_bench.sh failed ($?)"
	# every figure it gives, under its own name
	grep -E '^[a-z_0-9]+=[-0-9.]+$' "$W/serve.kv" >> "$RES"
}
