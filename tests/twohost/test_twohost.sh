#!/usr/bin/env bash
# Two hosts: one migsim run recorded on this host is split into the files that
# a source host and a destination host would have written (tests/tools/
# mssplit.c: other boot id, host, and clocks shifted by chosen amounts); the
# replay of the two must pair them and give every cross-side figure within its
# clock bound of the one-host figures. Also: merge, pairing without names,
# a clock step, unrelated files, a truncated file, and two live recorders.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
MSSPLIT=$MS_BUILD/mssplit
CHECK="$PY $MS_ROOT/tests/twohost/check_pair.py"
jqe() { jq -e "$@" > /dev/null; }

record_run() { # FILE LOG [MIGSIM ARGS]: one migsim run under one recorder
	local f=$1 log=$2; shift 2
	rec_start "$f" --binary "$MIGSIM" || return 1
	"$MIGSIM" --log "$log" "$@" > /dev/null 2>&1
	sleep 0.3
	rec_stop
}

if ! record_run "$T/one.trace" "$T/one.log"; then
	t_fail "two hosts: recording the one-host run"
	exit 0
fi
"$MIGSCOPE" replay -j "$T/one.trace" > "$T/one.json"
check "two hosts: the one-host recording has one pair on one clock" \
	jqe '(.pairs | length) == 1 and .pairs[0].clock_basis == "same-clock" and .pairs[0].clock_error_ms == 0' "$T/one.json"

# split SHIFT_MONO SHIFT_REAL [MSSPLIT ARGS]: $T/s.trace, $T/d.trace, $T/two.json
split() {
	local m=$1 r=$2; shift 2
	"$MSSPLIT" "$T/one.trace" -s "$T/s.trace" -d "$T/d.trace" --mono-shift "$m" \
		--real-shift "$r" "$@" &&
	"$MIGSCOPE" replay -j "$T/s.trace" "$T/d.trace" > "$T/two.json"
}

# shifts: +42 us, -41 ms, +2.5 s (realtime right), +2 h on both clocks, a
# negative realtime drift
for sh in "42000 42000" "-41000000 -41000000" "2500000000 0" "7200000000000 7200000000000" \
	  "5000000 5000000 --real-drift -200"; do
	set -- $sh
	label="two hosts: destination clock +$1 ns (realtime +$2 ns${3:+ $3 $4 ppm})"
	if split "$@"; then
		$CHECK "$T/one.json" "$T/two.json" "$label" --offset "$((-$1))" --by vm
		check "$label: the sides carry their hosts" \
			jqe '[.migrations[].host] | sort | length == 2 and .[0] != .[1]' "$T/two.json"
	else
		t_fail "$label: split and replay"
	fi
done

# merge: one file on the source's clock that replays alone with the same figures
split 2500000000 0
if "$MIGSCOPE" merge "$T/s.trace" "$T/d.trace" -o "$T/m.trace" 2> "$T/merge.err" &&
   "$MIGSCOPE" replay -j "$T/m.trace" > "$T/m.json"; then
	check "merge: the merged file replays alone with the figures and bound of the two files" \
		jqe --slurpfile two "$T/two.json" '.pairs[0] as $a | $two[0].pairs[0] as $b |
			[$a.guest_downtime_ms, $a.ack_transit_ms, $a.clock_offset_ms, $a.clock_error_ms, $a.clock_basis] ==
			[$b.guest_downtime_ms, $b.ack_transit_ms, $b.clock_offset_ms, $b.clock_error_ms, $b.clock_basis]' "$T/m.json"
	check "merge: one line says the offset and its bound" grep -qE 'destination clock offset -(2499|2500)\.[0-9]* ms \+- 0\.' "$T/merge.err"
	$CHECK "$T/one.json" "$T/m.json" "merge" --offset -2500000000
else
	t_fail "merge: merge and replay"; sed 's/^/#   /' "$T/merge.err"
fi
check "merge: bad use is one line and status 2" \
	bash -c "! '$MIGSCOPE' merge '$T/s.trace' 2> '$T/e'; [ \$(wc -l < '$T/e') = 1 ]"

# no names (QEMU logs name none): the messages alone pair them, even two hours apart
if split 7200000000000 7200000000000 --anon; then
	check "no names: the VMs are unnamed" jqe '[.migrations[].vm] == [null, null]' "$T/two.json"
	$CHECK "$T/one.json" "$T/two.json" "no names, +2 h" --by messages --offset -7200000000000
fi

