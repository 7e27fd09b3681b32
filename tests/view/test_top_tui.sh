#!/usr/bin/env bash
# View tests: `migscope top` on a terminal (tmux, 160x45, TERM=xterm-256color),
# live against two migsim migrations at once (one whose ACK is held back by
# slow approvals, one that cannot converge), then driven by the recording of
# the same run with --replay. The screen is read back with capture-pane.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_view.sh"
t_tmpdir
SIMS=()
cleanup_view() {
	tm_stop
	for p in "${SIMS[@]}"; do kill "$p" 2> /dev/null; done
	t_cleanup
}
trap cleanup_view EXIT

VM=view$$-ack
VM2=view$$-stall
U1=7a1e0000-0000-4000-8000-$(printf '%012d' $$)
U2=7a1e0000-0000-4000-8001-$(printf '%012d' $$)
DEV='0000:00:0[56]\.0'

tm_start || { t_fail "tui: tmux did not start"; exit 0; }

# ---------------------------------------------------------------- live
rec_start "$T/live.trace" --binary "$MIGSIM" || { t_fail "tui: recorder did not start"; exit 0; }
tm_run "$MIGSCOPE top --binary $MIGSIM --interval 0.25"
tm_wait "live: title with the host" 30 'migscope top - host .* - live .*sort: start' &&
	tm_check "live: header with processes traced, probes attached, events/s, lost" \
		tm_has 'QEMU processes: [0-9]+ traced +probes attached: [1-9][0-9]* +events/s: [0-9]+ +lost: [0-9]+'
tm_check "live: on the alternate screen, cursor hidden" \
	test "$(tm_flag alternate_on)$(tm_flag cursor_flag)" = 10
tm_check "live: column header" \
	tm_has '^ +PID VM +ROLE PHASE +ELAPSED PRECOPY +PENDING +BW EXP DT/LIMIT ACK +LAST DT NOTE'

# only this run's migrations (others may run on the host), sorted by VM:
# the ACK migration's source, its destination, then the stalling one's
tm_keys f
tm_wait "keys: f opens the filter prompt" 5 'filter \(VM, pid, role, phase, device.*: _$'
tm_keys "view$$-" Enter s
tm_wait "keys: the filter and the sort show in the title" 5 "sort: vm +filter: view$$- "

"$MIGSIM" -name "guest=$VM" -uuid "$U1" --approval-delay 5000 --log "$T/ack.log" > "$T/ack.out" 2>&1 &
SIMS+=($!)
"$MIGSIM" -name "guest=$VM2" -uuid "$U2" --ram-dirty-rate 512M --converge-timeout 16 \
	--log "$T/stall.log" > "$T/stall.out" 2>&1 &
SIMS+=($!)

tm_wait "live: a row per side named by the VM; the source waits for the ACK" 20 \
	"^ +[0-9]+ $VM +src +waiting-ack .* waiting [01]/2 " &&
	tm_check "live: the destination waits for the approval of n of m devices, named" \
		tm_has "^ +[0-9]+ $VM +dst +loading .* waiting [01]/2 .*ACK needs $DEV"
tm_check "live: the source has a precopy bar, bandwidth, expected downtime against the limit" \
	tm_has "^ +[0-9]+ $VM +src .*\[[| ]*[0-9]+%\] +([0-9.]+[KMGB]|-) +[0-9.]+[KMG]/s +[0-9.]+m?s/300ms "
tm_check "live: the other migration has its rows" tm_has "^ +[0-9]+ $VM2 +(src|dst) "
tm_keys Home

# the detail pane follows the selection
tm_wait "detail: title of the selected source" 5 "^── $VM  source pid [0-9]+ -> destination pid [0-9]+  phase " &&
	tm_check "detail: device table header" \
		tm_has '^ DEVICE +STATE +INITIAL +DIRTY +STOP-COPY +HISTORY \(pending\) +DRAIN +APPROVAL'
tm_check "detail: a row per VFIO device: state, sizes, sparkline, drain, approval" \
	test "$(tm_count "^ $DEV +PRE_COPY +([0-9.]+[KMGB]|-) +([0-9.]+[KMGB]|-) +([0-9.]+[KMGB]|-) +.* (done [0-9.]+m?s|\[[| ]*[0-9]+%\]) +(init data sent, approval pending|pending)")" = 2
tm_check "detail: the milestones so far" tm_has '^ milestones +setup \+0\.[0-9]{3}s .*active \+'
tm_keys Down
tm_wait "detail: Down selects the destination" 5 "^── $VM  destination pid [0-9]+ <- source pid" &&
	tm_check "detail: the destination's devices are resuming" test "$(tm_count "^ $DEV +RESUMING ")" = 2
