#!/usr/bin/env bash
# make demo: record the default migsim scenario (a VM with two VFIO devices
# migrating with switchover-ack) live, then replay the recording.
set -euo pipefail
cd "$(dirname "$0")/.."
trace=build/demo.trace
err=$(mktemp)
trap 'rm -f "$err"; [ -n "${rec:-}" ] && kill -INT "$rec" 2>/dev/null; true' EXIT

build/migscope record -o "$trace" 2> "$err" &
rec=$!
for _ in $(seq 300); do
	grep -q 'recording to' "$err" && break
	kill -0 "$rec" 2>/dev/null || { cat "$err" >&2; exit 1; }
	sleep 0.1
done
cat "$err" >&2
echo "== migsim: default scenario (migsim-vm, 2 VFIO devices, switchover-ack on)"
build/migsim
kill -INT "$rec"
wait "$rec" || true
rec=
sed -n '2,$p' "$err" >&2
echo
echo "== migscope replay $trace"
build/migscope replay "$trace"
