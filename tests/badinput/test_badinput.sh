#!/usr/bin/env bash
# Bad input gets one clear line on stderr and a nonzero exit, never a crash.
# Runs the ASan/UBSan build of migscope when it exists.
. "$(dirname "$0")/../lib.sh"
[ -x "$MS_BUILD/san/migscope" ] && MIGSCOPE=$MS_BUILD/san/migscope
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
t_tmpdir

# expect_error NAME WANT_STATUS PATTERN COMMAND...: exit status WANT_STATUS, stderr
# one line matching PATTERN (after any report on stdout), no sanitizer report
expect_error() {
	local name=$1 want=$2 pat=$3; shift 3
	"$@" > "$T/out" 2> "$T/err"; local st=$?
	local lines; lines=$(grep -vc '^$' "$T/err")
	if [ "$st" -ne "$want" ]; then
		t_fail "$name: exit $st, wanted $want"; sed 's/^/#   /' "$T/err" | head -5; return
	fi
	if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$T/err"; then
		t_fail "$name: sanitizer report"; head -20 "$T/err" | sed 's/^/#   /'; return
	fi
	if [ "$lines" -ne 1 ] || ! grep -qE "^migscope: .*$pat" "$T/err"; then
		t_fail "$name: stderr is not one line matching /$pat/"; sed 's/^/#   /' "$T/err" | head -5; return
	fi
	t_pass "$name"
}

printf 'hello, I am a text file\n' > "$T/text"
: > "$T/empty"
head -c 4096 /dev/urandom > "$T/random"

expect_error "replay: text file" 1 "not a migscope trace" "$MIGSCOPE" replay "$T/text"
expect_error "replay: empty file" 1 "empty" "$MIGSCOPE" replay "$T/empty"
expect_error "replay: random bytes" 1 "not a migscope trace" "$MIGSCOPE" replay "$T/random"
expect_error "replay: missing file" 1 "$T/nope" "$MIGSCOPE" replay "$T/nope"
expect_error "replay: a directory" 1 "$T" "$MIGSCOPE" replay "$T"
expect_error "replay: bad format" 2 "unknown format" "$MIGSCOPE" replay --format xml "$T/text"
expect_error "replay: no file" 2 "no trace file" "$MIGSCOPE" replay
expect_error "replay: --migration not a number" 2 "migration's index" \
	"$MIGSCOPE" replay --format svg --migration two "$T/text"
expect_error "replay: --migration negative" 2 "migration's index" \
	"$MIGSCOPE" replay --format svg --migration -1 "$T/text"
expect_error "replay: --migration without svg" 2 "goes with --format svg" \
	"$MIGSCOPE" replay --migration 0 "$T/text"
expect_error "unknown command" 2 "unknown command" "$MIGSCOPE" frobnicate
expect_error "probes: binary without probes" 1 "dtrace trace backend" "$MIGSCOPE" probes --binary /bin/true
expect_error "probes: not an ELF file" 1 "not an ELF" "$MIGSCOPE" probes --binary "$T/text"
expect_error "probes: missing binary" 1 "cannot open" "$MIGSCOPE" probes --binary "$T/nope"
expect_error "probes: dead PID" 1 "no process" "$MIGSCOPE" probes -p 999999999
expect_error "probes: --log-setup with a control character in the VM name" 2 "without control characters" "$MIGSCOPE" probes --log-setup "$(printf 'vm\nx')"
expect_error "probes: --log-events with --binary" 2 "alone" "$MIGSCOPE" probes --log-events --binary /bin/true
expect_error "record: no -o" 2 "-o FILE is required" "$MIGSCOPE" record
expect_error "record: bad duration" 2 "duration" "$MIGSCOPE" record -o "$T/x" --duration abc
# migscope --help lists each command's synopsis as the command's --help does
synopsis_same() {
	$PY - "$MIGSCOPE" "$1" <<'EOF2'
import subprocess, sys
ms, cmd = sys.argv[1], sys.argv[2]
def run(*a):
    return subprocess.run([ms, *a], capture_output=True, text=True).stdout.splitlines()
main, block = [], False
help = run("--help")
for l in help[help.index("Commands:") + 1:]:
    if not l.strip():
        break  # the commands' list ends at the first blank line
    if l.startswith("  migscope "):
        block = l.split()[1] == cmd
    elif not l.startswith("     "):
        block = False
    if block:
        main.append(l.split())
own = []
for k, l in enumerate(run(cmd, "--help")):
    if k and not l.startswith(" "):
        break
    own.append(l.replace("Usage:", "", 1).split())
# the forms, their words joined: the lines wrap where their leads differ
def forms(lines):
    out = []
    for w in lines:
        if w[:2] == ["migscope", cmd] or not out:
            out.append([])
        out[-1] += w
    return [" ".join(f) for f in out]
main, own = forms(main), forms(own)
print(f"# {cmd}: {own}")
sys.exit(0 if main and main == own else 1)
EOF2
}
for c in probes record replay merge top serve; do
	check "usage: migscope --help shows $c's own synopsis" synopsis_same "$c"