tm_keys Enter
tm_gone "keys: Enter hides the detail pane" 5 '^ DEVICE '
tm_keys Enter
tm_wait "keys: Enter shows it again" 5 '^ DEVICE +STATE'
tm_keys Up

tm_wait "live: the ACK column goes from waiting to acked" 20 \
	"^ +[0-9]+ $VM +src +completed .* acked \+[0-9.]+s +[0-9.]+m?s" &&
	tm_check "live: the destination acked too, last downtime shown" \
		tm_has "^ +[0-9]+ $VM +dst +completed .* acked \+[0-9.]+s +[0-9.]+m?s"
tm_check "detail: the downtime breakdown once done" \
	tm_has '^ downtime +[0-9.]+m?s \(guest [0-9.]+m?s\) = stop .* \+ iterable .* \+ non-iterable .* \+ transfer\+load .* \+ dst start '
tm_check "detail: both devices approved" test "$(tm_count "^ $DEV +STOP .*approved \+[0-9.]+s \([01] pending\)")" = 2

# The stalling migration: whether the engine sees a stall depends on the
# timing of migsim's passes (pending must make no new low for 10 s), so the
# screen is watched until it ends and held against the engine's verdict on
# the recording afterwards.
stall_seen=
for _ in $(seq 600); do
	tm_cap > "$T/screen"
	if [ -z "$stall_seen" ] && grep -qE "^ +[0-9]+ $VM2 +src .*STALLED" "$T/screen"; then
		stall_seen=1
		cp "$T/screen" "$T/stall.screen"
	fi
	grep -qE "^ +[0-9]+ $VM2 +src +(cancelled|failed|completed) " "$T/screen" && break
	sleep 0.05
done
for p in "${SIMS[@]}"; do wait "$p"; done
SIMS=()
sleep 0.3
rec_stop || t_fail "live: recorder failed"
check "live: the held-back migration completed" grep -q 'migration completed' "$T/ack.out"
tm_wait "live: the migration that could not converge ended cancelled" 5 "^ +[0-9]+ $VM2 +src +cancelled "
"$MIGSCOPE" replay --format json -o "$T/live.json" "$T/live.trace"
stalled=$(jq -r --arg vm "$VM2" '[.migrations[] | select(.vm==$vm and .role=="source") | .stall != null] | any' "$T/live.json")
if [ "$stalled" = true ]; then
	check "live: the stalled migration stands out (STALLED in its row)" test -n "$stall_seen"
	check "live: the line under it says why" grep -qE \
		"^ +└ STALLED [0-9.]+s: (not converging, RAM above the threshold \(pending .*, threshold .*\)|waiting for the ACK of $DEV)" "$T/stall.screen"
else
	echo "# the engine saw no stall in this run (migsim's passes made progress)"
	check "live: no stall detected, none shown" test -z "$stall_seen"
fi

# resize: the table drops its least useful columns; the pane fits or says why not
tm resize-window -t "$TM_SESS" -x 100 -y 30
tm_wait "resize: 100 columns, a narrower table" 5 '^ +PID VM +ROLE PHASE +ELAPSED PRECOPY +EXP DT/LIMIT ACK +LAST DT *$' &&
	tm_check "resize: rows still show VM, phase and ACK" tm_has "^ +[0-9]+ $VM +src +completed .*acked"
tm_check "resize: the detail pane still fits" tm_has '^ DEVICE +STATE'
tm resize-window -t "$TM_SESS" -x 100 -y 9
tm_wait "resize: too short for the detail pane, the footer says so" 5 'detail pane hidden: terminal too small'
tm resize-window -t "$TM_SESS" -x "$TM_W" -y "$TM_H"
tm_wait "resize: back to 160x45, every column" 5 '^ +PID VM +ROLE PHASE +ELAPSED PRECOPY +PENDING +BW EXP DT/LIMIT ACK +LAST DT NOTE' &&
	tm_check "resize: the detail pane is back" tm_has '^ DEVICE +STATE'

tm_keys f C-u "$VM2" Enter
tm_wait "keys: a narrower filter" 5 "filter: $VM2 " &&
	tm_check "keys: only the matching rows" test "$(tm_count "^ +[0-9]+ view$$-")$(tm_count "^ +[0-9]+ $VM2 ")" = 22
