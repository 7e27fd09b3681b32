# Helpers of the exporter suite: migscope serve instances and a real
# Prometheus server (Debian's package) on 127.0.0.1, each on a port of its
# own, stopped at exit. Source after tests/lib.sh and t_tmpdir.

OWN=() # processes this test started, killed at exit

cleanup() {
	local p
	for p in "${OWN[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${OWN[@]}"; do wait "$p" 2>/dev/null; done
	t_cleanup
}
trap cleanup EXIT

# free_port: a TCP port nobody listens on now
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# serve_start NAME ARGS...: migscope serve on 127.0.0.1, any port; sets
# ${NAME}_pid and ${NAME}_port once it serves
serve_start() {
	local name=$1 pid port; shift
	"$MIGSCOPE" serve --listen 127.0.0.1:0 "$@" 2> "$T/$name.err" &
	pid=$!
	OWN+=("$pid")
	if ! wait_for 30 grep -q 'migscope: serving' "$T/$name.err"; then
		echo "# serve $name did not start:"; sed 's/^/#   /' "$T/$name.err"
		return 1
	fi
	port=$(sed -n 's|.*serving https\{0,1\}://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T/$name.err" | head -1)
	printf -v "${name}_pid" %s "$pid"
	printf -v "${name}_port" %s "$port"
}

# code URL [CURL ARGS...]: the HTTP status curl gets (000: no answer)
code() {
	local url=$1; shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$url"
}

# prom_start CONFIG: Prometheus with its own storage on a free port of
# 127.0.0.1; sets PPORT and PROM_PID, returns once it is ready
prom_start() {
	PPORT=$(free_port)
	prometheus --config.file="$1" --storage.tsdb.path="$T/tsdb" \
		--web.listen-address="127.0.0.1:$PPORT" --log.level=warn > "$T/prometheus.log" 2>&1 &
	PROM_PID=$!
	OWN+=("$PROM_PID")
	wait_for 30 curl -sf "http://127.0.0.1:$PPORT/-/ready" -o /dev/null
}

# prom_up N: wait (15 s at most) until N targets are up
prom_up() {
	wait_for 15 sh -c "[ \"\$(curl -s --data-urlencode 'query=sum(up)' http://127.0.0.1:$PPORT/api/v1/query | jq -r '.data.result[0].value[1]')\" = $1 ]"
}

# prom_q EXPR: the first value of an instant query to Prometheus, "" if none
prom_q() {
	curl -s --max-time 5 --data-urlencode "query=$1" "http://127.0.0.1:$PPORT/api/v1/query" |
		jq -r '.data.result[0].value[1] // empty'
}

# close_to A B TOLERANCE: |A - B| <= TOLERANCE
close_to() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= t) }'
}
