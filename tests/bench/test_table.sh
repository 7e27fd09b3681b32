#!/usr/bin/env bash
# The bench's figures in docs/: docs/performance.md's table is what
# tests/bench/table.py makes of docs/bench.json (no hand-copied figure), and
# report.py prints the last committed figures beside a new run's.
set -u
. "$(dirname "$0")/../lib.sh"
t_tmpdir

ref=$MS_ROOT/docs/bench.json doc=$MS_ROOT/docs/performance.md
if [ -f "$ref" ]; then
	check "table: docs/performance.md's table is docs/bench.json's" \
		$PY "$MS_ROOT/tests/bench/table.py" "$ref" --check "$doc"
else
	t_fail "table: docs/bench.json (the reference run) is missing"
fi

# a doc whose table was edited by hand is caught
cp "$doc" "$T/perf.md"
sed -i 's/^| `probe_ns_floor` | \([^|]*\) | [^|]* |/| `probe_ns_floor` | \1 | 1.0 |/' "$T/perf.md"
if cmp -s "$doc" "$T/perf.md"; then
	t_fail "table: the hand edit did not take (the probe_ns_floor row is not there)"
else
	$PY "$MS_ROOT/tests/bench/table.py" "$ref" --check "$T/perf.md" 2> "$T/err"
	st=$?
	check "table: a hand-edited figure fails the check (exit $st)" [ "$st" -eq 1 ]
	check "table: ... with one line that says how to regenerate it" \
		grep -q -- '--update' "$T/err"
	$PY "$MS_ROOT/tests/bench/table.py" "$ref" --update "$T/perf.md"
	check "table: --update puts the figures back" cmp -s "$doc" "$T/perf.md"
fi

# bad input: one line, exit 1
echo '{"spread": ' > "$T/bad.json"
$PY "$MS_ROOT/tests/bench/table.py" "$T/bad.json" > /dev/null 2> "$T/err"
st=$?
check "table: a broken JSON file: exit 1 (was $st), one line" \
	[ "$st" -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ]
printf 'no markers\n' > "$T/nomark.md"
$PY "$MS_ROOT/tests/bench/table.py" "$ref" --check "$T/nomark.md" 2> "$T/err"
check "table: a doc without the markers: exit 1" [ $? -eq 1 ]

# report.py: medians of the samples, and the last run's figures beside them
printf 'runs=3\nstart_utc=2026-12-01T00:00:00Z\n' > "$T/machine"
printf 'probe_ns_floor=600\nprobe_ns_floor=700\nprobe_ns_floor=650\nprobe_ns_migscope=780\n' > "$T/res"
printf '{"probe_ns_floor": 500, "machine": {"start_utc": "2026-11-01T00:00:00Z"}}\n' > "$T/last.json"
$PY "$MS_ROOT/tests/bench/report.py" "$T/machine" "$T/res" "$T/out.json" "$T/last.json" > "$T/rep"
check "report: the median of three samples (650)" \
	$PY -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["probe_ns_floor"] != 650)' "$T/out.json"
check "report: the last run's figure and the change beside the new one" \
	grep -qE '^probe_ns_floor +650 +600 +700 .* 500 +\+30\.0%' "$T/rep"
check "report: the run the last figures come from is named" \
	grep -q 'the run of 2026-11-01T00:00:00Z' "$T/rep"
check "report: a figure the last run lacks shows -" grep -qE '^probe_ns_migscope +780 .* -' "$T/rep"
check "report: the ratio target from these figures (1.2 <= 1.25: pass)" \
	grep -q 'PASS  probe: migscope <= 1.25 x floor: 1.2' "$T/rep"
