#!/usr/bin/env bash
# make soak: serve (with --record) and record run side by side while QEMU-like
# processes (migsim) start and exit for SOAK_SECONDS (default 1200) and at
# least SOAK_PROCS processes (2000) and SOAK_MIGRATIONS migrations (500) went
# by: migrations that complete, fail or are cancelled, short-lived processes
# that never migrate, the QEMU binary replaced on disk by another build (other
# probe shapes: 10.0, 9.1 and 8.2), and PIDs reused (kernel.pid_max lowered
# for the run, restored at the end). Not part of make check.
#
# At the end: the BPF maps back to their idle entry counts (traced, inflight,
# data_fds), RSS and open fds flat after the warm-up (the curve is printed),
# every migration migsim ran found in the replay of each recording with its
# result, serve's series of the VMs gone once --expire passed, nothing lost
# that was not counted. The figures are printed; exit 1 when a check failed.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
. "$MS_ROOT/tests/exporter/lib_exporter.sh"

SECS=${SOAK_SECONDS:-1200}
NPROC=${SOAK_PROCS:-2000}
NMIG=${SOAK_MIGRATIONS:-500}
EXPIRE=${SOAK_EXPIRE:-30}
WORKERS=${SOAK_WORKERS:-2}
PID_MAX=${SOAK_PID_MAX:-8192}

old_pid_max=$(cat /proc/sys/kernel/pid_max)
soak_cleanup() {
	echo "$old_pid_max" > /proc/sys/kernel/pid_max
	cleanup
}
trap soak_cleanup EXIT

# the QEMU binary everything runs, replaced on disk now and then
mkdir -p "$T/bin" "$T/runs"
BIN=$T/bin/qemu-system-x86_64
builds=("$MS_BUILD/migsim" "$MS_BUILD/migsim-9.1" "$MS_BUILD/migsim-8.2")
cp "${builds[0]}" "$BIN.new" && mv "$BIN.new" "$BIN"
cp "$MS_BUILD/migsim-vfiofs" "$T/bin/"

# map entries of every migscope instance's map NAME
map_entries() {
	local total=0 id
	for id in $(bpftool map show -j | jq -r ".[] | select(.name == \"$1\") | .id"); do
		total=$((total + $(bpftool map dump id "$id" -j 2> /dev/null | jq length)))
	done
	echo "$total"
}

serve_start s --record "$T/serve.trace" --expire "$EXPIRE" --ring-size 64 || exit 0
rec_start "$T/rec.trace" --ring-size 64 || { t_fail "soak: record did not start"; exit 0; }
sleep 1
idle_maps="traced=$(map_entries traced) inflight=$(map_entries inflight) data_fds=$(map_entries data_fds)"
echo "# idle maps: $idle_maps"

echo "$PID_MAX" > /proc/sys/kernel/pid_max

# one worker: migrations of every kind, short-lived processes in between
worker() {
	local w=$1 i=0 r kind log
	while :; do
		[ -e "$T/stop" ] && break
		i=$((i + 1))
		r=$((RANDOM % 20))
		log=$T/runs/w$w-$i.log
		if [ "$r" -lt 6 ]; then
			# a process that never migrates: up a moment, killed
			"$BIN" --role idle > /dev/null 2>&1 &
			local p=$!
			sleep 0.$((RANDOM % 5 + 1))
			kill "$p" 2> /dev/null
			wait "$p" 2> /dev/null
			echo idle >> "$T/runs/w$w.kinds"
			continue
		elif [ "$r" -lt 8 ]; then
			"$BIN" --help > /dev/null 2>&1 # exec and exit at once
			echo help >> "$T/runs/w$w.kinds"
			continue
		elif [ "$r" -lt 10 ]; then
			kind="--fail-at active"
		elif [ "$r" -lt 12 ]; then
			kind="--cancel-at precopy"
		else
			kind=""
		fi
		# shellcheck disable=SC2086
		"$BIN" -name "guest=soak-$w-$i" --devices $((RANDOM % 3)) --ram 32M --startup-delay 200 \
			--vfiofs "$T/bin/migsim-vfiofs" --log "$log" $kind > /dev/null 2>&1
		echo mig >> "$T/runs/w$w.kinds"
	done
}

# RSS and fds of serve and record every 10 s
sampler() {
	while [ ! -e "$T/stop" ]; do
		echo "$(($(date +%s) - t0)) $(awk '/^VmRSS/ {print $2}' /proc/"$s_pid"/status) $(ls /proc/"$s_pid"/fd | wc -l) $(awk '/^VmRSS/ {print $2}' /proc/"$REC_PID"/status) $(ls /proc/"$REC_PID"/fd | wc -l)" >> "$T/curve"
		sleep 10
	done
}

