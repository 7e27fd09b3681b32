#!/usr/bin/env bash
# Two hosts, as a fleet runs them: one `migscope serve` restricted to migsim's
# source process (-p), one to its destination, each on its own loopback port,
# so that each sees one side as each host of a real migration does. A real
# Prometheus scrapes both and evaluates deploy/prometheus/migscope.rules.yml;
# the rules' guest downtime, joined across the two instances, is held against
# the one-host figure: the replay of both serves' recordings together (one
# host, one CLOCK_MONOTONIC). Before that, promtool checks the rules and runs
# their hand-computed unit tests (tests/exporter/rules_test.yml).
#
# -p names a process that exists: migsim's source starts its destination
# itself, after its start-up delay (QEMU's initialisation, --startup-delay),
# and the destination waits as long again before its first probe. With a
# delay of some seconds each serve is attached before its side's first
# probe: the source's as soon as its pid runs migsim, the destination's as
# soon as the source's child runs `migsim --role=dst`.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
. "$(dirname "$0")/lib_exporter.sh"

RULES=$MS_ROOT/deploy/prometheus/migscope.rules.yml
VM="ms-fleet-$$"
UUID=$(cat /proc/sys/kernel/random/uuid)
DELAY_MS=4000
# the protocol's messages: their milestones bound the hosts' clock offset
MSG_SRC='ping-sent|pong-received|shut-received'
MSG_DST='ping-received|pong-sent|switchover-start-received|shut-sent'

# --- the rules, offline ---------------------------------------------------------
check "promtool check rules deploy/prometheus/migscope.rules.yml" \
	sh -c "promtool check rules '$RULES' > '$T/check.out' 2>&1 || { sed 's/^/#   /' '$T/check.out'; exit 1; }"
check "promtool test rules tests/exporter/rules_test.yml (offset, error, guest downtime, alerts)" \
	sh -c "promtool test rules '$MS_ROOT/tests/exporter/rules_test.yml' > '$T/test.out' 2>&1 || { sed 's/^/#   /' '$T/test.out'; exit 1; }"

# --- two serves, one per side ----------------------------------------------------
"$MIGSIM" --log "$T/sim.log" -name "guest=$VM" -uuid "$UUID" --devices 2 \
	--startup-delay "$DELAY_MS" > "$T/sim.out" 2>&1 &
SIM_PID=$!
OWN+=("$SIM_PID")
t_start=$(date +%s%N)
sim_exe=$(readlink -f "$MIGSIM")
# the shell's fork runs migsim once it has exec'd (-name and -uuid given: no re-exec)
if ! wait_for 5 sh -c "[ \"\$(readlink /proc/$SIM_PID/exe)\" = '$sim_exe' ]" ||
   ! serve_start src -v -p "$SIM_PID" --record "$T/src.trace" --ring-size 64; then
	t_fail "fleet: serve -p on migsim's source started"
	exit 0
fi
find_dst() { DST_PID=$(pgrep -P "$SIM_PID" -f -- '--role=dst' | head -1); [ -n "$DST_PID" ]; }
if ! wait_for 30 find_dst || ! serve_start dst -v -p "$DST_PID" --record "$T/dst.trace" --ring-size 64; then
	t_fail "fleet: serve -p on migsim's destination started"
	exit 0
fi
up_ms=$((($(date +%s%N) - t_start) / 1000000))
echo "# source pid $SIM_PID on :$src_port, destination pid $DST_PID on :$dst_port; both serving ${up_ms} ms after migsim started (start-up delay ${DELAY_MS} ms per side)"
t_pass "fleet: two serves, -p source and -p destination, on two loopback ports"

cat > "$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ['$RULES']
scrape_configs:
  - job_name: fleet
    static_configs: [{targets: ['127.0.0.1:$src_port', '127.0.0.1:$dst_port']}]
EOF
prom_start "$T/prometheus.yml" || { sed 's/^/#   /' "$T/prometheus.log" | tail -5; }

# migsim's own timeouts end it; this bound only guards the test
if wait_for 60 sh -c "! kill -0 $SIM_PID 2>/dev/null"; then
	SIM_ST=0
	wait "$SIM_PID" || SIM_ST=$?
else
	kill "$SIM_PID"
	SIM_ST=timeout
fi
check "migsim completed (exit $SIM_ST)" test "$SIM_ST" = 0
check "prometheus: ready, both serves up" prom_up 2