tm_keys f C-u Enter
tm_wait "keys: an empty filter shows every row" 5 'filter: - '
tm_keys p
tm_wait "keys: p pauses" 5 'PAUSED +sort:'
tm_keys p
tm_gone "keys: p resumes" 5 'PAUSED'
tm_keys h
tm_wait "keys: h shows the help" 5 'migscope top: keys'
tm_keys x
tm_gone "keys: a key closes the help" 5 'migscope top: keys'
tm_keys s
tm_wait "keys: s cycles the sort" 5 'sort: attention'

# job control: ^Z gives the terminal back, fg brings the view back (the
# shell goes on with the command line meanwhile: its EXIT line is redone)
tm_keys C-z
if tm_wait "SIGTSTP: the shell gets the terminal back" 10 'Stopped +.*migscope top'; then
	tm_check "SIGTSTP: alternate screen left, cursor visible" \
		test "$(tm_flag alternate_on)$(tm_flag cursor_flag)" = 01
	wait_for 5 test -s "$T/stty.after"
	rm -f "$T/stty.after"
	tm_keys "clear; echo BEFORE-TOP; fg; echo EXIT=\$?; stty -g > $T/stty.after" Enter
	tm_wait "SIGCONT: the view is redrawn" 10 'migscope top - host .* - live' &&
		tm_check "SIGCONT: back on the alternate screen" test "$(tm_flag alternate_on)" = 1
fi

tm_keys q
if tm_exited 30; then
	check "q: exit status 0" test "$TM_EXIT" = 0
	tm_check "q: the terminal is restored (screen, cursor, keypad, stty modes, prompt)" tm_restored
else
	t_fail "q: top did not exit"; tm_dump
fi

# ---------------------------------------------------------------- replay
# the recording holds this run's four processes (and whatever else ran on
# the host): -p keeps the ACK migration's two
PIDS=$($PY -c '
import json, sys
pids = {json.loads(l).get("pid") for l in open(sys.argv[1]) if l.strip()}
print(" ".join("-p %d" % p for p in sorted(p for p in pids if p)))' "$T/ack.log")
tm_clear
tm_run "$MIGSCOPE top --replay $T/live.trace $PIDS --speed 4 --interval 0.2"
tm_wait "replay: the title names the file and the speed" 10 "replay $T/live.trace x4 .*sort: start .*\+[0-9.]+s"
tm_wait "replay: both rows wait for the ACK" 20 "^ +[0-9]+ $VM +src +waiting-ack .* waiting [01]/2 " &&
	tm_check "replay: the destination waits" tm_has "^ +[0-9]+ $VM +dst +loading .* waiting [01]/2 "
tm_check "replay: only the -p processes" test "$(tm_count '^ +[0-9]+ [^ ]+ +(src|dst) ')" = 2
tm_check "replay: colours are used" tm_colours
tm_wait "replay: then both are acked" 15 "^ +[0-9]+ $VM +src +completed .* acked \+" &&
	tm_check "replay: the destination acked" tm_has "^ +[0-9]+ $VM +dst +completed .* acked \+"
tm_wait "replay: the end of the file is shown" 20 'x4 \(end of file\)'
tm_check "replay: the detail pane has the devices and the breakdown" \
	test "$(tm_count "^ $DEV ")$(tm_count '^ downtime ')" = 21
tm_keys C-c
if tm_exited 15; then
	check "replay: SIGINT (^C) ends it with status 0" test "$TM_EXIT" = 0
	tm_check "replay: the terminal is restored after SIGINT" tm_restored
else
	t_fail "replay: ^C did not end top"; tm_dump
fi

# NO_COLOR: attributes only (reverse, bold), no colour
tm_clear
tm_run "NO_COLOR=1 $MIGSCOPE top --replay $T/live.trace $PIDS --speed 100 --interval 0.2"
tm_wait "NO_COLOR: the view runs to the end of the file" 15 '\(end of file\)' &&
	tm_check "NO_COLOR: no colour escape, reverse video kept" tm_mono
tm_keys q
tm_exited 15 && check "NO_COLOR: q exits 0" test "$TM_EXIT" = 0

# SIGTERM: the terminal is restored as well
tm_clear
tm_run "sh -c 'echo \$\$ > $T/top.pid; exec $MIGSCOPE top --replay $T/live.trace --interval 0.5'"
if tm_wait "SIGTERM: the view is up" 10 'migscope top - host'; then
	kill -TERM "$(cat "$T/top.pid")"
	if tm_exited 15; then
		check "SIGTERM: exit status 0" test "$TM_EXIT" = 0
		tm_check "SIGTERM: the terminal is restored" tm_restored
	else
		t_fail "SIGTERM: top did not exit"; tm_dump
	fi
fi
exit 0