t0=$(date +%s)
sampler &
samp=$!
pids=()
for w in $(seq "$WORKERS"); do worker "$w" & pids+=($!); done
swaps=0
while :; do
	sleep 20
	# replace the binary on disk: a new inode, another build's probe shapes
	swaps=$((swaps + 1))
	cp "${builds[$((swaps % 3))]}" "$BIN.new" && mv "$BIN.new" "$BIN"
	migs=$(cat "$T"/runs/*.kinds 2> /dev/null | grep -c mig)
	procs=$(cat "$T"/runs/*.kinds 2> /dev/null | wc -l)
	procs=$((procs + migs)) # a migration is two processes
	if [ $(($(date +%s) - t0)) -ge "$SECS" ] && [ "$migs" -ge "$NMIG" ] && [ "$procs" -ge "$NPROC" ]; then
		break
	fi
done
touch "$T/stop"
wait "${pids[@]}"
kill "$samp" 2> /dev/null; wait "$samp" 2> /dev/null
echo "$old_pid_max" > /proc/sys/kernel/pid_max
elapsed=$(($(date +%s) - t0))
sleep 2
end_maps="traced=$(map_entries traced) inflight=$(map_entries inflight) data_fds=$(map_entries data_fds)"
echo "# $elapsed s: $procs QEMU-like processes, $migs migrations, $swaps binary replacements"
echo "# maps at the end: $end_maps (idle: $idle_maps)"
check "soak: BPF maps back to their idle entry counts" test "$end_maps" = "$idle_maps"
check "soak: every binary's probes attached (no attach error in serve's or record's output)" \
	bash -c "! grep -h 'cannot attach' '$T/s.err' '$T/rec.trace.err' | head -3 | grep ."

echo "# curve: seconds, serve RSS kB, serve fds, record RSS kB, record fds"
sed 's/^/#   /' "$T/curve"
# Flat: no growth between the first and the last third of the run after the
# warm-up. RSS by its median; fds by their floor, as they rise for a while at
# each binary replacement (the new file attached before the old one goes).
check "soak: RSS and fds flat after the warm-up" $PY - "$T/curve" <<'EOF'
import statistics, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 5]
warm = [r for r in rows if r[0] >= 120]
if len(warm) < 6:
    sys.exit(1)
k = len(warm) // 3
first, last = warm[:k], warm[-k:]
ok = True
for col, name, how, slack in ((1, "serve RSS kB", statistics.median, 8192), (2, "serve fds", min, 4),
                              (3, "record RSS kB", statistics.median, 8192), (4, "record fds", min, 4)):
    a, b = how(r[col] for r in first), how(r[col] for r in last)
    print(f"# {name}: {how.__name__} {a} in the first third after warm-up, {b} in the last, "
          f"{max(r[col] for r in warm)} at most")
    ok = ok and b <= a + slack
sys.exit(0 if ok else 1)
EOF

# the recordings: every migration migsim ran, with its result
kill -INT "$REC_PID"; wait "$REC_PID"; REC_PID=
sleep $((EXPIRE + 5)) # serve's series of the last VMs expire meanwhile
metrics=$(curl -s "http://127.0.0.1:$s_port/metrics")
check "soak: serve's per-VM series expired $EXPIRE s after the last migration" \
	bash -c "! grep -q 'migscope_migration_active{vm=\"soak-' <<< \"\$1\"" _ "$metrics"
lost=$(grep -oE '^migscope_events_lost_total [0-9]+' <<< "$metrics" | awk '{print $2}')
kill -INT "$s_pid"; wait "$s_pid"
for f in rec serve; do
	"$MIGSCOPE" replay --format json -o "$T/$f.json" "$T/$f.trace" 2> "$T/$f.replay.err" ||
		t_fail "soak: $f.trace does not replay"
done
check "soak: every migration in both recordings with its result, losses counted" $PY - "$T" "${lost:-0}" <<'EOF'
import glob, json, sys
T, lost_serve = sys.argv[1], int(sys.argv[2])
runs = []
for f in glob.glob(T + "/runs/*.log"):
    for l in open(f):
        if '"summary"' in l:
            runs.append(json.loads(l)["summary"])
ok = True
for name in ("rec", "serve"):
    rep = json.load(open(f"{T}/{name}.json"))
    migs = {}
    for m in rep["migrations"]:
        migs.setdefault((m["pid"], m["role"]), []).append(m)
    found = missing = wrong = 0
    for s in runs:
        cand = [m for m in migs.get((s["pid"], s["role"]), []) if m["vm"] == s["vm"]]
        if not cand:
            missing += 1
            continue
        found += 1
        if cand[0]["result"] != s["result"]:
            wrong += 1
    lost = rep.get("lost_records", 0)
    print(f"# {name}: {found} of {len(runs)} migration sides found, {missing} missing, "
          f"{wrong} with another result, {lost} events lost (counted)")
    # a side may be missing or differ only where events were lost, and then counted
    ok = ok and (missing + wrong == 0 or lost > 0)
by = {}
for s in runs:
    if s["role"] == "source":
        by[s["result"]] = by.get(s["result"], 0) + 1
print(f"# migsim sources by result: {by}")
from collections import Counter
reused = sum(1 for p, n in Counter(s["pid"] for s in runs).items() if n > 1)
print(f"# {reused} PIDs ran more than one migrating process")
sys.exit(0 if ok and len(runs) > 0 else 1)
EOF
