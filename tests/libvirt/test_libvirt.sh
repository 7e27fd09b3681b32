#!/usr/bin/env bash
# A real libvirt (Debian's libvirtd, started here without systemd, in session
# mode as user nobody so that nothing of the host's libvirt is touched) runs a
# domain whose <emulator> is the test's QEMU 10.0.2 build; its stderr goes to
# libvirt's per-VM log, MIGSCOPE probes --log-setup's virsh commands turn the
# catalog's trace events on, and the domain migrates (QMP migrate through
# virsh qemu-monitor-command) to a plain destination QEMU with the same
# command line. serve --follow and top --follow (on a terminal, under tmux)
# show it live; a real Prometheus scrapes the downtime; the replay of VM.log
# names the VM, its UUID and the host from libvirt's header.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
. "$MS_ROOT/tests/exporter/lib_exporter.sh"
. "$MS_ROOT/tests/view/lib_view.sh"
LVDIR=$MS_ROOT/tests/libvirt
QDIR=$MS_ROOT/tests/qemu
VM=mstest-lv
UUID=$(cat /proc/sys/kernel/random/uuid)

for b in libvirtd virsh; do
	command -v "$b" > /dev/null ||
		{ t_fail "libvirt: $b is not installed (scripts/deps.sh installs libvirt-daemon-system)"; exit 0; }
done
QEMU=$("$MS_ROOT/scripts/build-qemu.sh" 2> "$T/build.err" | tail -n 1)
if [ ! -x "$QEMU" ]; then
	t_fail "libvirt: the QEMU build (scripts/build-qemu.sh)"
	tail -5 "$T/build.err" | sed 's/^/#   /'
	exit 0
fi

# --- libvirt's session daemon, user nobody, everything under $L ---
L=$T/lv
mkdir -p "$L/home" "$L/run" "$L/cfg/libvirt" "$L/cache" "$L/dst"
chmod 755 "$T" "$L"
chmod 700 "$L/run"
# QEMU's stderr straight to VM.log (no virtlogd)
echo 'stdio_handler = "file"' > "$L/cfg/libvirt/qemu.conf"
chown -R nobody:nogroup "$L"
LOG=$L/cache/libvirt/qemu/log/$VM.log
DLOG=$L/dst/dst.log
# as nobody, in the session's environment: "${LV[@]}" CMD (a command, not a
# function, so that CMD & gives CMD's own pid: setpriv and env exec it)
LV=(setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
	HOME="$L/home" XDG_RUNTIME_DIR="$L/run" XDG_CONFIG_HOME="$L/cfg" XDG_CACHE_HOME="$L/cache")
lv() { "${LV[@]}" "$@"; }
DPID=
lv_cleanup() {
	lv virsh destroy "$VM" > /dev/null 2>&1
	lv virsh undefine "$VM" > /dev/null 2>&1
	[ -n "$DPID" ] && kill -9 "$DPID" 2> /dev/null
	[ -n "${LVD_PID:-}" ] && kill "$LVD_PID" 2> /dev/null && wait "$LVD_PID" 2> /dev/null
	pkill -9 -f -- "-uuid $UUID" 2> /dev/null
	tm_stop
	cleanup
}
trap lv_cleanup EXIT

"${LV[@]}" libvirtd > "$T/libvirtd.out" 2>&1 &
LVD_PID=$!
virsh_ok() { lv virsh version > /dev/null 2>&1; }
check "libvirt: libvirtd (session, user nobody) answers virsh" wait_for 20 virsh_ok

# --- the domain: the test guest, booted by the QEMU build, TCG ---
GUEST=$L/migguest.elf
gcc -m32 -march=i686 -O2 -ffreestanding -fno-pic -fno-pie -no-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -mno-sse -mno-mmx -nostdlib -static \
	-Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,"$QDIR/guest/guest.ld" \
	-o "$GUEST" "$QDIR/guest/migguest.c" && chmod 644 "$GUEST" ||
	{ t_fail "libvirt: the test guest builds"; exit 0; }
