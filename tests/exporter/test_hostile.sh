#!/usr/bin/env bash
# Hostile clients against serve, plain and TLS with basic auth: 1,000
# connections at once, slow clients, 1 MiB headers, garbage, pipelining, TLS
# handshakes that stop halfway (tests/exporter/hostile.py, about a minute).
# Scrapes from another address answer within 1 s at p99 throughout, memory
# stays bounded, and the server recovers its threads and fds.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
. "$(dirname "$0")/lib_exporter.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1' \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2> /dev/null
hash=$(htpasswd -nbBC 10 prom s3cret | cut -d: -f2)
cat > "$T/web.yml" <<EOF2
tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
basic_auth_users:
  prom: '$hash'
EOF2
if ! serve_start plain --ring-size 16 || ! serve_start tls --web-config "$T/web.yml" --ring-size 16; then
	t_fail "hostile: serve did not start"
	exit 0
fi
# one process serves both in this test's view: each attack goes to plain,
# the TLS ones to tls; figures are the plain server's (the TLS one is
# probed throughout too)
out=$($PY "$MS_ROOT/tests/exporter/hostile.py" "$plain_pid" "$plain_port" "$tls_port" prom:s3cret 2>&1)
st=$?
printf '%s\n' "$out" | grep '^#'
printf '%s\n' "$out" | grep -E '^(not )?ok - ' | while read -r line; do
	case $line in ok\ -\ *) t_pass "${line#ok - }" ;; *) t_fail "${line#not ok - }" ;; esac
done
[ $st -le 1 ] || { t_fail "hostile: the client script failed ($st)"; printf '%s\n' "$out" | tail -5 | sed 's/^/#   /'; }
check "hostile: both servers alive" kill -0 "$plain_pid" "$tls_pid"
