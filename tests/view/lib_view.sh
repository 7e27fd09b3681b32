# Helpers of the view suite: `migscope top` runs in a shell inside a private
# tmux server (its own socket, its own session), at a fixed size, and the
# screen is read back with capture-pane. Source after tests/lib.sh.

TM_SOCK=migscope-view-$$
TM_SESS=top
TM_W=160
TM_H=45
unset TMUX

tm() { tmux -L "$TM_SOCK" "$@"; }

# tm_start: a bash with a known prompt in a TM_WxTM_H window, TERM=xterm-256color
tm_start() {
	tm -f /dev/null new-session -d -s "$TM_SESS" -x "$TM_W" -y "$TM_H" \
		"env -i PATH=$PATH HOME=/root TERM=xterm-256color LANG=C.UTF-8 PS1='view\$ ' bash --norc --noprofile" \; \
		set -g status off \; set -g history-limit 2000 || return 1
	wait_for 10 tm_has 'view\$' || { echo "# tmux shell did not start"; return 1; }
}

tm_stop() {
	tm kill-server 2> /dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TM_SOCK"
}

# tm_cap [-e]: the visible screen
tm_cap() { tm capture-pane -p "$@" -t "$TM_SESS"; }

# tm_has REGEX: the screen matches (grep -E); tm_hasnt: it does not
tm_has() { tm_cap | grep -qE -- "$1"; }
tm_hasnt() { ! tm_has "$1"; }

# tm_flag NAME: a tmux format variable of the pane (alternate_on, cursor_flag, ...)
tm_flag() { tm display-message -p -t "$TM_SESS" "#{$1}"; }

# tm_keys KEYS...: type keys (tmux key names: Enter, Up, Down, C-z, ...)
tm_keys() { tm send-keys -t "$TM_SESS" "$@"; }

# tm_run COMMAND: run a command line in the shell, after a clear and a marker
# line; its status ends up in an "EXIT=N" line and the terminal modes before and
# after in $T/stty.before and $T/stty.after
# (not in a subshell: on ^Z a subshell would stop at once and the shell print
# its prompt on top's alternate screen, before top leaves it)
tm_run() {
	rm -f "$T/stty.after"
	tm_keys "clear; stty -g > $T/stty.before; echo BEFORE-TOP; $1; echo EXIT=\$?; stty -g > $T/stty.after" Enter
}

# tm_wait NAME SECONDS REGEX: wait for the screen to match; a failure shows it
tm_wait() {
	if wait_for "$2" tm_has "$3"; then
		t_pass "$1"
	else
		t_fail "$1 (screen did not match /$3/ within $2 s)"
		tm_dump
		return 1
	fi
}

# tm_gone NAME SECONDS REGEX: wait for the screen to stop matching
tm_gone() {
	if wait_for "$2" tm_hasnt "$3"; then
		t_pass "$1"
	else
		t_fail "$1 (screen still matches /$3/ after $2 s)"
		tm_dump
		return 1
	fi
}

# tm_count REGEX: how many screen lines match
tm_count() { tm_cap | grep -cE -- "$1"; }

# tm_colours: the screen has colour escapes (ANSI 31-36 / 41-46)
tm_colours() { tm_cap -e | grep -qE $'\e\\[(3[1-6]|4[1-6])m'; }

# tm_mono: no colour escape at all, but reverse video
tm_mono() {
	local s
	s=$(tm_cap -e)
	! grep -qE $'\e\\[([0-9]+;)*(3[0-7]|4[0-7]|38;5|48;5)[;m]' <<< "$s" && grep -qE $'\e\\[([0-9]+;)*7m' <<< "$s"
}

tm_dump() { tm_cap | sed -e 's/ *$//' -e '/^$/d' -e 's/^/#   /' | head -60; }

# tm_check NAME COMMAND...: a check that dumps the screen when it fails
tm_check() {
	local name=$1; shift
	if "$@"; then t_pass "$name"; else t_fail "$name"; tm_dump; fi
}

# tm_line REGEX: the first screen line matching REGEX
tm_line() { tm_cap | grep -E -m1 -- "$1"; }

# tm_exited SECONDS: the command has ended and printed its EXIT line; sets $TM_EXIT
tm_exited() {
	wait_for "$1" test -s "$T/stty.after" || return 1
	wait_for 5 tm_has '^EXIT=[0-9]+' || return 1
	TM_EXIT=$(tm_cap | sed -n 's/^EXIT=\([0-9]*\).*/\1/p' | tail -1)
}

# tm_restored: the terminal is back as it was: no alternate screen, cursor on,
# keypad in normal mode, the same stty modes, the marker printed before top
# visible again, and the prompt
tm_restored() {
	local ok=0
	[ "$(tm_flag alternate_on)" = 0 ] || { echo "# still in the alternate screen"; ok=1; }
	[ "$(tm_flag cursor_flag)" = 1 ] || { echo "# cursor still hidden"; ok=1; }
	[ "$(tm_flag keypad_cursor_flag)" = 0 ] || { echo "# cursor keys left in application mode"; ok=1; }
	cmp -s "$T/stty.before" "$T/stty.after" || { echo "# stty modes differ"; ok=1; }
	tm_has '^BEFORE-TOP' || { echo "# the screen before top was not restored"; ok=1; }
	tm_has '^view\$' || { echo "# no prompt"; ok=1; }
	return $ok
}

# clear_for_next: wait for the prompt, then clear the pane and its history
tm_clear() {
	wait_for 10 tm_has '^view\$ *$'
	tm_keys "clear" Enter
	tm clear-history -t "$TM_SESS"
	rm -f "$T/stty.before" "$T/stty.after"
}
