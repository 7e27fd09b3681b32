#!/usr/bin/env bash
# Exporter tests: `migscope serve` traces migsim live while a real Prometheus
# server (Debian's package, its own config, storage and port on 127.0.0.1)
# scrapes it over plain HTTP and over TLS with basic auth; Prometheus's answers
# are held against the replay report of the trace file serve recorded. Then the
# HTTP surface (content type, gzip, paths, methods, malformed and oversized
# requests, floods), TLS and auth with curl, capabilities, the expiry of a
# finished VM's series, the dashboard's metric names and queries, errors, and
# the systemd unit.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
. "$(dirname "$0")/lib_exporter.sh"

PROMGEN=${PROMGEN:-$MS_BUILD/tests/exporter/promgen}
CT='text/plain; version=0.0.4; charset=utf-8'
EXPIRE=30
VM="ms-exporter-$$"
UUID=$(cat /proc/sys/kernel/random/uuid)

# --- certificates and users --------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2> /dev/null
hash=$(htpasswd -nbBC 10 prom s3cret | cut -d: -f2)
mkdir -p "$T/conf"
cp "$T/cert.pem" "$T/key.pem" "$T/conf/"
cat > "$T/conf/web.yml" <<EOF
# exporter-toolkit web config; file names relative to this file
tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
  min_version: TLS13
basic_auth_users:
  prom: '$hash'
http_server_config:
  headers:
    X-Frame-Options: deny
EOF

# --- serve, plain and TLS ------------------------------------------------------
# a larger ring buffer than the default: other tests' probe storms on this
# host must not make this one's migration incomplete
if ! serve_start plain --record "$T/serve.trace" --expire "$EXPIRE" --ring-size 64 ||
   ! serve_start tls --web-config "$T/conf/web.yml" --ring-size 64; then
	t_fail "serve did not start"
	exit 0
fi
U="http://127.0.0.1:$plain_port"
S="https://127.0.0.1:$tls_port"
t_pass "serve: two instances serving (plain :$plain_port, TLS :$tls_port)"
check "serve: the start line names https and basic auth" grep -q 'serving https://.*(basic auth)' "$T/tls.err"

