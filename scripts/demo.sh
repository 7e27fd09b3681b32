#!/usr/bin/env bash
# make demo: the default migsim scenario (a VM with two VFIO devices migrating
# with switchover-ack) under `migscope top`, the live view (plain --batch
# snapshots when not on a terminal), while `migscope record` writes
# build/demo.trace; then the replayed timeline of that recording.
set -euo pipefail
cd "$(dirname "$0")/.."
trace=build/demo.trace
err=$(mktemp)
simlog=$(mktemp)
toppid=$(mktemp)
rec= top= driver=
cleanup() {
	[ -n "$driver" ] && kill "$driver" 2> /dev/null
	[ -n "$top" ] && kill -INT "$top" 2> /dev/null
	[ -n "$rec" ] && kill -INT "$rec" 2> /dev/null
	rm -f "$err" "$simlog" "$toppid"
	true
}
trap cleanup EXIT

build/migscope record -o "$trace" 2> "$err" &
rec=$!
for _ in $(seq 300); do
	grep -q 'recording to' "$err" && break
	kill -0 "$rec" 2> /dev/null || { cat "$err" >&2; exit 1; }
	sleep 0.1
done
cat "$err" >&2

if [ -t 0 ] && [ -t 1 ]; then
	# On a terminal: the view in the foreground; migsim starts once it is up
	# and the view stays 4 s on the result (q leaves earlier).
	echo "== migscope top while migsim runs the default scenario (q quits)"
	sleep 1
	(
		for _ in $(seq 100); do [ -s "$toppid" ] && break; sleep 0.1; done
		sleep 2 # the view attaches its probes
		build/migsim > "$simlog" 2>&1 || true
		sleep 4
		kill -INT "$(cat "$toppid")" 2> /dev/null || true
	) &
	driver=$!
	timeout --foreground 60 sh -c 'echo $$ > "$1"; exec build/migscope top --binary build/migsim --interval 0.25' \
		sh "$toppid" || true
	wait "$driver" || true
	driver=
	cat "$simlog"
else
	# Not a terminal (CI, a pipe): plain snapshots, as top -b.
	echo "== migscope top --batch while migsim runs the default scenario (migsim-vm, 2 VFIO devices, switchover-ack on)"
	build/migscope top --batch --binary build/migsim --interval 0.5 &
	top=$!
	sleep 2 # the view attaches its probes
	build/migsim
	sleep 1
	kill -INT "$top"
	wait "$top" || true
	top=
fi

kill -INT "$rec"
wait "$rec" || true
rec=
sed -n '2,$p' "$err" >&2
echo
echo "== migscope replay $trace"
build/migscope replay "$trace"