cat > "$L/dom.xml" <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$VM</name>
  <uuid>$UUID</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST</kernel>
    <cmdline>mib=16 rate=0</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$QEMU</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'><source path='$L/src.serial'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-L'/><qemu:arg value='/usr/share/seabios'/>
    <qemu:arg value='-L'/><qemu:arg value='/usr/share/qemu'/>
  </qemu:commandline>
</domain>
EOF
chmod 644 "$L/dom.xml"

# --- followers first: the VM's log does not exist yet ---
serve_start s --follow "$L/cache/libvirt/qemu/log" --follow "$L/dst" ||
	{ t_fail "libvirt: serve --follow did not start"; exit 0; }
cat > "$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: migscope
    static_configs:
      - targets: ['127.0.0.1:$s_port']
EOF
prom_start "$T/prometheus.yml" || { t_fail "libvirt: Prometheus did not start"; sed 's/^/#   /' "$T/prometheus.log" | tail -5; }
tm_start || { t_fail "libvirt: tmux did not start"; exit 0; }
tm_run "$MIGSCOPE top --follow $L/cache/libvirt/qemu/log --follow $L/dst --keep 0"
tm_wait "libvirt: top --follow on a terminal: its title names the source" 10 'live from '

lv virsh define "$L/dom.xml" > "$T/define.out" 2>&1 &&
	lv virsh start "$VM" > "$T/start.out" 2>&1
check "libvirt: the domain starts with the QEMU build as its emulator" test $? = 0 ||
	{ sed 's/^/#   /' "$T/start.out"; tail -5 "$LOG" | sed 's/^/#   /'; exit 0; }
check "libvirt: the guest boots" wait_for 30 grep -qs 'migguest: ready' "$L/src.serial"
SPID=$(pgrep -f -- "-uuid $UUID")
# the catalog's trace events on, as an operator would turn them on
"$MIGSCOPE" probes --log-setup "$VM" > "$L/setup.sh" && chmod 644 "$L/setup.sh"
lv sh "$L/setup.sh" > "$T/setup.out" 2>&1
event_on() {
	lv virsh qemu-monitor-command "$VM" \
		'{"execute":"trace-event-get-state","arguments":{"name":"migrate_set_state"}}' |
		grep -q '"state":"enabled"'
}
check "libvirt: probes --log-setup's commands, run by sh, turn migrate_set_state on" event_on

# --- the destination: the source's command line, a plain QEMU ---
"$MIGSCOPE" probes --log-events > "$L/events" && chmod 644 "$L/events"
$PY "$LVDIR/dstargv.py" "$SPID" "$L/dst.qmp" "$L/dst.serial" "$DLOG" "$L/events" > "$L/dst.argv" ||
	{ t_fail "libvirt: dstargv.py"; exit 0; }
mapfile -t DARGV < "$L/dst.argv"
"${LV[@]}" "${DARGV[@]}" > "$T/dst.out" 2>&1 &
DPID=$!
port=$(free_port)
$PY "$QDIR/qmp.py" --wait 20 "$L/dst.qmp" migrate-incoming "{\"uri\":\"tcp:127.0.0.1:$port\"}" > "$T/incoming.out" 2>&1 ||
	{ t_fail "libvirt: the destination takes migrate-incoming"; sed 's/^/#   /' "$T/dst.out" | tail -5; exit 0; }
# the return path and switchover-ack on both sides, as for a VFIO guest
CAPS='{"capabilities":[{"capability":"return-path","state":true},{"capability":"switchover-ack","state":true}]}'
$PY "$QDIR/qmp.py" "$L/dst.qmp" migrate-set-capabilities "$CAPS" > "$T/caps.out" 2>&1 &&
	lv virsh qemu-monitor-command "$VM" "{\"execute\":\"migrate-set-capabilities\",\"arguments\":$CAPS}" >> "$T/caps.out" 2>&1