# Capabilities: the collector thread keeps CAP_BPF, CAP_PERFMON and
# CAP_SYS_PTRACE (bits 39, 38, 19), every other thread none.
caps_ok() {
	local t eff n_coll=0 n_zero=0 n_bad=0
	for t in /proc/"$plain_pid"/task/*; do
		eff=$(awk '/^CapEff/ {print $2}' "$t/status")
		bnd=$(awk '/^CapBnd/ {print $2}' "$t/status")
		case "$eff/$bnd" in
		000000c000080000/000000c000080000) n_coll=$((n_coll + 1)) ;;
		0000000000000000/0000000000000000) n_zero=$((n_zero + 1)) ;;
		*) n_bad=$((n_bad + 1)); echo "# $(cat "$t/comm"): CapEff $eff CapBnd $bnd" ;;
		esac
	done
	echo "# threads: $n_coll collector, $n_zero without capabilities, $n_bad other"
	[ "$n_coll" -eq 1 ] && [ "$n_zero" -ge 2 ] && [ "$n_bad" -eq 0 ]
}
check "serve: collector thread keeps bpf, perfmon, sys_ptrace; the others none" caps_ok

# --- HTTP basics -------------------------------------------------------------
curl -s -D "$T/h1" -o "$T/idle.prom" "$U/metrics"
check "GET /metrics: Content-Type is exactly '$CT'" \
	grep -qx "Content-Type: $CT"$'\r' "$T/h1"
check "promtool check metrics passes on the idle exposition" promtool check metrics < "$T/idle.prom"
curl -s -H 'Accept-Encoding: gzip' -D "$T/h2" -o "$T/idle.gz" "$U/metrics"
check "gzip when asked: Content-Encoding gzip" grep -qix $'Content-Encoding: gzip\r' "$T/h2"
check "gzip: the body inflates to a valid exposition" sh -c "zcat '$T/idle.gz' | promtool check metrics"
check "no gzip when not asked" sh -c "! grep -qi '^Content-Encoding' '$T/h1'"
check "no gzip when refused (gzip;q=0)" \
	sh -c "! curl -s -D- -o /dev/null -H 'Accept-Encoding: gzip;q=0, identity' '$U/metrics' | grep -qi '^Content-Encoding'"
check "GET /: landing page links to metrics" sh -c "curl -s '$U/' | grep -q 'href=\"metrics\"'"
check "GET /-/healthy: 200" test "$(code "$U/-/healthy")" = 200
check "GET /nope: 404" test "$(code "$U/nope")" = 404
check "POST /metrics: 405" test "$(code "$U/metrics" -X POST -d x=1)" = 405
check "405 says Allow: GET, HEAD" sh -c "curl -s -D- -o /dev/null -X DELETE '$U/metrics' | grep -qi '^Allow: GET, HEAD'"
check "HEAD /metrics: 200 without a body" test "$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' "$U/metrics")" = "200 0"

# --- TLS and basic auth with curl ---------------------------------------------
C=(--cacert "$T/cert.pem")
check "TLS + right password: 200" test "$(code "$S/metrics" "${C[@]}" -u prom:s3cret)" = 200
curl -s "${C[@]}" -u prom:s3cret -D "$T/h3" -o "$T/tls.prom" "$S/metrics"
tls_expo_ok() { promtool check metrics < "$T/tls.prom" && grep -qx "Content-Type: $CT"$'\r' "$T/h3"; }
check "TLS: exposition valid, exact Content-Type" tls_expo_ok
check "TLS: configured header X-Frame-Options sent" grep -qix $'X-Frame-Options: deny\r' "$T/h3"
check "TLS + wrong password: 401" test "$(code "$S/metrics" "${C[@]}" -u prom:wrong)" = 401
check "TLS + unknown user: 401" test "$(code "$S/metrics" "${C[@]}" -u eve:s3cret)" = 401
check "TLS without credentials: 401 with WWW-Authenticate Basic" \
	sh -c "curl -s -D- -o /dev/null ${C[*]} '$S/metrics' | grep -qi '^WWW-Authenticate: Basic'"
check "basic auth applies to every path (/ without credentials: 401)" test "$(code "$S/" "${C[@]}")" = 401
check "TLS: min_version TLS13 refuses TLS 1.2" test "$(code "$S/metrics" "${C[@]}" -u prom:s3cret --tls-max 1.2)" = 000
check "plain HTTP to the TLS port gets no HTTP answer" test "$(code "http://127.0.0.1:$tls_port/metrics")" = 000
check "TLS port still serves after those" test "$(code "$S/metrics" "${C[@]}" -u prom:s3cret)" = 200
check "TLS: an unverified certificate is refused by curl (it is ours, self-signed)" \
	test "$(code "$S/metrics" -u prom:s3cret)" = 000

# --- HTTP robustness ----------------------------------------------------------
robust() {
	$PY - "$plain_port" <<'EOF'
import socket, sys, threading, urllib.request
port = int(sys.argv[1])

def raw(data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        return s.recv(64).split(b"\r\n")[0].decode(errors="replace")
    except OSError as e:
        return "no answer (%s)" % type(e).__name__
    finally:
        s.close()

def scrape():
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.status

ok = True
cases = [
    ("HTTP/1.1 without Host", b"GET /metrics HTTP/1.1\r\n\r\n", "400"),
    ("malformed header line", b"GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", "400"),
    ("HTTP/0.9 request line", b"GET /metrics\r\n\r\n", "400"),
    ("unknown method", b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "405"),
    ("64 KiB URL", b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
    ("100 KB header", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n", "431"),
    ("1000 headers", b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(1000)) + b"\r\n", "431"),
    ("POST with a 100 MB Content-Length", b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc", "405"),
]
for name, data, want in cases:
    got = raw(data)
    good = got.startswith("HTTP/1.1 4") and want in got and scrape() == 200
    print("# %-36s -> %s%s" % (name, got, "" if good else "   (want %s)" % want))
    ok = ok and good
# junk without a request line: dropped, never answered with garbage, server fine
for junk in (b"GARBAGE\r\n\r\n", b"\x16\x03\x01\x00\xff" + b"\x00" * 64, bytes(range(256)) * 40):
    got = raw(junk, timeout=1)
    good = not got.startswith("HTTP/1.1 2") and scrape() == 200
    print("# junk %-31r -> %s" % (junk[:12], got))
    ok = ok and good
# idle connections (a slow client each) do not hold a scrape up
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
for s in idle:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
ok = ok and scrape() == 200
for s in idle:
    s.close()
# a flood of 300 connections from 30 threads: refused beyond the limits, then fine
res = []
def flood():
    for _ in range(10):
        try:
            res.append(raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10)[:12])
        except OSError:
            res.append("refused")
ts = [threading.Thread(target=flood) for _ in range(30)]
[t.start() for t in ts]
[t.join() for t in ts]
served = sum(1 for r in res if r.startswith("HTTP/1.1 200"))
print("# flood: %d of %d connections served, then a scrape: %d" % (served, len(res), scrape()))
ok = ok and served > 0 and scrape() == 200
sys.exit(0 if ok else 1)
EOF
}
check "malformed and oversized requests get 4xx, junk and floods leave it serving" robust
check "serve survived all that (process alive)" kill -0 "$plain_pid"

# --- Prometheus scrapes both while migsim runs --------------------------------
cat > "$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: plain
    static_configs: [{targets: ['127.0.0.1:$plain_port']}]
  - job_name: tls
    scheme: https
    tls_config: {ca_file: '$T/cert.pem'}
    basic_auth: {username: prom, password: s3cret}
    static_configs: [{targets: ['127.0.0.1:$tls_port']}]
EOF
if prom_start "$T/prometheus.yml" && prom_up 2; then
	t_pass "prometheus: ready, both targets up (plain and TLS + basic auth)"
else
	t_fail "prometheus: ready, both targets up"
	sed 's/^/#   /' "$T/prometheus.log" | tail -5
fi

# Snapshots of the live exposition while migsim runs. The destination
# approves each device 1.5 s after its initial data: the migration lasts
# longer than the 1 s between metrics updates, so some show it running.
"$MIGSIM" --log "$T/sim.log" -name "guest=$VM" -uuid "$UUID" --devices 2 \
	--approval-delay 1500 > "$T/sim.out" 2>&1 &
SIM_PID=$!
i=0
while kill -0 "$SIM_PID" 2> /dev/null; do
	i=$((i + 1))
	curl -s "$U/metrics" -o "$T/during.$i.prom"
	sleep 0.1
done
SIM_ST=0
wait "$SIM_PID" || SIM_ST=$?
SIM_END=$(date +%s)
check "migsim completed" test "$SIM_ST" -eq 0
bad=0; running=0
for f in "$T"/during.*.prom; do
	promtool check metrics < "$f" > /dev/null 2>&1 || { bad=$((bad + 1)); promtool check metrics < "$f" 2>&1 | head -3 | sed 's/^/#   /'; }
	grep -q "migscope_migration_active{vm=\"$VM\".*} 1" "$f" && running=$((running + 1))
done
echo "# $running of $(ls "$T"/during.*.prom | wc -l) snapshots taken while the migration ran"
check "promtool check metrics passes on every live snapshot during the migration" test "$bad" -eq 0
check "the running migration was visible live (migration_active 1)" test "$running" -gt 0

Q_DONE="sum(migscope_migrations_total{job=\"plain\",vm=\"$VM\",result=\"completed\"})"
if wait_for 15 sh -c "[ \"\$(curl -s --data-urlencode 'query=$Q_DONE' http://127.0.0.1:$PPORT/api/v1/query | jq -r '.data.result[0].value[1] // empty')\" = 2 ]"; then
	t_pass "prometheus: 2 completed migrations of $VM (source and destination)"
else
	t_fail "prometheus: 2 completed migrations of $VM (got '$(prom_q "$Q_DONE")')"
fi
curl -s "$U/metrics" -o "$T/final.prom"
# the picture of it, as the collector drew it once both sides had ended
curl -s "$U/migrations?vm=$VM" -o "$T/gal.json"
GID=$(jq -r '.migrations[0].id // empty' "$T/gal.json" 2> /dev/null)
curl -s "$U/migrations/$GID.svg" -o "$T/gal.svg" -w '%{http_code} %{content_type}\n' > "$T/gal.code"
curl -s "$U/migrations/latest.svg?vm=$VM" -o "$T/gal-latest.svg"
GAL_404=$(curl -s -o /dev/null -w '%{http_code}' "$U/migrations/987654.svg")/$(curl -s -o /dev/null -w '%{http_code}' "$U/migrations/latest.svg?vm=no-such-vm")
# the dashboard's link from the "Current phase" table, filled in with a row
# Prometheus gives that table (its instance and vm labels), fetches it
link=$(jq -r '.panels[] | select(.title=="Current phase") | .fieldConfig.defaults.links[0].url' \
	"$MS_ROOT/dashboards/migscope.json")
row=$(curl -s --max-time 5 --data-urlencode "query=migscope_migration_phase{job=\"plain\",vm=\"$VM\"} == 1" \
	"http://127.0.0.1:$PPORT/api/v1/query" | jq -r '.data.result[0].metric | "\(.instance) \(.vm)"')
link=${link//'${scheme}'/http}
link=${link//'${__data.fields.instance}'/${row% *}}
link=${link//'${__data.fields.vm}'/${row#* }}
curl -s "$link" -o "$T/gal-link.svg"
# the TLS job scrapes on its own schedule: give it the same time as the plain one
Q_TLS="sum(migscope_migrations_total{job=\"tls\",vm=\"$VM\",result=\"completed\"})"
check "prometheus via TLS + basic auth: the same count" \
	wait_for 15 sh -c "[ \"\$(curl -s --data-urlencode 'query=$Q_TLS' http://127.0.0.1:$PPORT/api/v1/query | jq -r '.data.result[0].value[1] // empty')\" = 2 ]"
check "prometheus: one per role" \
	test "$(prom_q "migscope_migrations_total{job=\"plain\",vm=\"$VM\",role=\"source\",result=\"completed\"}")/$(prom_q "migscope_migrations_total{job=\"plain\",vm=\"$VM\",role=\"destination\",result=\"completed\"}")" = 1/1
check "prometheus: no failed, cancelled or aborted migration of $VM" \
	test "$(prom_q "sum(migscope_migrations_total{job=\"plain\",vm=\"$VM\",result!=\"completed\"})")" = 0
P_DT=$(prom_q "migscope_downtime_seconds_sum{job=\"plain\",vm=\"$VM\",role=\"source\"}")
P_DTN=$(prom_q "migscope_downtime_seconds_count{job=\"plain\",vm=\"$VM\",role=\"source\"}")
P_GDT=$(prom_q "migscope_guest_downtime_seconds_sum{job=\"plain\",vm=\"$VM\"}")
P_PRE=$(prom_q "migscope_precopy_seconds_sum{job=\"plain\",vm=\"$VM\",role=\"source\"}")
P_ACK=$(prom_q "migscope_switchover_ack_latency_seconds_sum{job=\"plain\",vm=\"$VM\",role=\"source\"}")
P_WAIT=$(prom_q "migscope_switchover_ack_wait_seconds_sum{job=\"plain\",vm=\"$VM\",role=\"source\"}")
P_BK=$(prom_q "sum(migscope_downtime_breakdown_seconds_count{job=\"plain\",vm=\"$VM\"})")
# device histograms are per host device (role, device), not per VM
P_TR=$(prom_q "sum(migscope_vfio_state_transition_seconds_count{job=\"plain\",device=\"0000:00:05.0\"})")
P_Q=$(prom_q "histogram_quantile(0.5, sum by (le) (migscope_downtime_seconds_bucket{job=\"plain\",vm=\"$VM\"}))")
echo "# prometheus: downtime ${P_DT}s (n=$P_DTN), guest ${P_GDT}s, precopy ${P_PRE}s, ACK latency ${P_ACK}s, wait ${P_WAIT}s, p50 estimate ${P_Q}s"
check "prometheus: one downtime observation" test "$P_DTN" = 1
check "prometheus: 5 downtime breakdown parts, device transitions seen" sh -c "[ '$P_BK' = 5 ] && [ '${P_TR:-0}' -ge 7 ]"

# --- the dashboard -------------------------------------------------------------
check "dashboards/migscope.json is what make_dashboard.py writes" \
	sh -c "$PY '$MS_ROOT/dashboards/make_dashboard.py' | cmp -s - '$MS_ROOT/dashboards/migscope.json'"
dash_names() {
	jq -r '.. | objects | (.expr?, .definition?) // empty' "$MS_ROOT"/dashboards/*.json |
		grep -o 'migscope_[a-z_]*' | sed -E 's/_(bucket|sum|count)$//' | sort -u
}
dash_ok() {
	local n missing=0
	for n in $(dash_names); do
		grep -q "^# TYPE $n " "$T/final.prom" || { echo "# not in the exposition: $n"; missing=$((missing + 1)); }
	done
	echo "# $(dash_names | wc -l) metric names used by the dashboard"
	[ "$missing" -eq 0 ] && [ "$(dash_names | wc -l)" -ge 20 ]
}
check "every metric name the dashboard uses is in the live exposition" dash_ok
dash_queries_ok() {
	local e q st bad=0 data=0 n=0
	while IFS= read -r e; do
		q=$(printf '%s' "$e" | sed -e 's/\$instance/.*/g' -e "s/\\\$vm/$VM/g" -e 's/\$role/.*/g' \
			-e 's/\$__rate_interval/1m/g' -e 's/\$__range/5m/g')
		st=$(curl -s --data-urlencode "query=$q" "http://127.0.0.1:$PPORT/api/v1/query")
		n=$((n + 1))
		if [ "$(printf '%s' "$st" | jq -r .status)" != success ]; then
			bad=$((bad + 1)); echo "# invalid: $q: $(printf '%s' "$st" | jq -r .error)"
		elif [ "$(printf '%s' "$st" | jq '.data.result | length')" -gt 0 ]; then
			data=$((data + 1))
		fi
	done < <(jq -r '.. | objects | .expr? // empty' "$MS_ROOT"/dashboards/*.json)
	echo "# $n dashboard queries: $bad invalid, $data with data now"
	[ "$bad" -eq 0 ] && [ "$data" -ge $((n / 2)) ]
}
check "every dashboard query is valid PromQL for Prometheus, most have data" dash_queries_ok
docs_ok() {
	local name type labels l miss=0
	while read -r name type labels; do
		l=${labels//,/, }
		grep -qF "| \`$name\` | $type | ${l:+$l }|" "$MS_ROOT/docs/metrics.md" ||
			{ echo "# docs/metrics.md lacks: $name $type {$labels}"; miss=$((miss + 1)); }
	done < <("$PROMGEN" families)
	[ "$miss" -eq 0 ]
}
check "docs/metrics.md lists every metric of the table with its type and labels" docs_ok
check "dashboard: datasource, instance, vm, role and scheme variables" \
	test "$(jq -r '[.templating.list[].name] | join(",")' "$MS_ROOT/dashboards/migscope.json")" = "datasource,instance,vm,role,scheme"

# --- expiry of the finished VM's series ------------------------------------------
has_vm() { curl -s "$U/metrics" | grep -q "vm=\"$VM\""; }
now=$(date +%s)
[ $((SIM_END + EXPIRE - 6 - now)) -gt 0 ] && sleep $((SIM_END + EXPIRE - 6 - now))
echo "# $(($(date +%s) - SIM_END)) s after migsim ended"
check "expiry: $VM's series still there $((EXPIRE - 6)) s after its processes exited" has_vm
if wait_for 15 sh -c "! curl -s '$U/metrics' | grep -q 'vm=\"$VM\"'"; then
	gone=$(( $(date +%s) - SIM_END ))
	echo "# series gone $gone s after migsim ended (--expire $EXPIRE)"
	check "expiry: gone within $EXPIRE s + 3 s of the end, not before $((EXPIRE - 6)) s" \
		test "$gone" -le $((EXPIRE + 3))
else
	t_fail "expiry: $VM's series gone after --expire $EXPIRE"
fi
sleep 2
check "expiry: Prometheus no longer sees the series (instant query empty)" \
	test -z "$(prom_q "migscope_migrations_total{job=\"plain\",vm=\"$VM\"}")"
check "expiry: Prometheus kept the history (last_over_time)" \
	test "$(prom_q "sum(last_over_time(migscope_migrations_total{job=\"plain\",vm=\"$VM\",result=\"completed\"}[5m]))")" = 2

kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null

# --- stop; compare with the replay of the recording ------------------------------
kill -INT "$plain_pid"
st=0; wait "$plain_pid" || st=$?
check "serve: SIGINT ends it with status 0 and a summary line" \
	sh -c "[ $st -eq 0 ] && grep -q 'serve: [0-9]* scrapes' '$T/plain.err'"
check "serve --record: the trace file replays cleanly" \
	"$MIGSCOPE" replay --format json -o "$T/replay.json" "$T/serve.trace"
sel=".migrations[] | select(.vm==\"$VM\" and .role==\"source\")"
R_DT=$(jq -r "$sel | .downtime_ms" "$T/replay.json")
R_PRE=$(jq -r "$sel | .precopy_ms" "$T/replay.json")
R_ACK=$(jq -r "$sel | .switchover_ack.ack_latency_ms" "$T/replay.json")
R_WAIT=$(jq -r "$sel | .switchover_ack.ack_wait_ms" "$T/replay.json")
R_GDT=$(jq -r ".pairs[] | select(.vm==\"$VM\") | .guest_downtime_ms" "$T/replay.json")
R_N=$(jq "[.migrations[] | select(.vm==\"$VM\" and .result==\"completed\")] | length" "$T/replay.json")
S_DT=$(jq -r 'select(.summary.role=="source") | .summary.downtime_ms' "$T/sim.log")
echo "# replay: downtime ${R_DT} ms, guest ${R_GDT} ms, precopy ${R_PRE} ms, ACK latency ${R_ACK} ms, wait ${R_WAIT} ms; migsim's log: downtime ${S_DT} ms"
# other suites' probe storms on this host can overflow the ring buffer: say so
echo "# lost events in the recording: $(jq .lost_records "$T/replay.json"); $VM incomplete: $(jq -c "[.migrations[] | select(.vm==\"$VM\") | .incomplete]" "$T/replay.json")"
check "replay report: 2 completed migrations of $VM, as Prometheus counted" test "$R_N" = 2
ms() { awk -v v="$1" 'BEGIN { if (v == "") exit 1; printf "%.9f", v * 1000 }'; }
check "prometheus downtime == replay downtime (1 us)" close_to "$(ms "$P_DT")" "$R_DT" 0.001
check "prometheus guest downtime == replay guest downtime (1 us)" close_to "$(ms "$P_GDT")" "$R_GDT" 0.001
ack_figures_ok() {
	close_to "$(ms "$P_PRE")" "$R_PRE" 0.001 && close_to "$(ms "$P_ACK")" "$R_ACK" 0.001 &&
		close_to "$(ms "$P_WAIT")" "$R_WAIT" 0.001
}
check "prometheus precopy, ACK latency, ACK wait == replay (1 us)" ack_figures_ok
check "prometheus downtime within 1 ms of migsim's own" close_to "$(ms "$P_DT")" "$S_DT" 1

# /migrations: the list names the pair, its downtime the replay's; the
# picture is the pair's panel with the replay's figures (tests/tools/svgcheck.py)
check "serve /migrations?vm=: one pair of $VM, completed on both sides" \
	test "$(jq -r '[.migrations | length, .[0].sides, .[0].result, .[0].destination_result] | join(" ")' "$T/gal.json")" = "1 pair completed completed"
check "serve /migrations: its downtime is the replay's (1 us)" \
	close_to "$(jq -r '.migrations[0].downtime_ms' "$T/gal.json")" "$R_DT" 0.001
check "serve /migrations/$GID.svg: 200, image/svg+xml" grep -q '^200 image/svg+xml' "$T/gal.code"
check "serve /migrations/latest.svg?vm=$VM is that picture" cmp -s "$T/gal.svg" "$T/gal-latest.svg"
check "serve /migrations: an ID or a VM it does not have is 404 ($GAL_404)" test "$GAL_404" = 404/404
check "dashboard: the Current phase row's link, filled from Prometheus ($link), is that picture" \
	cmp -s "$T/gal.svg" "$T/gal-link.svg"
pair=".pairs[] | select(.vm==\"$VM\")"
jq "($pair) as \$p | {migrations: [.migrations[\$p.source], .migrations[\$p.destination]], pairs: [\$p | .source = 0 | .destination = 1]}" \
	"$T/replay.json" > "$T/gal.report.json"
SVGCHECK_PROFILE=$T/chromium-profile $PY "$MS_ROOT/tests/tools/svgcheck.py" "$T/gal.svg" \
	"$T/gal.report.json" --only --render "$T/svg" > "$T/gal.sc" 2>&1
check "serve /migrations/$GID.svg: the replay's downtime on its scales, rendered, no text over text" \
	test $? = 0 || sed 's/^/#   /' "$T/gal.sc" | head -8

# replay --format prom (the lead wires it into cmd_replay.c; promgen runs the same
# function until then) against the live exposition: every migration series of
# the VM has the same value
if "$MIGSCOPE" replay --format prom "$T/serve.trace" > "$T/replay.prom" 2> /dev/null; then
	how="migscope replay --format prom"
else
	"$PROMGEN" render "$T/serve.trace" > "$T/replay.prom"
	how="promgen render (replay --format prom not wired yet)"
fi
echo "# replayed exposition by $how"
check "replayed exposition passes promtool" promtool check metrics < "$T/replay.prom"
same_series() {
	# counters and histograms of the VM: identical in the live and replayed expositions
	local fams='migscope_(migrations_total|downtime_seconds|guest_downtime_seconds|precopy_seconds|switchover_ack_[a-z_]*seconds|downtime_breakdown_seconds|vfio_init_drain_seconds|vfio_state_transition_seconds|device_downtime_seconds)'
	grep -E "^$fams" "$T/final.prom" | grep "vm=\"$VM\"" | sort > "$T/a"
	grep -E "^$fams" "$T/replay.prom" | grep "vm=\"$VM\"" | sort > "$T/b"
	echo "# $(wc -l < "$T/a") samples compared"
	[ -s "$T/a" ] && diff "$T/a" "$T/b" | head -5 | sed 's/^/#   /' && cmp -s "$T/a" "$T/b"
}
check "replay exposition == live exposition for $VM's counters and histograms" same_series

kill -INT "$tls_pid"; wait "$tls_pid" 2>/dev/null

# --- errors: one line, the right status -------------------------------------------
one_line() { # STATUS PATTERN COMMAND...
	local want=$1 pat=$2 st=0; shift 2
	"$@" > /dev/null 2> "$T/err" || st=$?
	[ "$st" -eq "$want" ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q "$pat" "$T/err" ||
		{ echo "# status $st:"; sed 's/^/#   /' "$T/err"; return 1; }
}
printf 'tls_server_config:\n  cert_file: a.pem\n  key_file: b.pem\n  client_ca_file: ca.pem\n' > "$T/bad.yml"
check "bad web config: exit 1, one line naming file:line and the key" \
	one_line 1 "bad.yml:4: tls_server_config.client_ca_file is not supported" "$MIGSCOPE" serve --web-config "$T/bad.yml"
printf 'basic_auth_users:\n  bob: secret\n' > "$T/bad2.yml"
check "plaintext password in web config: exit 1, says bcrypt" \
	one_line 1 "bad2.yml:2: basic_auth_users.bob: not a bcrypt hash" "$MIGSCOPE" serve --web-config "$T/bad2.yml"
printf 'tls_server_config:\n  cert_file: nope.pem\n  key_file: nope.key\n' > "$T/bad3.yml"
check "missing certificate: exit 1, one line naming it" \
	one_line 1 "cannot read certificate $T/nope.pem" "$MIGSCOPE" serve --web-config "$T/bad3.yml"
check "missing web config: exit 1, one line" \
	one_line 1 "cannot read web config" "$MIGSCOPE" serve --web-config "$T/none.yml"
$PY -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' > "$T/busy" &
busy=$!; OWN+=("$busy")
wait_for 5 test -s "$T/busy"
check "port in use: exit 1, one line" \
	one_line 1 "cannot listen on 127.0.0.1:$(cat "$T/busy"): Address already in use" "$MIGSCOPE" serve --listen "127.0.0.1:$(cat "$T/busy")"
kill "$busy"
check "--listen junk: exit 1, one line" one_line 1 "not a port number" "$MIGSCOPE" serve --listen 127.0.0.1:http2
check "--expire below the minimum: usage error 2" one_line 2 "expire takes seconds" "$MIGSCOPE" serve --expire 1

# --- serve --replay: the recording's end over HTTP, no root needed ---------------
if serve_start rp --replay "$T/serve.trace"; then
	curl -s "http://127.0.0.1:$rp_port/metrics" > "$T/rp.prom"
	# the same, plus the HTTP server's own families
	check "serve --replay serves what replay --format prom prints" \
		cmp -s <(grep -Ev 'migscope_(scrape_duration_seconds|http_requests_total)' "$T/rp.prom") "$T/replay.prom"
	kill -INT "$rp_pid"; wait "$rp_pid" 2>/dev/null
else
	t_fail "serve --replay did not start"
fi

# --- serve --replay with several files: two hosts' recordings, merged --------------
MSSPLIT=$MS_BUILD/mssplit
if [ -x "$MSSPLIT" ] && "$MSSPLIT" "$T/serve.trace" -s "$T/two.s.trace" -d "$T/two.d.trace" \
	--mono-shift 2500000000 --real-shift 41000 --host dsthost > /dev/null 2>&1 &&
	"$MIGSCOPE" replay --format prom "$T/two.s.trace" "$T/two.d.trace" > "$T/two.prom" 2> /dev/null; then
	if serve_start rp2 --replay "$T/two.s.trace" --replay "$T/two.d.trace"; then
		curl -s "http://127.0.0.1:$rp2_port/metrics" > "$T/rp2.prom"
		check "serve --replay A --replay B serves what replay --format prom A B prints" \
			cmp -s <(grep -Ev 'migscope_(scrape_duration_seconds|http_requests_total)' "$T/rp2.prom") "$T/two.prom"
		check "serve --replay of two hosts' files: the pair's guest downtime is there" \
			grep -q '^migscope_guest_downtime_seconds_count' "$T/rp2.prom"
		check "serve --replay of two files says so at start" \
			grep -q 'the end of .*two.s.trace and the other files' "$T/rp2.err"
		kill -INT "$rp2_pid"; wait "$rp2_pid" 2>/dev/null
	else
		t_fail "serve --replay A --replay B did not start"
	fi
else
	t_fail "serve --replay: cannot split the recording into two hosts' files (mssplit)"
fi
check "serve --replay of a missing file: exit 1, one line" one_line 1 "No such file" \
	"$MIGSCOPE" serve --listen 127.0.0.1:0 --replay "$T/none.trace"
check "serve --replay 17 times: usage error 2" one_line 2 "at most 16 --replay" \
	"$MIGSCOPE" serve --listen 127.0.0.1:0 $(for i in $(seq 17); do printf -- '--replay %s ' "$T/serve.trace"; done)

# --- the systemd unit --------------------------------------------------------------
sed "s|/usr/local/bin/migscope|$MIGSCOPE|" "$MS_ROOT/deploy/migscope.service" > "$T/migscope.service"
check "deploy/migscope.service passes systemd-analyze verify" systemd-analyze verify "$T/migscope.service"
# The unit's credentials, made by hand: root's uid without root's capabilities
# (noroot), the three of CapabilityBoundingSet as ambient ones. Serve must set
# up BPF with them and still attach to a QEMU started afterwards.
unit_caps() {
	local pid port st=0
	setpriv --securebits +noroot,+noroot_locked --no-new-privs \
		--bounding-set -all,+bpf,+perfmon,+sys_ptrace --inh-caps -all,+bpf,+perfmon,+sys_ptrace \
		--ambient-caps -all,+bpf,+perfmon,+sys_ptrace \
		"$MIGSCOPE" serve --listen 127.0.0.1:0 2> "$T/unit.err" &
	pid=$!; OWN+=("$pid")
	wait_for 30 grep -q 'migscope: serving' "$T/unit.err" || { sed 's/^/#   /' "$T/unit.err"; return 1; }
	port=$(sed -n 's|.*serving http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T/unit.err")
	"$MIGSIM" -name "guest=$VM-unit" -uuid "$UUID" --devices 1 > /dev/null 2>&1 || st=1
	wait_for 10 sh -c "curl -s http://127.0.0.1:$port/metrics | grep -q 'migscope_migrations_total{vm=\"$VM-unit\".*role=\"source\",result=\"completed\"} 1'" || st=1
	kill -INT "$pid"; wait "$pid" 2>/dev/null
	return $st
}
check "with only the unit's capabilities (noroot + ambient bpf, perfmon, sys_ptrace) serve traces a new QEMU" unit_caps
true
