#!/usr/bin/env bash
# ThreadSanitizer: build/tsan/migscope (make SAN=thread) runs the threaded
# commands live while migsim migrates, and must report nothing: record (the
# ring-buffer reader and the trace writer), top --batch and serve (the
# collector thread, the engine lock, the HTTP threads scraping snapshots and
# collector_stats, the capability drop per thread), serve --record, and a
# new QEMU binary appearing while serve is scraped (the live source's binary
# table grows on the collector thread), and that binary replaced on disk (its
# old file detached by a thread of its own).
. "$(dirname "$0")/../lib.sh"
t_tmpdir
. "$MS_ROOT/tests/exporter/lib_exporter.sh"

TSAN_BIN=$MS_ROOT/build/tsan/migscope
if [ ! -x "$TSAN_BIN" ]; then
	make -C "$MS_ROOT" --no-print-directory SAN=thread all > "$T/build.log" 2>&1 ||
		{ t_fail "tsan: make SAN=thread"; tail -20 "$T/build.log" | sed 's/^/#   /'; exit 0; }
fi
MIGSCOPE=$TSAN_BIN
check "tsan: the binary is built with ThreadSanitizer" bash -c "nm '$TSAN_BIN' | grep -q __tsan_init"
# a report fails the process at its exit (status 66), and is in its stderr
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 history_size=4"

# clean NAME FILE: no ThreadSanitizer report in FILE
clean() {
	if grep -q 'WARNING: ThreadSanitizer' "$2"; then
		t_fail "$1: ThreadSanitizer reports"
		grep -A12 'WARNING: ThreadSanitizer' "$2" | head -40 | sed 's/^/#   /'
	else
		t_pass "$1: no ThreadSanitizer report"
	fi
}

# record while two migrations run
if rec_start "$T/r.trace" --binary "$MIGSIM"; then
	"$MIGSIM" > "$T/m1.out" 2>&1
	"$MIGSIM" --multifd --devices 3 > "$T/m2.out" 2>&1
	sleep 0.3
	rec_stop; st=$?
	check "record: exit 0 under TSan" test "$st" -eq 0
	clean record "$T/r.trace.err"
	"$MIGSCOPE" replay --format json -o "$T/r.json" "$T/r.trace" 2> "$T/replay.err"
	check "record: both migrations in the recording" \
		jq -e '[.migrations[] | select(.result == "completed")] | length >= 4' "$T/r.json" > /dev/null
else
	t_fail "record: did not start under TSan"
fi

# top --batch live
"$MIGSCOPE" top --batch --binary "$MIGSIM" --interval 0.2 -n 20 > "$T/top.out" 2> "$T/top.err" < /dev/null &
top_pid=$!
if wait_for 30 grep -q '^migscope top - ' "$T/top.out"; then
	"$MIGSIM" --approval-delay 500 > "$T/m3.out" 2>&1
	wait "$top_pid"; st=$?
	check "top --batch: exit 0 under TSan" test "$st" -eq 0
else
	kill "$top_pid" 2>/dev/null; wait "$top_pid" 2>/dev/null
	t_fail "top --batch: no snapshot under TSan"
fi
clean "top --batch" "$T/top.err"

# serve, scraped all along, with --record; a second binary appears mid-way
if serve_start s --binary "$MIGSIM" --record "$T/s.trace"; then
	( while kill -0 "$s_pid" 2>/dev/null; do
		curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$s_port/metrics"
		curl -s -o /dev/null --max-time 5 -H 'Accept-Encoding: gzip' "http://127.0.0.1:$s_port/metrics"
		# the pictures, drawn by the collector as migrations end
		curl -s -o "$T/gal.json" --max-time 5 "http://127.0.0.1:$s_port/migrations"
		curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$s_port/migrations/latest.svg"
	  done ) &
	scraper=$!
	"$MIGSIM" > "$T/m4.out" 2>&1
	cp "$MIGSIM" "$T/qemu-new" # discovered by exec: the binary table grows
	"$T/qemu-new" --vfiofs "$MS_BUILD/migsim-vfiofs" > "$T/m5.out" 2>&1
	# replaced on disk: the old file detached by a reaper thread while the
	# new one is attached at the next exec
	cp "$MIGSIM" "$T/qemu-new.x" && mv "$T/qemu-new.x" "$T/qemu-new"
	sleep 1.2
	"$T/qemu-new" --vfiofs "$MS_BUILD/migsim-vfiofs" > "$T/m5b.out" 2>&1
	"$MIGSIM" --multifd > "$T/m6.out" 2>&1
	sleep 1.5
	check "serve: metrics of the migrations" bash -c \
		"curl -s http://127.0.0.1:$s_port/metrics | grep -q '^migscope_migrations_total{.*result=\"completed\"} [1-9]'"
	check "serve: their pictures listed in /migrations, fetched while drawn" bash -c \
		"curl -s http://127.0.0.1:$s_port/migrations | jq -e '.migrations | length >= 4' > /dev/null"
	kill -INT "$s_pid"; wait "$s_pid"; st=$?
	kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null
	check "serve: exit 0 under TSan" test "$st" -eq 0
	clean serve "$T/s.err"
fi

# serve --follow: the collector thread reads a log directory (a libvirt-style
# log rewritten and rotated, a second log appearing) while it is scraped
mkdir -p "$T/qlogs"
if serve_start f --follow "$T/qlogs"; then
	( while kill -0 "$f_pid" 2>/dev/null; do
		curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$f_port/metrics"
	  done ) &
	scraper=$!
	$PY - "$T/qlogs" <<'PYEOF'
import os, sys, time
d = sys.argv[1]
def line(pid, state):
    t = time.time()
    return "%d@%d.%06d:migrate_set_state new state %s\n" % (pid, int(t), int(t * 1e6) % 1000000, state)
for k in range(6):
    name = os.path.join(d, "vm%d.log" % (k % 2))
    with open(name, "a") as f:
        f.write("2026-12-07 10:00:00.000+0000: starting up libvirt version: 9.0.0, hostname: h\n"
                "-name guest=vm%d,debug-threads=on \\\n-uuid 00000000-0000-4000-8000-00000000000%d\n" % (k, k))
        for st in ("setup", "active", "device", "completed"):
            f.write(line(5000 + k, st)); f.flush(); time.sleep(0.1)
        f.write("2026-12-07 10:00:01.000+0000: shutting down, reason=migrated\n")
    if k == 2:
        os.rename(name, name + ".1")
PYEOF
	sleep 1.5
	check "serve --follow: six QEMU runs, each ended by libvirt's line (rotated mid-way)" bash -c \
		"curl -s http://127.0.0.1:$f_port/metrics | grep -q '^migscope_records_total{kind=\"exit\"} 6$'"
	kill -INT "$f_pid"; wait "$f_pid"; st=$?
	kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null
	check "serve --follow: exit 0 under TSan" test "$st" -eq 0
	clean "serve --follow" "$T/f.err"
fi
