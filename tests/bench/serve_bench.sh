#!/usr/bin/env bash
# serve_bench.sh OUT: scrape latency and resident memory of `migscope serve`
# while it tracks 100 VMs of 4 VFIO devices each (make bench; tests/bench/run.sh
# calls it). Prints one table line; writes key=value lines to OUT:
#   scrape_p50_ms, scrape_p99_ms    plain scrapes, keep-alive, as Prometheus does
#   scrape_gzip_p50_ms, scrape_gzip_p99_ms   with Accept-Encoding: gzip
#   serve_rss_kb, serve_rss_idle_kb, serve_hwm_kb   VmRSS with the VMs, before them; VmHWM
#   serve_rss_anon_kb   the part that is migscope's own memory: the rest is
#                   mostly the BPF ring buffer's mapping (32 MB for the default 16 MiB)
#   samples, exposition_bytes, exposition_gzip_bytes, vms_tracked (series groups)
#   update_ms       what the latest metrics update held the engine for (live
#                   tick, snapshot included; one sample)
#   update_inproc_ms  the same step in-process, median of 51
#   snapshot_ms, render_ms, gzip_ms   in-process on the same state: the copy the
#                   tick publishes, and what each scrape does with it
#
# The VMs are real: 100 migsim runs (-name bench-vm-N, 4 devices each, 4 at a
# time) traced live by serve through BPF, so that the engine, the registry and
# the process hold what they would on a host; their series stay for the expiry
# time (set to an hour here), which is what "tracked" means for a VM whose
# migration ended. promgen then replays serve's own recording of them to time
# the update and render steps without HTTP.
set -u
out=${1:?usage: serve_bench.sh OUTFILE}
. "$(dirname "$0")/../lib.sh"
PROMGEN=${PROMGEN:-$MS_BUILD/tests/exporter/promgen}
N=${SERVE_BENCH_VMS:-100}
DEVS=4
PAR=4
SCRAPES=${SERVE_BENCH_SCRAPES:-300}

if [ "$(id -u)" -ne 0 ]; then
	echo "serve_bench.sh: needs root (BPF)" >&2
	exit 1
fi
T=$(mktemp -d /tmp/migscope-bench.XXXXXX)
SPID=
cleanup() {
	[ -n "$SPID" ] && kill -INT "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

rss() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

"$MIGSCOPE" serve --listen 127.0.0.1:0 --binary "$MIGSIM" --expire 3600 \
	--record "$T/bench.trace" 2> "$T/serve.err" &
SPID=$!
if ! wait_for 30 grep -q 'migscope: serving' "$T/serve.err"; then
	echo "serve_bench.sh: serve did not start:" >&2
	cat "$T/serve.err" >&2
	exit 1
fi
port=$(sed -n 's|.*serving http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T/serve.err")
U="http://127.0.0.1:$port/metrics"
idle_rss=$(rss "$SPID" VmRSS)

# 100 VMs, 4 at a time; each run is one source and one destination process
seq 1 "$N" | xargs -P "$PAR" -I{} sh -c \
	'"$0" -name guest=bench-vm-{} -uuid "$(printf "00000000-0000-4000-8000-%012d" {})" --devices '"$DEVS"' --startup-delay 50 > /dev/null 2>&1 || echo "migsim {} failed" >&2' \
	"$MIGSIM"
done_count() {
	curl -s "$U" | awk '/^migscope_migrations_total\{vm="bench-vm-.*result="completed"\}/ {n += $2} END {print n + 0}'
}
if ! wait_for 20 sh -c "[ \$(curl -s '$U' | awk '/^migscope_migrations_total\\{vm=\"bench-vm-.*result=\"completed\"\\}/ {n += \$2} END {print n + 0}') -ge $((2 * N)) ]"; then
	echo "serve_bench.sh: serve counts $(done_count) completed migrations of $((2 * N))" >&2
fi
sleep 1.5 # one more update, so that the state is settled

# scrapes: one curl, keep-alive, like a Prometheus server's scrape loop
urls=()
for _ in $(seq 1 "$SCRAPES"); do urls+=(-o /dev/null "$U"); done
curl -s -w '%{time_total}\n' "${urls[@]}" > "$T/plain.t"
curl -s -H 'Accept-Encoding: gzip' -w '%{time_total}\n' "${urls[@]}" > "$T/gzip.t"
pct() { sort -n "$1" | awk -v p="$2" '{v[NR] = $1} END {i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.3f", v[i] * 1000}'; }
p50=$(pct "$T/plain.t" 50)
p99=$(pct "$T/plain.t" 99)
g50=$(pct "$T/gzip.t" 50)
g99=$(pct "$T/gzip.t" 99)
rss_kb=$(rss "$SPID" VmRSS)
anon_kb=$(rss "$SPID" RssAnon)
hwm_kb=$(rss "$SPID" VmHWM)
curl -s "$U" > "$T/expo.prom"
upd_live=$(awk '/^migscope_metrics_update_seconds / {printf "%.3f", $2 * 1000}' "$T/expo.prom")
kill -INT "$SPID"
wait "$SPID" 2>/dev/null
SPID=

"$PROMGEN" bench "$T/bench.trace" > "$T/inproc.kv" || { echo "serve_bench.sh: promgen bench failed" >&2; exit 1; }
kv() { sed -n "s/^$1=//p" "$T/inproc.kv"; }

{
	echo "scrape_p50_ms=$p50"
	echo "scrape_p99_ms=$p99"
	echo "scrape_gzip_p50_ms=$g50"
	echo "scrape_gzip_p99_ms=$g99"
	echo "serve_rss_kb=$rss_kb"
	echo "serve_rss_idle_kb=$idle_rss"
	echo "serve_rss_anon_kb=$anon_kb"
	echo "serve_hwm_kb=$hwm_kb"
	echo "vms=$N"
	echo "vms_tracked=$(kv vms_tracked)"
	echo "samples=$(grep -vc "^#" "$T/expo.prom")"
	echo "exposition_bytes=$(kv exposition_bytes)"
	echo "exposition_gzip_bytes=$(kv exposition_gzip_bytes)"
	echo "update_ms=${upd_live:-$(kv update_ms)}"
	echo "update_inproc_ms=$(kv update_ms)"
	echo "snapshot_ms=$(kv snapshot_ms)"
	echo "render_ms=$(kv render_ms)"
	echo "gzip_ms=$(kv gzip_ms)"
} > "$out"
printf '%-28s scrape p50 %s ms p99 %s ms (gzip %s / %s ms), RSS %s kB (idle %s kB, anon %s kB), %s samples, %s B (%s B gzip), update %s ms\n' \
	"serve: $N VMs x $DEVS devices" "$p50" "$p99" "$g50" "$g99" "$rss_kb" "$idle_rss" "$anon_kb" \
	"$(grep -vc '^#' "$T/expo.prom")" "$(kv exposition_bytes)" "$(kv exposition_gzip_bytes)" \
	"${upd_live:-$(kv update_ms)}"
