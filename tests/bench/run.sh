#!/usr/bin/env bash
# make bench: migscope's performance figures, each beside its baseline measured
# in the same run (these machines are noisy), written to build/bench.json and
# printed as a table. docs/performance.md says what each figure means, what
# bounds it and the figures of a reference run.
#
# Environment:
#   BENCH_RUNS=5        rounds of each repeated measurement (medians reported,
#                       with min, max and spread)
#   BENCH_QEMU=0        skip the real-QEMU migrations
#   BENCH_PRINTF_RUNS=3 rounds of bpftrace's printf (tens of seconds each)
#   BENCH_IDLE_S=60     length of the idle CPU measurement
#   BENCH_EVENTS=10000000  events of the replay file
#   BENCH_ONLY="probe syscall rate replay idle qemu serve"  the parts to run
#   BENCH_OUT=build/bench.json
#   BENCH_MIGSCOPE=PATH another migscope binary to measure (A/B of a change)
#   BENCH_WAIT_QUIET=S  wait up to S seconds before each part for the BPF
#                       tracing programs of other tools (a concurrent migscope)
#                       to go; default 0
# Needs root (BPF). Runs in well under 15 minutes on 2 cores.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
OUT=${BENCH_OUT:-$BUILD/bench.json}
RUNS=${BENCH_RUNS:-5}
IDLE_S=${BENCH_IDLE_S:-60}
EVENTS=${BENCH_EVENTS:-10000000}
ONLY=${BENCH_ONLY:-probe syscall rate replay idle qemu serve}
BENCH_QEMU=${BENCH_QEMU:-1}
PY=/usr/bin/python3
MIGSCOPE=${BENCH_MIGSCOPE:-$root/$BUILD/migscope}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/bench/run.sh: needs root (BPF programs)" >&2
	exit 1
fi
for b in migscope migsim bench/probe_loop bench/usdt_floor bench/sysloop bench/gentrace \
	bench/zinflate bench/bpf_stats bench/sysattach; do
	[ -x "$BUILD/$b" ] || { echo "tests/bench/run.sh: $BUILD/$b missing: run make first" >&2; exit 1; }
done
# the measurements need the whole of the ring buffer's headroom and bpftrace
# its maps: no memlock limit (kernels before 5.11 charged BPF to it)
ulimit -l unlimited 2>/dev/null

# A private tmpfs directory: the trace files, and copies of the helpers, so
# that a concurrent `make` cannot relink a binary between attach and exec.
W=$(mktemp -d /dev/shm/migscope-bench.XXXXXX) || exit 1
RES=$W/results
: > "$RES"
BG=() # PIDs of background processes this script started
cleanup() {
	for p in "${BG[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/bin"
cp "$BUILD"/bench/{probe_loop,usdt_floor,sysloop,gentrace,zinflate,bpf_stats,sysattach,tlscale} "$W/bin/"
cp "$BUILD/migsim" "$BUILD/migsim-vfiofs" "$W/bin/" 2>/dev/null

# put KEY VALUE: one sample of a figure; several samples make a median
put() { echo "$1=$2" >> "$RES"; }
# kv FILE KEY: the value of KEY=... in FILE
kv() { sed -n "s/^$2=//p" "$1" | tail -1; }
note() { echo "bench: $*" >&2; }
part() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# CPU time of a process so far, ns (scheduler's run time: exact, not ticks)
cpu_of() { awk '{print $1}' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
now_ns() { date +%s%N; }
# BPF programs loaded by others (a concurrent migscope, bpftrace, ...): their
# syscall and USDT hooks disturb the baselines, so the run records them
foreign_progs() {
	bpftool prog show 2>/dev/null | grep -cE '^[0-9]+: (kprobe|tracepoint|raw_tracepoint|tracing|perf_event)'
}

# rec_start FILE [ARGS...]: migscope record in the background, once attached
rec_start() {
	local f=$1; shift
	"$MIGSCOPE" record -o "$f" "$@" 2> "$f.err" &
	REC=$!
	BG+=("$REC")
	local i
	for i in $(seq 1 600); do
		grep -q 'recording to' "$f.err" 2>/dev/null && return 0
		kill -0 "$REC" 2>/dev/null || break
		sleep 0.05
	done
	note "migscope record did not start: $(tail -1 "$f.err")"
	return 1
}
rec_stop() {
	kill -INT "$REC" 2>/dev/null
	wait "$REC" 2>/dev/null
	local st=$?
	REC=
	return $st
}
# events and lost events of a finished recording, from its summary line
rec_lost() { sed -n 's/.* events, \([0-9]*\) lost$/\1/p' "$1.err" | tail -1; }
rec_events() { sed -n 's/.*: \([0-9]*\) events, [0-9]* lost$/\1/p' "$1.err" | tail -1; }

{
	echo "start_utc=$(date -u +%FT%TZ)"
	echo "kernel=$(uname -r)"
	echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
	echo "cores=$(nproc)"
	echo "mem_gib=$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)"
	echo "clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "foreign_bpf_progs_start=$(foreign_progs)"
	echo "libbpf=$(dpkg-query -W -f='${Version}' libbpf1 2>/dev/null)"
	echo "bpftrace=$(bpftrace --version 2>/dev/null | awk '{print $2}')"
	echo "runs=$RUNS"
} > "$W/machine"

. "$root/tests/bench/parts.sh"

# quiet: wait up to BENCH_WAIT_QUIET seconds for other tools' BPF programs
# to go (a shared machine); what is left is recorded per part
quiet() {
	local i n
	for i in $(seq 1 "${BENCH_WAIT_QUIET:-0}"); do
		[ "$(foreign_progs)" -eq 0 ] && break
		sleep 1
	done
	n=$(foreign_progs)
	echo "foreign_bpf_progs_$1=$n" >> "$W/machine"
	[ "$n" -eq 0 ] || note "$1: $n BPF tracing programs of other tools are loaded"
}

for p in probe syscall rate replay idle qemu serve; do
	part "$p" || continue
	quiet "$p"
	echo "load_before_$p=$(cut -d' ' -f1 /proc/loadavg)" >> "$W/machine"
	"bench_$p"
done

echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$W/machine"
echo "foreign_bpf_progs_end=$(foreign_progs)" >> "$W/machine"
mkdir -p "$(dirname "$OUT")"
# the last committed figures (docs/bench.json) beside the new ones
$PY "$root/tests/bench/report.py" "$W/machine" "$RES" "$OUT" "$root/docs/bench.json"