# --- each host exports its own side ------------------------------------------------
curl -s "http://127.0.0.1:$src_port/metrics" -o "$T/src.prom"
curl -s "http://127.0.0.1:$dst_port/metrics" -o "$T/dst.prom"
ts_of() { # FILE ROLE MILESTONE: the exported unix time, "" if absent
	sed -n "s/^migscope_migration_timestamp_seconds{vm=\"$VM\",uuid=\"$UUID\",role=\"$2\",milestone=\"$3\"} //p" "$1"
}
sides_ok() {
	local now_s=$(date +%s) v
	grep -q "migscope_migration_timestamp_seconds{vm=\"$VM\",.*role=\"destination\"" "$T/src.prom" &&
		{ echo "# the source's serve exports destination milestones"; return 1; }
	grep -q "migscope_migration_timestamp_seconds{vm=\"$VM\",.*role=\"source\"" "$T/dst.prom" &&
		{ echo "# the destination's serve exports source milestones"; return 1; }
	for v in "$(ts_of "$T/src.prom" source setup)" "$(ts_of "$T/src.prom" source src-vm-stopped)" \
		"$(ts_of "$T/src.prom" source completed)" "$(ts_of "$T/dst.prom" destination setup)" \
		"$(ts_of "$T/dst.prom" destination dst-precopy-bh-vm-started)" \
		"$(ts_of "$T/dst.prom" destination completed)"; do
		# unix times of the last minute
		awk -v v="$v" -v n="$now_s" 'BEGIN { exit !(v != "" && v > n - 60 && v <= n + 1) }' ||
			{ echo "# not a unix time of this run: '$v'"; return 1; }
	done
}
check "fleet: each serve exports its side's milestones (unix times of this run), not the other's" sides_ok
check "fleet: promtool check metrics passes on both expositions" \
	sh -c "promtool check metrics < '$T/src.prom' && promtool check metrics < '$T/dst.prom'"

# --- the rules, on the two instances ---------------------------------------------------
rules_ok() {
	curl -s "http://127.0.0.1:$PPORT/api/v1/rules" > "$T/rules.json"
	[ "$(jq '[.data.groups[].rules[]] | length' "$T/rules.json")" = \
		"$(grep -cE '^ *- (record|alert):' "$RULES")" ] &&
		[ "$(jq '[.data.groups[].rules[] | select(.health != "ok")] | length' "$T/rules.json")" = 0 ]
}
check "prometheus: every rule of the file loaded and evaluating without error" wait_for 10 rules_ok
SEL="vm=\"$VM\",uuid=\"$UUID\""
Q_GDT="migscope:migration_guest_downtime_seconds{$SEL}"
if wait_for 30 sh -c "curl -s --data-urlencode 'query=$Q_GDT' http://127.0.0.1:$PPORT/api/v1/query | jq -e '.data.result | length == 1' > /dev/null"; then
	t_pass "prometheus: migscope:migration_guest_downtime_seconds of $VM, joined across the two instances"
else
	t_fail "prometheus: migscope:migration_guest_downtime_seconds of $VM, joined across the two instances"
fi
P_GDT=$(prom_q "$Q_GDT")
P_OFF=$(prom_q "migscope:clock_offset_seconds{$SEL}")
P_ERR=$(prom_q "migscope:clock_error_seconds{$SEL}")
P_UP=$(prom_q "migscope:clock_offset_upper_bound_seconds{$SEL}")
P_LO=$(prom_q "migscope:clock_offset_lower_bound_seconds{$SEL}")
P_RT=$(prom_q "migscope:migration_timestamp_seconds{$SEL,role=\"destination\",milestone=\"dst-precopy-bh-vm-started\"} - on (vm, uuid) migscope:migration_timestamp_seconds{$SEL,role=\"source\",milestone=\"src-vm-stopped\"}")
s_or_absent() { [ -n "$1" ] && echo "$1 s" || echo absent; }
echo "# rules: guest downtime $(s_or_absent "$P_GDT") (on realtime $(s_or_absent "$P_RT")); offset $(s_or_absent "$P_OFF"), error $(s_or_absent "$P_ERR"); bounds: lower $(s_or_absent "$P_LO"), upper $(s_or_absent "$P_UP")"

# the switchover ACK (destination sent, source received) is a backward message
# of the milestones every engine has: the lower bound exists from it alone
check "prometheus: the lower bound of the offset exists (switchover ACK)" test -n "$P_LO"

