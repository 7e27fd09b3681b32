#!/usr/bin/env bash
# make fuzz-long: a fuzzing campaign, not part of make check. Every libFuzzer
# target (build/fuzz/fuzz_*, ASan + UBSan) runs until it has had
# FUZZ_LONG_SECONDS of CPU (default 3600: one CPU-hour each), FUZZ_JOBS at a
# time (default the CPU count), from the seed corpus in tests/fuzz/corpus/NAME.
# The fuzzers run at the idle scheduling class, so that the machine stays
# usable: libFuzzer's -max_total_time is wall time, so a target is restarted
# on its growing corpus until its CPU time (the shell's children's user +
# system time) reaches the budget. Crashes are kept under build/fuzz-long/NAME/
# and fail the run. The corpus in the repository is then the named seeds plus
# the minimised set of what was found (-merge=1 of the seeds and the
# campaign's corpus; what the seeds already cover is not added), and one line
# per target gives the figures for docs/hardening.md.
#
# FUZZ_LONG_SECONDS_NAME (e.g. FUZZ_LONG_SECONDS_http) sets one target's
# budget: what is left of it when an earlier part's corpus was committed.
#
# A campaign may run in parts: FUZZ_LONG_WALL=S stops each target after S
# seconds of wall time this run (its CPU so far kept in NAME/cpu_total), and
# FUZZ_LONG_RESUME=1 goes on from there, on the same corpus and log, until the
# budget is met; a target short of it is reported "paused".
#
# FUZZ_LONG_MERGE_ONLY=1 runs nothing: it redoes the merge and the report of
# the targets that have a campaign directory (after a run whose merge was
# refused, once its artifacts have been looked at).
#
# libFuzzer's slow-unit-* artifacts (a unit that took more than 10 s of wall
# time, as one does when the machine is busy or the fuzzer was stopped) are
# counted apart and do not fail the run; crash-, leak-, oom- and timeout-
# artifacts do.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_LONG_SECONDS:-3600}
jobs=${FUZZ_JOBS:-$(nproc)}
wall_cap=${FUZZ_LONG_WALL:-0}
resume=${FUZZ_LONG_RESUME:-0}
out=$root/build/fuzz-long
make -C "$root" --no-print-directory fuzz || exit 1
mkdir -p "$out"
merge_only=${FUZZ_LONG_MERGE_ONLY:-0}

# whole seconds of CPU the calling shell's finished children have used: its
# times builtin prints its own line, then its children's ("XmY.YYYs XmY.YYYs");
# called as children_cpu FILE after times > FILE, since a $(...) subshell has
# children of its own
children_cpu() {
	sed -n 2p "$1" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m");
		s += a[1] * 60 + a[2] } printf "%d", s }'
}

# budget NAME: the CPU seconds target NAME is to have
budget() {
	local v=FUZZ_LONG_SECONDS_$1
	echo "${!v:-$secs}"
}

run_one() {
	local name=$1 bin=$root/build/fuzz/fuzz_$1 dir=$out/$1 base=0 wbase=0 want
	want=$(budget "$1")
	if [ "$resume" = 1 ] && [ -f "$dir/cpu_total" ]; then
		base=$(cat "$dir/cpu_total") wbase=$(cat "$dir/wall_total")
	else
		rm -rf "$dir" && mkdir -p "$dir/work" "$dir/crashes"
		cp -r "$root/tests/fuzz/corpus/$name/." "$dir/work/" 2>/dev/null
	fi
	local t0=$SECONDS cpu=$base rc=0 t
	while [ "$cpu" -lt "$want" ] && [ "$rc" -eq 0 ]; do
		t=$((want - cpu))
		if [ "$wall_cap" -gt 0 ]; then
			[ $((SECONDS - t0)) -lt "$wall_cap" ] || break
			[ $((wall_cap - SECONDS + t0)) -lt "$t" ] && t=$((wall_cap - SECONDS + t0))
		fi
		chrt --idle 0 "$bin" -max_total_time="$t" -rss_limit_mb=2048 \
			-timeout=60 -print_final_stats=1 -artifact_prefix="$dir/crashes/" \
			"$dir/work" >> "$dir/log" 2>&1
		rc=$?
		times > "$dir/times"
		cpu=$((base + $(children_cpu "$dir/times")))
	done
	echo "$rc" > "$dir/status"
	echo "$cpu" > "$dir/cpu_total"
	echo $((wbase + SECONDS - t0)) > "$dir/wall_total"
}

names=()
for bin in "$root"/build/fuzz/fuzz_*; do
	n=${bin##*/fuzz_}
	[ "$merge_only" = 1 ] && [ ! -f "$out/$n/status" ] && continue
	names+=("$n")
done
running=0
for n in "${names[@]}"; do
	[ "$merge_only" = 1 ] && break
	run_one "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

fail=0
printf '%-10s %8s %8s %12s %8s %8s %8s %8s %5s %s\n' target wall_s cpu_s runs cov ft corpus crashes slow done
for n in "${names[@]}"; do
	dir=$out/$n bin=$root/build/fuzz/fuzz_$n
	# the minimised union: seeds first, then what the campaign found
	rm -rf "$dir/min" && mkdir -p "$dir/min"
	"$bin" -merge=1 -rss_limit_mb=2048 -timeout=60 "$dir/min" \
		"$root/tests/fuzz/corpus/$n" "$dir/work" > "$dir/merge.log" 2>&1
	crashes=$(find "$dir/crashes" -type f ! -name 'slow-unit-*' | wc -l)
	slow=$(find "$dir/crashes" -type f -name 'slow-unit-*' | wc -l)
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$dir/log" | grep -oE '[0-9]+$' |
		awk '{ s += $1 } END { print s }')
	# coverage and features of the merged corpus under the current binary
	# (a campaign's last status line may come from an older harness)
	cov=$(grep -oE '[0-9]+ new coverage edges' "$dir/merge.log" | grep -oE '^[0-9]+')
	ft=$(grep -oE '[0-9]+ new features' "$dir/merge.log" | grep -oE '^[0-9]+')
	if [ "$(cat "$dir/status")" -ne 0 ] || [ "$crashes" -gt 0 ]; then
		fail=1
	else
		# the named seeds stay; what the campaign adds (inputs named by
		# their SHA-1, as libFuzzer names them) replaces the last one's
		local_corpus=$root/tests/fuzz/corpus/$n
		mkdir -p "$local_corpus"
		find "$local_corpus" -type f -regextype egrep -regex '.*/[0-9a-f]{40}' -delete
		for f in "$local_corpus"/*; do
			[ -f "$f" ] && rm -f "$dir/min/$(sha1sum < "$f" | cut -c1-40)"
		done
		cp "$dir/min/"* "$local_corpus/" 2>/dev/null
	fi
	done=yes
	[ "$(cat "$dir/cpu_total")" -ge "$(budget "$n")" ] || done=paused
	[ "$merge_only" = 1 ] && done=merged
	printf '%-10s %8s %8s %12s %8s %8s %8s %8s %5s %s\n' "$n" "$(cat "$dir/wall_total")" \
		"$(cat "$dir/cpu_total")" "${runs:-?}" "${cov:-?}" "${ft:-?}" \
		"$(ls "$root/tests/fuzz/corpus/$n" | wc -l)" "$crashes" "$slow" "$done"
done
[ "$fail" -eq 0 ] || { echo "fuzz-long: crashes or failures under $out (see */log)"; exit 1; }
