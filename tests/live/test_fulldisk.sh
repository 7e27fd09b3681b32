#!/usr/bin/env bash
# A full disk: record and serve --record write onto a small tmpfs that fills
# up while migsim migrates. record: one error line, exit 1, and the file
# replays up to its last whole chunk. serve --record: one line, the metrics
# go on (a later migration is still exported), exit 1 at the end.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
MIGSIM=$MS_BUILD/migsim
MNT=$T/small
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=64k tmpfs "$MNT" 2> "$T/mount.err"; then
	echo "# skipped: cannot mount a tmpfs here: $(head -1 "$T/mount.err")"
	exit 0
fi
SPID=
fd_cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	umount "$MNT" 2>/dev/null
	t_cleanup
}
trap fd_cleanup EXIT
jqq() { jq -e "$@" > /dev/null; }

# --- record
"$MIGSCOPE" record -o "$MNT/full.trace" --binary "$MIGSIM" 2> "$T/rec.err" &
RPID=$!
if ! wait_for 30 grep -q 'recording to' "$T/rec.err"; then
	t_fail "full disk: record did not start"; sed 's/^/#   /' "$T/rec.err"
	exit 0
fi
for _ in $(seq 40); do
	kill -0 "$RPID" 2>/dev/null || break
	"$MIGSIM" --log "$T/sim.log" > /dev/null 2>&1
done
kill -0 "$RPID" 2>/dev/null && kill -INT "$RPID"
wait "$RPID"; st=$?
check "full disk: record exits 1" test "$st" -eq 1
errs=$(grep -c '^migscope: record:' "$T/rec.err")
check "full disk: one error line, naming the disk ($errs)" bash -c \
	"[ '$errs' -eq 1 ] && grep -q '^migscope: record: .*No space left on device' '$T/rec.err'"
sed 's/^/#   /' "$T/rec.err" | head -4
"$MIGSCOPE" replay --format json -o "$T/full.json" "$MNT/full.trace" 2> "$T/full.err"; rst=$?
check "full disk: the replay says where the file stops (exit 1, one line)" bash -c \
	"[ '$rst' -eq 1 ] && [ \$(grep -vc '^$' '$T/full.err') -eq 1 ]"
check "full disk: its whole chunks replay: a completed migration" \
	jqq '[.migrations[] | select(.result == "completed")] | length >= 1' "$T/full.json"

# --- serve --record
umount "$MNT" && mount -t tmpfs -o size=64k tmpfs "$MNT"
port=$(( 20000 + RANDOM % 20000 ))
"$MIGSCOPE" serve --listen "127.0.0.1:$port" --record "$MNT/serve.trace" --binary "$MIGSIM" \
	2> "$T/serve.err" &
SPID=$!
if ! wait_for 30 grep -q 'serving http' "$T/serve.err"; then
	t_fail "full disk: serve did not start"; sed 's/^/#   /' "$T/serve.err"
	exit 0
fi
for _ in $(seq 40); do
	grep -q 'stopped' "$T/serve.err" && break
	"$MIGSIM" --log "$T/sim.log" > /dev/null 2>&1
done
check "full disk: serve says once that the trace file stopped" bash -c \
	"[ \$(grep -c 'record .* stopped: .*No space left' '$T/serve.err') -eq 1 ]"
check "full disk: serve still runs" kill -0 "$SPID"
# a migration after the disk filled is still exported
ended() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^migscope_migrations_total/ {s += $NF} END {print s + 0}'; }
before=$(ended)
"$MIGSIM" --log "$T/sim2.log" > /dev/null 2>&1
sleep 1.5
after=$(ended)
check "full disk: the metrics go on ($before -> $after migrations ended)" test "$after" -gt "$before"
kill -INT "$SPID"; wait "$SPID"; sst=$?; SPID=
check "full disk: serve exits 1" test "$sst" -eq 1
"$MIGSCOPE" replay --format json -o "$T/serve.json" "$MNT/serve.trace" 2> /dev/null
check "full disk: serve's file replays up to its last whole chunk" \
	jqq '.migrations | length >= 1' "$T/serve.json"