done
# the synopses in docs/ are the commands' own (both come from one option
# table per command, user/cmd_opt.c): every synopsis of docs/usage.md,
# top.md and serve.md (the "    migscope CMD" lines right under a heading)
# is a form CMD --help prints
docs_synopses() {
	$PY - "$MIGSCOPE" "$MS_ROOT/docs" <<'EOF2'
import subprocess, sys
ms, docs = sys.argv[1], sys.argv[2]
def forms(cmd):
    out, cur = [], None
    for k, l in enumerate(subprocess.run([ms, cmd, "--help"], capture_output=True,
                                         text=True).stdout.splitlines()):
        if k and not l.startswith(" "):
            break
        l = l.replace("Usage:", "", 1)
        if l.split()[:2] == ["migscope", cmd]:
            cur = []
            out.append(cur)
        cur.extend(l.split())
    return [" ".join(f) for f in out]
seen, bad = 0, []
for doc in ("usage.md", "top.md", "serve.md"):
    lines = open(f"{docs}/{doc}").read().split("\n")
    prev = ""  # the last non-blank line before this one, a synopsis as "syn"
    for i, l in enumerate(lines):
        w = l.split()
        if not w or l.startswith("     "):
            continue
        if not (l.startswith("    migscope ") and (prev.startswith("#") or prev == "syn")):
            prev = l
            continue
        prev = "syn"
        syn, j = w, i + 1
        while j < len(lines) and lines[j].startswith("     ") and not lines[j].split()[0] == "migscope":
            syn += lines[j].split()
            j += 1
        seen += 1
        if w[1].startswith("["):  # migscope's own, the first line of its --help
            own = [" ".join(subprocess.run([ms, "--help"], capture_output=True,
                                           text=True).stdout.splitlines()[0].split()[1:])]
        else:
            own = forms(w[1])
        if " ".join(syn) not in own:
            bad.append(f"{doc}:{i + 1}: {' '.join(syn)}")
print(f"# {seen} synopses in docs, {len(bad)} not a command's own: {bad}")
sys.exit(0 if seen >= 7 and not bad else 1)
EOF2
}
check "usage: the synopses in docs/ are the commands' own" docs_synopses
# the live options, one parser for record, serve and top
for c in record serve top; do
	expect_error "$c: -p not a PID" 2 "$c: -p takes a PID, not 'abc'" "$MIGSCOPE" $c -p abc -o "$T/x"
	expect_error "$c: --ring-size 0" 2 "$c: --ring-size takes MiB > 0, not '0'" \
		"$MIGSCOPE" $c --ring-size 0 -o "$T/x"
done
expect_error "top: --ring-size with --replay" 2 "for live capture, not --replay" \
	"$MIGSCOPE" top --ring-size 8 --replay "$T/text" --batch

# --follow: paths that cannot be followed, and what it cannot be combined with
"$MIGSCOPE" top --follow "$T/no/such" --batch -n 1 > "$T/out" 2> "$T/err"
check "top --follow: a path not there yet is waited for (exit 0, 0 files, nothing on stderr)" \
	test $? = 0 -a ! -s "$T/err"
check "... and it says it follows no file" grep -q '0 log files followed' "$T/out"
expect_error "top --follow: a file under a file" 1 "$T/text/x.log: cannot follow it: Not a directory" \
	"$MIGSCOPE" top --follow "$T/text/x.log" --batch -n 1
expect_error "top --follow with --replay" 2 "one or the other" \
	"$MIGSCOPE" top --follow "$T" --replay "$T/text" --batch
expect_error "serve --follow with -p" 2 "not --follow" \
	"$MIGSCOPE" serve --follow "$T" -p 1
expect_error "top --follow with --binary" 2 "not --follow" \
	"$MIGSCOPE" top --follow "$T" --binary /bin/true --batch
expect_error "record --follow with --ring-size" 2 "not --follow" \
	"$MIGSCOPE" record --follow "$T" --ring-size 8 -o "$T/x.trace"
