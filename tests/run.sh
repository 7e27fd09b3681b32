#!/usr/bin/env bash
# Run every test suite: unit tests (plain and ASan/UBSan builds), then the
# shell suites under tests/*/test_*.sh. Prints "N passed, N failed" last and
# exits nonzero if anything failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export MS_RESULTS=$(mktemp /tmp/migscope-results.XXXXXX)
export MS_ROOT=$root
trap 'rm -f "$MS_RESULTS"' EXIT
only=${1:-}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the live tests need root" >&2
	exit 1
fi

run_unit() {
	local bin=$1 out
	out=$("$bin" 2>&1); local st=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	if [ $st -eq 0 ]; then
		echo "ok - unit: $bin"; echo ok >> "$MS_RESULTS"
	else
		echo "not ok - unit: $bin (exit $st)"; echo fail >> "$MS_RESULTS"
	fi
}

if [ -z "$only" ] || [ "$only" = unit ]; then
	for b in build/tests/test_* build/san/tests/test_*; do
		[ -x "$b" ] && [ "${b%.d}" = "$b" ] && run_unit "$b"
	done
fi

for s in tests/*/test_*.sh; do
	[ -f "$s" ] || continue
	case "$only" in ""|"$(basename "$(dirname "$s")")") ;; *) continue ;; esac
	echo "# $s"
	bash "$s" || { echo "not ok - $s exited $?"; echo fail >> "$MS_RESULTS"; }
done

pass=$(grep -c '^ok$' "$MS_RESULTS")
fail=$(grep -c '^fail$' "$MS_RESULTS")
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
