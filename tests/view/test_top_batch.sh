#!/usr/bin/env bash
# View tests: `migscope top --batch`, plain-text snapshots on stdout, live
# against a migsim migration whose ACK is held back, and with --replay on the
# recording of the same run; then the command line's errors.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
TOP_PID=
cleanup_batch() {
	[ -n "$TOP_PID" ] && kill "$TOP_PID" 2> /dev/null
	t_cleanup
}
trap cleanup_batch EXIT

VM=batch-ack-$$
U=7a1e0000-0000-4000-8002-$(printf '%012d' $$)

# snapshots FILE: how many snapshots a batch output holds
snapshots() { grep -c '^migscope top - ' "$1"; }

# rows FILE ROLE REGEX: lines of FILE that are rows of this VM's ROLE side and match
rows() { grep -E "^ +[0-9]+ $VM +$2 +.*$3" "$1"; }

# order FILE REGEX1 REGEX2: a line matching REGEX1 comes before one matching REGEX2
order() {
	local a b
	a=$(grep -nE -m1 -- "$2" "$1" | cut -d: -f1)
	b=$(grep -nE -- "$3" "$1" | tail -1 | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

# last FILE: the last snapshot of a batch output
last() { awk '/^migscope top - /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$1"; }

# fmt_dur MS: a duration as top prints it
fmt_dur() {
	$PY -c 'import sys
ns = float(sys.argv[1]) * 1e6
print("%.2fms" % (ns / 1e6) if ns < 1e6 else "%.1fms" % (ns / 1e6) if ns < 1e8 else
      "%.0fms" % (ns / 1e6) if ns < 1e9 else "%.2fs" % (ns / 1e9))' "$1"
}

export -f last

# ---------------------------------------------------------------- live
if rec_start "$T/b.trace" --binary "$MIGSIM"; then
	"$MIGSCOPE" top --batch --binary "$MIGSIM" --interval 0.5 -n 14 > "$T/live.out" 2> "$T/live.err" < /dev/null &
	TOP_PID=$!
	if wait_for 30 grep -q '^migscope top - ' "$T/live.out"; then
		"$MIGSIM" -name "guest=$VM" -uuid "$U" --approval-delay 2000 --log "$T/b.log" > "$T/b.out" 2>&1
		check "live: migsim completed" grep -q 'migration completed' "$T/b.out"
		wait "$TOP_PID"; st=$?
		TOP_PID=
		check "live: --batch -n 14 exits 0 after 14 snapshots" test "$st:$(snapshots "$T/live.out")" = "0:14"
	else
		t_fail "live: no first snapshot"; sed 's/^/#   /' "$T/live.err"
	fi
	sleep 0.3
	rec_stop || t_fail "live: recorder failed"
	check "live: header: host, live, processes, probes, events/s, lost" \
		grep -qE '^QEMU processes [0-9]+ traced, [1-9][0-9]* probes attached, [0-9]+ events/s, [0-9]+ lost; migrations: ' "$T/live.out"
	check "live: title with the time and host" grep -qE '^migscope top - [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} - host .* - live$' "$T/live.out"
	check "live: column header" grep -qE '^ +PID VM +ROLE PHASE +ELAPSED PRECOPY +PENDING +BW EXP DT/LIMIT ACK +LAST DT NOTE$' "$T/live.out"
	check "live: both sides have rows named by the VM, waiting for the ACK" \
		bash -c "grep -qE '^ +[0-9]+ $VM +src +waiting-ack .* waiting [01]/2 ' $T/live.out && grep -qE '^ +[0-9]+ $VM +dst +loading .* waiting [01]/2 .*ACK needs 0000:00:0[56].0' $T/live.out"
	check "live: the ACK column goes from waiting to acked" \
		order "$T/live.out" "^ +[0-9]+ $VM +src .* waiting [01]/2 " "^ +[0-9]+ $VM +src +completed .* acked \+[0-9.]+s "
	check "live: device lines under the rows" \
		grep -qE '^ +device 0000:00:05\.0 +PRE_COPY +initial .* dirty .* stop-copy .* history .* drain .* approval ' "$T/live.out"
	dt=$($PY -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j.get("summary", {}).get("role") == "source": print(j["summary"]["downtime_ms"])' "$T/b.log")
	# migsim stamps its own clock reads, BPF the probes': within 0.15 ms
	check "live: the last snapshot has the downtime migsim measured ($dt ms)" \
		$PY -c '
import re, subprocess, sys
out, vm, dt = sys.argv[1], sys.argv[2], float(sys.argv[3])
snap = open(out).read().split("migscope top - ")[-1]
m = re.search(r"^ +[0-9]+ %s +src +completed .* acked \+[0-9.]+s +([0-9.]+)(ms|s)( |$)" % re.escape(vm), snap, re.M)
v = m and float(m.group(1)) * (1000 if m.group(2) == "s" else 1)
print("# top: %s ms, migsim: %s ms" % (v, dt))
sys.exit(0 if v is not None and abs(v - dt) <= 0.15 else 1)' "$T/live.out" "$VM" "$dt"
else
	t_fail "live: recorder did not start"
fi

# ---------------------------------------------------------------- replay
if [ -s "$T/b.trace" ]; then
	PIDS=$($PY -c '
import json, sys
pids = {json.loads(l).get("pid") for l in open(sys.argv[1]) if l.strip()}
print(" ".join("-p %d" % p for p in sorted(p for p in pids if p)))' "$T/b.log")
	# shellcheck disable=SC2086
	"$MIGSCOPE" top --replay "$T/b.trace" --batch --interval 0.5 $PIDS > "$T/rep.out" 2> "$T/rep.err"
	check "replay: --batch exits 0" test $? = 0
	n=$(snapshots "$T/rep.out")
	check "replay: one snapshot per 0.5 s of trace time, then the end of the file" \
		$PY -c '
import re, sys
t = [l for l in open(sys.argv[1]) if l.startswith("migscope top - ")]
rel = [float(re.search(r" at \+([0-9.]+)s", l).group(1)) for l in t]
eof = [i for i, l in enumerate(t) if "(end of file)" in l]
ok = eof == [len(t) - 1] and all(abs(r - 0.5 * (i + 1)) < 1e-6 for i, r in enumerate(rel[:-1]))
ok = ok and 0 <= rel[-1] - rel[-2] <= 0.5
print("# %d snapshots, last at +%.3fs" % (len(t), rel[-1]))
sys.exit(0 if ok else 1)' "$T/rep.out"
	check "replay: the title names the file and the recording host" \
		grep -qE "^migscope top - [0-9-]+ [0-9:]+ - host .* - replay $T/b.trace at \+0\.500s$" "$T/rep.out"
	check "replay: -p keeps those processes' rows only" \
		test "$(grep -cE '^ +[0-9]+ [^ ]+ +(src|dst) ' <(last "$T/rep.out"))" = 2
	check "replay: waiting for the ACK, then acked" \
		order "$T/rep.out" "^ +[0-9]+ $VM +src +waiting-ack .* waiting [01]/2 " "^ +[0-9]+ $VM +src +completed .* acked "
	"$MIGSCOPE" replay --format json -o "$T/b.json" "$T/b.trace"
	want=$(fmt_dur "$(jq -r --arg vm "$VM" '.migrations[] | select(.vm==$vm and .role=="source") | .downtime_ms' "$T/b.json")")
	check "replay: the last snapshot is the state at the end of the file (downtime $want, as replay says)" \
		bash -c "last $T/rep.out | grep -qE '^ +[0-9]+ $VM +src +completed .* acked \+[0-9.]+s +$want( |\$)' &&
			last $T/rep.out | grep -qE '^ +[0-9]+ $VM +dst +completed .* acked \+[0-9.]+s +$want( |\$)'"
	check "replay: the downtime breakdown at the end" \
		bash -c "last $T/rep.out | grep -qE '^ +downtime $want \(guest [0-9.]+m?s\): stop .*, iterable .*, non-iterable .*, transfer\+load .*, dst start '"
	check "replay: destination devices approved" \
		test "$(last "$T/rep.out" | grep -cE '^ +device 0000:00:0[56]\.0 +RUNNING +initial +8\.0M +loaded .* approval approved \+')" = 2
	# shellcheck disable=SC2086
	"$MIGSCOPE" top --replay "$T/b.trace" --batch --interval 0.5 -n 3 $PIDS > "$T/rep3.out"
	check "replay: -n 3 stops after 3 snapshots, the last at +1.5 s" \
		bash -c "test \$(grep -c '^migscope top - ' $T/rep3.out) = 3 && tail -n +1 $T/rep3.out | grep '^migscope top - ' | tail -1 | grep -q 'at +1.500s$'"
	check "replay: same snapshots whatever the run" \
		bash -c "head -n \$(wc -l < $T/rep3.out) $T/rep.out | cmp -s - $T/rep3.out"
	# two hosts: each side's own recording, and the two merged
	dpid=$(jq --arg vm "$VM" '.migrations[] | select(.vm==$vm and .role=="destination") | .pid' "$T/b.json")
	if "$MS_BUILD/mssplit" "$T/b.trace" -s "$T/bs.trace" -d "$T/bd.trace" --dst-pid "$dpid" \
		--mono-shift 2500000000 --host dsthost &&
	   "$MIGSCOPE" merge "$T/bs.trace" "$T/bd.trace" -o "$T/bm.trace" 2> /dev/null; then
		"$MIGSCOPE" top --replay "$T/bs.trace" --batch --interval 1000 > "$T/reps.out"
		check "two hosts: the source's own recording shows its figures and 'peer: other host'" \
			bash -c "grep -A1 -E '^ +[0-9]+ $VM +src +completed .* acked \+[0-9.]+s +$want( |\$)' $T/reps.out |
				grep -q '^ *peer: other host$'"
		"$MIGSCOPE" top --replay "$T/bm.trace" --batch --interval 1000 > "$T/repm.out"
		check "two hosts: the merged file shows the peer's host and the clock bound" \
			bash -c "grep -A1 -E '^ +[0-9]+ $VM +src +completed ' $T/repm.out |
				grep -qE '^ *peer: dsthost pid $dpid, clocks aligned \+/-[0-9.]+(us|ms)$'"
	else
		t_fail "two hosts: split and merge the recording"
	fi
	"$MIGSCOPE" top --replay "$T/b.trace" --batch --interval 1000 > "$T/rep1.out"
	check "replay: an interval longer than the file gives its end state once" \
		bash -c "test \$(grep -c '^migscope top - ' $T/rep1.out) = 1 && grep -q '(end of file)' $T/rep1.out"
	head -c $(($(stat -c %s "$T/b.trace") * 2 / 3)) "$T/b.trace" > "$T/cut.trace"
	"$MIGSCOPE" top --replay "$T/cut.trace" --batch --interval 0.5 > "$T/cut.out" 2> "$T/cut.err"
	check "replay: a truncated file: status 1, one error line" \
		test "$?:$(grep -c . "$T/cut.err")" = 1:1
	check "replay: a truncated file: snapshots up to where it stops, then where it stopped" \
		bash -c "last $T/cut.out | grep -q '(end of file)' && last $T/cut.out | grep -q '^input stopped: .*truncated' && grep -qE '^migscope: top: .*truncated' $T/cut.err"
else
	t_fail "replay: no recording"
fi

# ---------------------------------------------------------------- errors
# expect_error NAME STATUS PATTERN COMMAND...: that status, one stderr line matching
expect_error() {
	local name=$1 want=$2 pat=$3; shift 3
	"$@" > "$T/e.out" 2> "$T/e.err" < /dev/null; local st=$?
	if [ "$st" = "$want" ] && [ "$(grep -c . "$T/e.err")" = 1 ] && grep -qE "^migscope: top: .*$pat" "$T/e.err"; then
		t_pass "$name"
	else
		t_fail "$name (exit $st)"; sed 's/^/#   /' "$T/e.err" | head -5
	fi
}
expect_error "errors: no terminal and no --batch" 1 "not a terminal; use --batch" "$MIGSCOPE" top
expect_error "errors: --speed without --replay" 2 "--speed needs --replay" "$MIGSCOPE" top --batch --speed 2
expect_error "errors: bad --speed" 2 "--speed takes a factor > 0" "$MIGSCOPE" top --replay x --speed 0
expect_error "errors: bad --interval" 2 "--interval takes seconds" "$MIGSCOPE" top --batch --interval abc
expect_error "errors: bad -n" 2 "-n takes a count > 0" "$MIGSCOPE" top --batch -n 0
expect_error "errors: missing trace file" 1 "$T/nope" "$MIGSCOPE" top --batch --replay "$T/nope"
printf 'not a trace\n' > "$T/text"
expect_error "errors: not a trace file" 1 "not a migscope trace" "$MIGSCOPE" top --batch --replay "$T/text"
expect_error "errors: -p of no process" 1 "no process with PID" "$MIGSCOPE" top --batch -p 4194303
"$MIGSCOPE" top --help > "$T/help" 2>&1
check "help: --help exits 0 and shows the keys and examples" \
	bash -c "grep -q 'Keys: q quit' $T/help && grep -q 'migscope top --replay mig.trace --speed 4' $T/help"
"$MIGSCOPE" top --replay "$T/b.trace" --batch --interval 0.01 2> "$T/pipe.err" | head -1 > /dev/null
check "batch: a closed pipe ends it quietly" test "${PIPESTATUS[0]}:$(wc -c < "$T/pipe.err")" = 0:0
exit 0
