# Shared helpers of the shell test suites. Each check prints "ok - NAME" or
# "not ok - NAME" and appends its verdict to $MS_RESULTS, which tests/run.sh
# totals.
MS_ROOT=${MS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
MS_BUILD=${MS_BUILD:-$MS_ROOT/build}
MIGSCOPE=${MIGSCOPE:-$MS_BUILD/migscope}
MIGSIM=${MIGSIM:-$MS_BUILD/migsim}
MS_RESULTS=${MS_RESULTS:-/dev/null}
PY=/usr/bin/python3

t_pass() { echo "ok - $*"; echo ok >> "$MS_RESULTS"; }
t_fail() { echo "not ok - $*"; echo fail >> "$MS_RESULTS"; }

# check NAME COMMAND...: pass when COMMAND succeeds; the status is the
# verdict's, so that "check ... || show-why" shows why
check() {
	local name=$1; shift
	if "$@"; then t_pass "$name"; else t_fail "$name"; return 1; fi
}

# wait_for SECONDS COMMAND...: poll COMMAND every 50 ms until it succeeds
wait_for() {
	local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 )); shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# A scratch directory removed at exit.
t_tmpdir() {
	T=$(mktemp -d /tmp/migscope-test.XXXXXX)
	trap 't_cleanup' EXIT
}

t_cleanup() {
	[ -n "${REC_PID:-}" ] && kill -INT "$REC_PID" 2>/dev/null && wait "$REC_PID" 2>/dev/null
	# MS_TEST_KEEP=1 keeps a suite's files for a look afterwards
	if [ -n "${MS_TEST_KEEP:-}" ] && [ -n "${T:-}" ]; then
		echo "# kept $T" >&2
	elif [ -n "${T:-}" ]; then
		rm -rf "$T"
	fi
}

# rec_start FILE [ARGS...]: migscope record in the background, returns once it
# is attached (its "recording to" line on stderr).
rec_start() {
	local file=$1; shift
	"$MIGSCOPE" record -o "$file" "$@" 2> "$file.err" &
	REC_PID=$!
	if ! wait_for 30 grep -q 'recording to' "$file.err"; then
		echo "# record did not start:"; sed 's/^/#   /' "$file.err"
		return 1
	fi
}

# rec_stop: SIGINT the recorder, wait, return its status
rec_stop() {
	local st=0
	kill -INT "$REC_PID" 2>/dev/null
	wait "$REC_PID" || st=$?
	REC_PID=
	return $st
}

# perfetto_check NAME REPORT REPLAY-ARGS...: replay --format perfetto of the
# inputs keeps the Trace Event Format's rules, and its durations are those of
# REPORT, the JSON report of the same inputs (tests/tools/tracecheck.py)
perfetto_check() {
	local name=$1 rep=$2 f; shift 2
	f=$T/${name//[^a-zA-Z0-9._-]/_}
	"$MIGSCOPE" replay --format perfetto -o "$f.perfetto.json" "$@" 2> "$f.perfetto.err" &&
		$PY "$MS_ROOT/tests/tools/tracecheck.py" "$f.perfetto.json" "$rep" > "$f.tc" 2>&1
	check "$name: replay --format perfetto: the Trace Event Format's rules, the report's durations" \
		test $? = 0 || sed 's/^/#   /' "$f.tc" "$f.perfetto.err" | head -12
	return 0
}

# svg_check NAME REPORT REPLAY-ARGS...: replay --format svg of the inputs is
# one self-contained picture whose downtime bands and stop spans are the
# REPORT's figures on its drawn scales, rendered by headless Chromium: not
# blank, the bands as wide in pixels, no two text boxes overlapping
# (tests/tools/svgcheck.py; without chromium, the SVG alone, said in one line).
# A Chromium run is ~1.5 s: NAMEs matching SVG_DARK_FOR are also rendered
# dark; with SVG_RENDER_LEFT set, only that many are rendered, the rest
# checked from the SVG alone.
svg_check() {
	local name=$1 rep=$2 f args=() what="rendered"; shift 2
	f=$T/${name//[^a-zA-Z0-9._-]/_}
	if [ -z "${SVG_RENDER_LEFT:-}" ] || [ "$SVG_RENDER_LEFT" -gt 0 ]; then
		args=(--render "$T/svg")
		[ -n "${SVG_RENDER_LEFT:-}" ] && SVG_RENDER_LEFT=$((SVG_RENDER_LEFT - 1))
		if [[ $name =~ ${SVG_DARK_FOR:-^$} ]]; then
			args+=(--dark)
			what="rendered light and dark"
		fi
	else
		what="(not rendered)"
	fi
	"$MIGSCOPE" replay --format svg -o "$f.svg" "$@" 2> "$f.svg.err" &&
		SVGCHECK_PROFILE=$T/chromium-profile \
			$PY "$MS_ROOT/tests/tools/svgcheck.py" "$f.svg" "$rep" "${args[@]}" > "$f.sc" 2>&1
	check "$name: replay --format svg: the report's downtime on the drawn scales, $what, no text over text" \
		test $? = 0 || sed 's/^/#   /' "$f.sc" "$f.svg.err" | head -12
	grep -h '^svgcheck: no chromium' "$f.sc" 2> /dev/null | sed 's/^/# /'
	return 0
}