# The probes the exposition shows attached in fewer binaries than the most
# attached one are the ones MigscopeProbesMissing holds (pending: for 5m).
probes_alert_ok() {
	local want got
	want=$(cat "$T/src.prom" "$T/dst.prom" | awk '
		/^migscope_probe_attached\{/ { match($0, /probe="[^"]*"/); p = substr($0, RSTART + 7, RLENGTH - 8)
			v[NR] = $2; n[NR] = p; if ($2 > max) max = $2 }
		END { for (i in v) if (v[i] < max) print n[i] }' | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
	got=$(curl -s "http://127.0.0.1:$PPORT/api/v1/alerts" |
		jq -r '.data.alerts[] | select(.labels.alertname == "MigscopeProbesMissing") | .labels.probe' |
		sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
	echo "# probes attached in fewer binaries than others (per instance): ${want:-none}; MigscopeProbesMissing for: ${got:-none}"
	[ "$want" = "$got" ]
}
if wait_for 5 probes_alert_ok; then
	t_pass "prometheus: MigscopeProbesMissing holds exactly the probes the two hosts lack"
else
	t_fail "prometheus: MigscopeProbesMissing holds exactly the probes the two hosts lack"
	for f in src dst; do
		echo "# $f: $(grep -c '^migscope_probe_attached{.*} 1$' "$T/$f.prom") probes at 1," \
			"$(grep -c '^migscope_probe_attached{.*} 2$' "$T/$f.prom") at 2," \
			"$(grep -c '^migscope_probe_attached{.*} 0$' "$T/$f.prom") at 0; its binaries:"
		grep -E 'USDT probes|detached|forgotten|replaced' "$T/$f.err" | sed 's/^/#   /'
	done
fi

# --- stop; the one-host figure of the same run -----------------------------------------
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null
kill -INT "$src_pid" "$dst_pid"
wait "$src_pid" "$dst_pid" 2>/dev/null
check "replay of both serves' recordings together (one host, one clock)" \
	"$MIGSCOPE" replay --format json -o "$T/replay.json" "$T/src.trace" "$T/dst.trace"
R_GDT=$(jq -r ".pairs[] | select(.vm==\"$VM\") | .guest_downtime_ms" "$T/replay.json")
# a serve that attached after its side's first migration state (a host too
# loaded for the start-up delay) would have missed the migration's start
check "each serve saw its side from the migration's setup on" \
	test "$(jq -c "[.migrations[] | select(.vm==\"$VM\") | .role + \":\" + (.implicit_start | tostring)] | sort" "$T/replay.json")" = '["destination:false","source:false"]'
echo "# one-host guest downtime (replay of both recordings): ${R_GDT} ms; lost events: $(jq .lost_records "$T/replay.json")"
ms() { awk -v v="$1" 'BEGIN { if (v == "") exit 1; printf "%.6f", v * 1000 }'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.6f", a - b }'; }
echo "# rules - one host: $(diff_ms "$(ms "$P_GDT")" "$R_GDT") ms"
check "the rules' guest downtime == the one-host figure (1 ms)" close_to "$(ms "$P_GDT")" "$R_GDT" 1

# --- the clock offset bound, once the engine fills the message milestones ------------------
fwd=no bwd=no
{ [ -n "$(ts_of "$T/src.prom" source ping-sent)" ] && [ -n "$(ts_of "$T/dst.prom" destination ping-received)" ]; } ||
	{ [ -n "$(ts_of "$T/src.prom" source switchover-start)" ] && [ -n "$(ts_of "$T/dst.prom" destination switchover-start-received)" ]; } && fwd=yes
{ [ -n "$(ts_of "$T/src.prom" source pong-received)" ] && [ -n "$(ts_of "$T/dst.prom" destination pong-sent)" ]; } ||
	{ [ -n "$(ts_of "$T/src.prom" source shut-received)" ] && [ -n "$(ts_of "$T/dst.prom" destination shut-sent)" ]; } && bwd=yes
if ! grep -qE "milestone=\"($MSG_SRC)\"" "$T/src.prom" || ! grep -qE "milestone=\"($MSG_DST)\"" "$T/dst.prom"; then
	echo "# skip - clock offset and error: the message milestones ($MSG_SRC | $MSG_DST) are absent from the expositions (forward pair: $fwd, backward pair besides the ACK: $bwd)"
else
	check "prometheus: migscope:clock_offset_seconds and migscope:clock_error_seconds exist" \
		test -n "$P_OFF" -a -n "$P_ERR"
	check "clock error < 1 ms on loopback (${P_ERR:-absent} s)" \
		awk -v e="$P_ERR" 'BEGIN { exit !(e != "" && e >= 0 && e < 0.001) }'
	# one host: the true offset is 0 (each serve's realtime pair adds µs)
	check "the offset is 0 within its error bound (+10 us)" \
		awk -v o="$P_OFF" -v e="$P_ERR" 'BEGIN { if (o < 0) o = -o; exit !(o != "" && o <= e + 0.00001) }'
fi
true
