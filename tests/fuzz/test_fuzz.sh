#!/usr/bin/env bash
# Fuzz smoke: every libFuzzer target runs a few seconds from its seed corpus
# and must find nothing.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
secs=${FUZZ_SECONDS:-5}
if ! make -C "$MS_ROOT" --no-print-directory fuzz > "$T/build.log" 2>&1; then
	t_fail "fuzz targets build"; sed 's/^/#   /' "$T/build.log" | tail -20
	exit 0
fi
for bin in "$MS_ROOT"/build/fuzz/fuzz_*; do
	name=${bin##*/fuzz_}
	corpus="$MS_ROOT/tests/fuzz/corpus/$name"
	mkdir -p "$T/$name"
	[ -d "$corpus" ] && cp -r "$corpus/." "$T/$name/"
	if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 "$T/$name" > "$T/$name.log" 2>&1; then
		t_pass "fuzz $name: ${secs} s, $(grep -oE 'Done [0-9]+ runs' "$T/$name.log" | head -1)"
	else
		t_fail "fuzz $name found a crash"; grep -E 'ERROR|SUMMARY' "$T/$name.log" | head -5 | sed 's/^/#   /'
	fi
done