expect_error "record --follow: below a file" 1 "$T/text/x.log: cannot follow it" \
	"$MIGSCOPE" record --follow "$T/text/x.log" -o "$T/x.trace"
check "... and no trace file is left behind" test ! -e "$T/x.trace"
expect_error "replay --follow and files" 2 "not '$T/text' too" \
	"$MIGSCOPE" replay --follow "$T" "$T/text"
expect_error "replay --follow: below a file" 1 "$T/text/qemu: cannot follow it" \
	"$MIGSCOPE" replay --follow "$T/text/qemu"
head -c 200000 /dev/urandom > "$T/random.log"
"$MIGSCOPE" top --follow "$T/random.log" --batch -n 2 --interval 0.2 > "$T/out" 2> "$T/err"
check "top --follow of random bytes: exit 0, its lines skipped, no sanitizer report" \
	test $? = 0 -a ! -s "$T/err"
check "... and it says it follows that one file" grep -q '1 log files followed' "$T/out"

sleep 30 & sp=$!
expect_error "record: PID that is not QEMU" 1 "not a QEMU process" \
	"$MIGSCOPE" record -p "$sp" -o "$T/notqemu.trace" --duration 1
check "record: no file left behind for a refused PID" test ! -e "$T/notqemu.trace"
kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
expect_error "record: dead PID" 1 "no process with PID" \
	"$MIGSCOPE" record -p 999999999 -o "$T/dead.trace" --duration 1
expect_error "record: unwritable output" 1 "$T/no/such/dir" \
	"$MIGSCOPE" record -o "$T/no/such/dir/x.trace" --duration 1

# A real recording, then damaged copies of it.
if rec_start "$T/good.trace" && "$MIGSIM" > "$T/sim.out" 2>&1 && rec_stop; then
	"$MIGSCOPE" replay "$T/good.trace" > "$T/good.txt" 2> "$T/good.err"
	check "replay of the intact file succeeds" test $? -eq 0
	size=$(stat -c %s "$T/good.trace")
	bad=0
	for cut in 1 7 8 15 16 31 64 100 $((size / 4)) $((size / 2)) $((size * 3 / 4)) $((size - 9)) $((size - 1)); do
		[ "$cut" -lt "$size" ] || continue
		head -c "$cut" "$T/good.trace" > "$T/cut.trace"
		"$MIGSCOPE" replay "$T/cut.trace" > "$T/cut.out" 2> "$T/cut.err"; st=$?
		if [ "$st" -eq 0 ] || grep -qE 'AddressSanitizer|runtime error' "$T/cut.err" ||
		   [ "$(grep -vc '^$' "$T/cut.err")" -ne 1 ]; then
			bad=$((bad + 1)); echo "# cut at $cut: exit $st"; head -3 "$T/cut.err" | sed 's/^/#   /'
		fi
	done
	check "truncated copies: one-line error, nonzero exit, no crash ($bad bad)" test "$bad" -eq 0
	expect_error "replay --format svg --migration past the last" 1 "has [0-9]+ migrations" \
		"$MIGSCOPE" replay --format svg --migration 99 -o "$T/x.svg" "$T/good.trace"
	head -c $((size / 2)) "$T/good.trace" > "$T/cut.trace"
	"$MIGSCOPE" replay --format svg -o "$T/cut.svg" "$T/cut.trace" 2> "$T/cut.err"; st=$?
	ok=0
	[ "$st" -eq 1 ] && [ "$(grep -vc '^$' "$T/cut.err")" -eq 1 ] &&
		$PY -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$T/cut.svg" &&
		ok=1
	check "a truncated file's SVG: exit 1, one line, and a picture that parses (exit $st)" \
		test "$ok" = 1
	head -c $((size - 1)) "$T/good.trace" > "$T/cut.trace"
	"$MIGSCOPE" replay --format json "$T/cut.trace" > "$T/cut.json" 2> "$T/cut.err"
	check "a file cut before its trailer still yields the migrations of its complete chunks" \
		$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if len(d["migrations"])>=1 and d.get("input_error") else 1)' "$T/cut.json"
	check "the error names where the file stopped" grep -qE 'byte [0-9]+' "$T/cut.err"
	cp "$T/good.trace" "$T/flip.trace"
	printf '\xff\xff\xff\xff' | dd of="$T/flip.trace" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	expect_error "replay: corrupted chunk" 1 "byte [0-9]+" "$MIGSCOPE" replay "$T/flip.trace"
else
	t_fail "could not record migsim for the damaged-file tests"
fi