# a clock step of +30 ms on the destination 300 ms before the stop phase: no single
# offset fits; the stop phase's messages bound it. Its one stream message is
# SWITCHOVER_START, which waits behind whatever precopy data the destination has
# not read yet: the bound is that backlog (under 2 ms in most runs, 5.9 ms seen), so the
# check allows 10 ms; the true offset must lie within whatever bound it gives.
stop=$(jq '.migrations[] | select(.role=="source") | .start_ns + .milestones["src-downtime-start"]' "$T/one.json")
if split 1000000 1000000 --jump-at "$((stop - 300000000))" --jump 30000000; then
	$CHECK "$T/one.json" "$T/two.json" "clock step" --basis stop-phase-messages --offset -31000000 --max-error 10
	check "clock step: the pair says why" jqe '.pairs[0].clock_note | test("stepped")' "$T/two.json"
fi

# unrelated files: the source of one run, the destination of another
if record_run "$T/other.trace" "$T/other.log" --devices 1; then
	"$MSSPLIT" "$T/other.trace" -s "$T/s2.trace" -d "$T/d2.trace" --mono-shift 1000000 --anon
	"$MSSPLIT" "$T/one.trace" -s "$T/s1.trace" -d "$T/d1.trace" --anon
	"$MIGSCOPE" replay -j "$T/s1.trace" "$T/d2.trace" > "$T/unrel.json"
	"$MIGSCOPE" replay "$T/s1.trace" "$T/d2.trace" > "$T/unrel.txt"
	check "unrelated files: no pair" jqe '(.pairs | length) == 0' "$T/unrel.json"
	check "unrelated files: the text says which side found none and why" \
		grep -q 'no destination of the same VM in time, and none whose protocol messages match' "$T/unrel.txt"
else
	t_fail "unrelated files: recording the second run"
fi

# a truncated destination file: what was read replays, status 1, one line says where
split 2500000000 0
head -c $(( $(stat -c %s "$T/d.trace") / 2 )) "$T/d.trace" > "$T/dt.trace"
st=0; "$MIGSCOPE" replay -j "$T/s.trace" "$T/dt.trace" > "$T/trunc.json" 2> "$T/trunc.err" || st=$?
check "truncated file: status 1 and the source still reported" \
	bash -c "[ $st = 1 ] && jq -e '[.migrations[] | select(.role==\"source\")] | length == 1' '$T/trunc.json' > /dev/null"
check "truncated file: one line names the file and where it stopped" \
	bash -c "grep -c 'dt.trace: truncated at byte' '$T/trunc.err' | grep -qx 1"

# two live recorders, one per side (record -p SRC, record -p DST): two files
# of one boot, one clock; the pair and its figures as migsim's own
"$MIGSIM" --log "$T/live.log" --startup-delay 3000 > /dev/null 2>&1 &
sim=$!
wait_for 5 pgrep -P "$sim" -f incoming > /dev/null
dpid=$(pgrep -P "$sim" -f incoming | head -1)
spid=$sim
if [ -n "$dpid" ]; then
	"$MIGSCOPE" record -p "$spid" -o "$T/ls.trace" 2> "$T/ls.err" & r1=$!
	"$MIGSCOPE" record -p "$dpid" -o "$T/ld.trace" 2> "$T/ld.err" & r2=$!
	wait_for 20 grep -q 'recording to' "$T/ls.err"; wait_for 20 grep -q 'recording to' "$T/ld.err"
	wait "$sim"; sleep 0.3
	kill -INT $r1 $r2; wait $r1 $r2
	"$MIGSCOPE" replay -j "$T/ls.trace" "$T/ld.trace" > "$T/live.json"
	check "two recorders: each file holds its own side" bash -c "
		'$MIGSCOPE' replay -j '$T/ls.trace' | jq -e '[.migrations[].pid] | unique == [$spid]' > /dev/null &&
		'$MIGSCOPE' replay -j '$T/ld.trace' | jq -e '[.migrations[].pid] | unique == [$dpid]' > /dev/null"
	want=$(jq -s '(.[] | select(.summary.role=="destination") | .summary.milestones["dst-precopy-bh-vm-started"]) -
		(.[] | select(.summary.role=="source") | .summary.milestones["src-vm-stopped"])' \
		<(grep '"summary"' "$T/live.log"))
	check "two recorders: paired on one clock, guest downtime within 1 ms of migsim's ($((want / 1000)) us)" \
		jqe --argjson w "$want" '(.pairs | length) == 1 and .pairs[0].clock_basis == "same-clock" and
			((.pairs[0].guest_downtime_ms - $w / 1e6) | fabs) < 1' "$T/live.json"
else
	t_fail "two recorders: migsim's destination did not start"
	kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null
fi
