# The parts of tests/bench/run.sh, sourced by it: each bench_* function puts
# samples (put KEY VALUE) that report.py turns into medians and spreads.
# Variables and helpers come from run.sh ($W, $RUNS, put, kv, rec_start, ...).

# fresh NAME: a new copy of probe_loop, so that this exec is the first of its
# binary for any tracer that attaches to QEMU-like binaries as they are
# executed (a concurrent migscope); prints its path
fresh() {
	local p=$W/bin/$1
	cp "$W/bin/probe_loop" "$p" && echo "$p"
}

BT_ARGS='printf("%s %lu %lu %lu %lu %lu\n", str(arg0), arg1, arg2, arg3, arg4, arg5);'
BT_COUNT='@[str(arg0)] = count();'

# probe_one MODE KEY: one timed run of 1,000,000 probes under MODE
probe_one() {
	local mode=$1 key=$2 bin o=$W/probe.out lost
	bin=$(fresh "pl-$key") || return 1
	case $mode in
	none) "$bin" -n 1000000 > "$o" ;;
	floor) "$W/bin/usdt_floor" "$bin" qemu vfio_state_pending_exact -- \
		"$bin" -n 1000000 --wait-enabled 5 > "$o" ;;
	migscope)
		rec_start "$W/probe.trace" --binary "$bin" || return 1
		"$bin" -n 1000000 --wait-enabled 5 > "$o"
		sleep 0.3
		rec_stop
		lost=$(rec_lost "$W/probe.trace")
		put probe_lost_migscope "${lost:-null}"
		;;
	bpftrace | bpftrace_count)
		local prog=$BT_ARGS
		[ "$mode" = bpftrace_count ] && prog=$BT_COUNT
		bpftrace -o "$W/bt.out" -e "usdt:$bin:qemu:vfio_state_pending_exact { $prog }" \
			-c "$bin -n 1000000 --wait-enabled 5" > "$o" 2> "$W/bt.err"
		if [ "$mode" = bpftrace ]; then
			lost=$(grep -ho 'Lost [0-9]* events' "$W/bt.out" "$W/bt.err" |
				awk '{s += $2} END {print s + 0}')
			put probe_lost_bpftrace "$lost"
		fi
		;;
	esac
	if [ "$(kv "$o" enabled)" != "$([ "$mode" = none ] && echo 0 || echo 1)" ]; then
		note "probe $mode: semaphore $(kv "$o" enabled): another tracer attached, or ours did not; sample dropped"
		return 1
	fi
	put "probe_ns_$key" "$(kv "$o" cpu_ns_per_probe)"
	put "probe_best_ns_$key" "$(kv "$o" cpu_best_ns_per_probe)"
	put "probe_wall_ns_$key" "$(kv "$o" ns_per_probe)"
}

bench_probe() {
	note "probe: 1,000,000 vfio_state_pending_exact (\"suuuuu\") probes; none, floor, migscope, bpftrace; $RUNS rounds"
	local r
	for r in $(seq 1 "$RUNS"); do
		probe_one none none
		probe_one floor floor
		probe_one migscope migscope
		probe_one bpftrace_count bpftrace_count
	done
	# bpftrace's printf delivers each event through a perf buffer with a
	# wakeup per event: tens of seconds a run, so fewer rounds
	for r in $(seq 1 $((RUNS < 3 ? RUNS : 3))); do
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
	if rec_start "$W/probe.trace" --binary "$bin"; then
		"$bin" -n 1000000 --wait-enabled 5 > "$o"
		put probe_bpf_prog_ns_migscope "$(bpftool -j prog show name ms_usdt 2>/dev/null |
			$PY -c '
import json, sys
pid = int(sys.argv[1])
d = json.load(sys.stdin)
for p in d if isinstance(d, list) else [d]:
    if any(x.get("pid") == pid for x in p.get("pids", [])) and p.get("run_cnt"):
        print("%.1f" % (p["run_time_ns"] / p["run_cnt"]))
        break
else:
    print("null")' "$REC")"
		rec_stop
	fi
	kill -INT "$bs" 2>/dev/null
	wait "$bs" 2>/dev/null
}

# sys_one VARIANT: one sysloop run under VARIANT (base, migscope, or a
# sysattach variant)
sys_one() {
	local v=$1 o=$W/sys.out
	case $v in
	base) "$W/bin/sysloop" > "$o" ;;
	migscope)
		rec_start "$W/sys.trace" || return 1
		"$W/bin/sysloop" > "$o"
		rec_stop
		;;
	*) "$W/bin/sysattach" "$v" -- "$W/bin/sysloop" > "$o" || return 1 ;;
	esac
	local c
	for c in other ioctl ioctl_vfio read write close getppid; do
		put "syscall_ns_${c}_$v" "$(kv "$o" "${c}_ns")"
	done
}

bench_syscall() {
	note "syscall: ioctl/read/write/close/getppid on /dev/null from a process that is not QEMU; base, migscope record, attach variants; $RUNS rounds"
	local r v
	for r in $(seq 1 "$RUNS"); do
		for v in base migscope tpnull tp btfnull btf raw; do
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
		$PY -c 'import json,sys; print(json.load(sys.stdin).get("lost_events"))')
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
		$PY "$root/tests/bench/timeit.py" -- "$MIGSCOPE" replay "$big" --format json \
			-o /dev/null > "$o"
		[ "$(kv "$o" status)" = 0 ] || { note "replay failed"; continue; }
		put replay_events_per_s "$(awk -v n="$EVENTS" -v t="$(kv "$o" wall_s)" 'BEGIN {printf "%.0f", n / t}')"
		put replay_mb_per_s "$(awk -v b="$u" -v t="$(kv "$o" wall_s)" 'BEGIN {printf "%.1f", b / t / 1e6}')"
		put replay_cpu_s "$(awk -v a="$(kv "$o" user_s)" -v b="$(kv "$o" sys_s)" 'BEGIN {printf "%.2f", a + b}')"
		put replay_maxrss_kb "$(kv "$o" maxrss_kb)"
	done
	# instructions: deterministic, unlike time, on a smaller file
	"$W/bin/gentrace" "$root/tests/bench/data/migsim-6s.trace" "$small" -n 200000 > /dev/null &&
		valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$MIGSCOPE" replay "$small" \
			--format json -o /dev/null 2> "$W/cg.err" &&
		put replay_instructions "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$W/cg.err" | tail -1)" &&
		put replay_instructions_per_event "$(awk -v n=200000 -v i="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$W/cg.err" | tail -1)" 'BEGIN {printf "%.0f", i / n}')"
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
	note "idle: migscope record (and serve) for $IDLE_S s with 4 idle QEMU-like processes"
	for i in 1 2 3 4; do
		"$W/bin/migsim" --role idle -name "guest=idle$i" > /dev/null 2>&1 &
		sims+=($!)
		BG+=($!)
	done
	rec_start "$W/idle.trace" --binary "$W/bin/migsim" || return
	if "$MIGSCOPE" serve --help > /dev/null 2>&1; then
		"$MIGSCOPE" serve --listen 127.0.0.1:0 --binary "$W/bin/migsim" > /dev/null 2> "$W/serve.err" &
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

bench_qemu() {
	:
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
	local k
	for k in scrape_p50_ms scrape_p99_ms serve_rss_kb; do
		put "$k" "$(kv "$W/serve.kv" "$k")"
	done
}