check "libvirt: return-path and switchover-ack set on both sides" test $? = 0 || sed 's/^/#   /' "$T/caps.out"
lv virsh qemu-monitor-command "$VM" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:$port\"}}" > "$T/migrate.out" 2>&1
mig_done() {
	lv virsh qemu-monitor-command "$VM" '{"execute":"query-migrate"}' > "$T/query.json" 2>&1 &&
		grep -qE '"status":"(completed|failed|cancelled)"' "$T/query.json"
}
wait_for 60 mig_done
check "libvirt: QMP migrate through virsh qemu-monitor-command completes" grep -q '"status":"completed"' "$T/query.json" ||
	sed 's/^/#   /' "$T/migrate.out" "$T/query.json" | head -5
dst_running() { $PY "$QDIR/qmp.py" "$L/dst.qmp" query-status 2> /dev/null | grep -q '"running"'; }
check "libvirt: the guest runs on the destination (QMP query-status)" wait_for 10 dst_running

# --- what migscope showed live ---
tm_wait "libvirt: top --follow shows the domain's source row, completed" 10 "^ *[0-9]+ +$VM +src +completed"
tm_wait "libvirt: ... and the destination's row, completed" 10 '^ *[0-9]+ .* dst +completed'
tm_check "libvirt: ... its header counts the two log files" tm_has 'log files followed: 2'
sleep 2.2 # serve's next update
curl -s --max-time 10 "http://127.0.0.1:$s_port/metrics" > "$T/serve.prom"
check "libvirt: serve --follow: the source's downtime, the VM named by libvirt's header" \
	grep -qE "^migscope_downtime_seconds_count\{vm=\"$VM\",uuid=\"$UUID\",role=\"source\"\} 1$" "$T/serve.prom"
check "libvirt: ... migscope_source_info names libvirt's log directory" \
	grep -q "^migscope_source_info{source=\"log\",path=\"$L/cache/libvirt/qemu/log\"} 1$" "$T/serve.prom"
prom_up 1
prom_dt() { [ "$(prom_q "migscope_downtime_seconds_count{vm=\"$VM\",role=\"source\"}")" = 1 ]; }
check "libvirt: Prometheus scraped the source's downtime" wait_for 10 prom_dt

# --- after the fact: VM.log alone names the VM, its UUID and the host ---
"$MIGSCOPE" replay --format json -o "$T/log.json" "$LOG" 2> "$T/log.err"
named_src() {
	jq -e --arg vm "$VM" --arg uuid "$UUID" --arg host "$(uname -n)" \
		'[.migrations[] | select(.role == "source" and .result == "completed" and .vm == $vm and .uuid == $uuid and .host == $host)] | length == 1' \
		"$T/log.json" > /dev/null
}
check "libvirt: replay of VM.log: the source migration completed, named by the header" named_src ||
	sed 's/^/#   /' "$T/log.err"
dt_serve=$(sed -n "s/^migscope_downtime_seconds_sum{vm=\"$VM\",uuid=\"$UUID\",role=\"source\"} //p" "$T/serve.prom")
dt_log=$(jq -r '.migrations[] | select(.role == "source") | .downtime_ms' "$T/log.json")
check "libvirt: ... its downtime is the one serve --follow exported ($dt_log ms)" \
	close_to "$dt_serve" "$(awk -v d="$dt_log" 'BEGIN { print d / 1000 }')" 0.000001
"$MIGSCOPE" replay --format json -o "$T/two.json" "$LOG" "$DLOG" 2> "$T/two.err"
one_pair() { jq -e '.pairs | length == 1' "$T/two.json" > /dev/null; }
check "libvirt: replay of VM.log and the destination's log (unnamed) pairs the two sides by their messages" \
	one_pair

tm_keys q
tm_exited 10
check "libvirt: top --follow quits on q (exit 0)" test "${TM_EXIT:-x}" = 0
kill -INT "$s_pid"; wait "$s_pid"
check "libvirt: serve --follow: exit 0 at SIGINT" test $? = 0
