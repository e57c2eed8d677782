#!/bin/sh
# heal-alert-receiver under load from allowed peers, against a slow Prometheus (a fixture that
# answers every query after 2.5 s and counts them):
#   1. four webhooks of two alerts each keep all four workers waiting on Prometheus; every call,
#      and a fifth behind them, is answered within answer_within (8 s): 202 while still
#      deciding, 503 for one no worker took (Alertmanager sends it again);
#   2. a repeat of a decided webhook asks Prometheus nothing (the store is looked up first);
#   3. 70 idle connections from another allowed address do not keep a real webhook out, and
#      their refusals are aggregated (a few log lines and records, not one per connection);
#   4. a flood of junk (plaintext on the TLS port) is aggregated likewise.
# Prints PASS/FAIL/SKIP lines and MEASURE lines.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
sb_e2e_setup receiver-load curl curl
failed=0
pass() { echo "PASS receiver-load: $1"; }
fail() { echo "FAIL receiver-load: $1"; failed=1; }

"$SRC/scripts/heal-dev-certs" "$SB/certs" >/dev/null
PROM_PORT=$(sb_free_port)
RECEIVER_PORT=$(sb_free_port)
cat >"$SB/slow_prometheus.py" <<'EOF'
import http.server, json, sys, threading, time
count = 0
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self): self.answer()
    def do_POST(self): self.answer()
    def answer(self):
        global count
        if self.path.startswith("/-/"):
            body = b"ready"
        else:
            with lock:
                count += 1
                open(sys.argv[2], "w").write(str(count))
            time.sleep(2.5)
            body = json.dumps({"status": "success", "data": {"resultType": "vector",
                               "result": [{"metric": {}, "value": [time.time(), "1"]}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
echo 0 >"$SB/queries"
sb_spawn "$SB/prometheus.log" python3 "$SB/slow_prometheus.py" "$PROM_PORT" "$SB/queries" >/dev/null
i=0; until curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
printf 'a-token-of-32-characters-or-more-x\n' >"$SB/token"; chmod 600 "$SB/token"
mkdir -p "$SB/state"
cat >"$SB/heal-ctl.ini" <<EOF
[client]
port = 1
cert = certs/client.crt
key = certs/client.key
ca = certs/ca.crt
timeout = 2
EOF
cat >"$SB/receiver.ini" <<EOF
[receiver]
listen = 127.0.0.1:$RECEIVER_PORT
allow = 127.0.0.1, 127.0.0.2
cert = certs/server.crt
key = certs/server.key
token_file = token
state_dir = state
audit_log = audit.jsonl
client_config = heal-ctl.ini
prometheus = http://127.0.0.1:$PROM_PORT
alertmanager = http://127.0.0.1:1
io_timeout = 3s

[route worker-down]
match = alertname=WorkerDown
host_label = instance
service = worker
group_size = count(up)
group_unhealthy = count(up == 0)
EOF
sb_spawn "$SB/receiver.log" "$BUILD/heal-alert-receiver" -c "$SB/receiver.ini" >/dev/null
i=0; until grep -q "listening on" "$SB/receiver.log" 2>/dev/null || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "listening on" "$SB/receiver.log" || { fail "the receiver did not start: $(cat "$SB/receiver.log")"; exit 1; }

token="Authorization: Bearer $(cat "$SB/token")"
hook() { # NAME HOST... — a firing webhook with one alert per host
    name=$1; shift
    printf '{"version":"4","status":"firing","receiver":"heal","groupKey":"%s","truncatedAlerts":0,"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://x","alerts":[' "$name"
    n=0
    for h in "$@"; do
        n=$((n + 1)); [ $n = 1 ] || printf ','
        printf '{"status":"firing","labels":{"alertname":"WorkerDown","instance":"%s:80"},"annotations":{},"startsAt":"2026-01-03T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://x","fingerprint":"%016x"}' "$h" "$(echo "$h" | tr -dc 0-9)"
    done
    printf ']}'
}
post() { # NAME HOST... — prints "HTTP-CODE SECONDS" and keeps the answer in $SB/NAME.answer
    name=$1
    hook "$@" | curl -sS -o "$SB/$name.answer" -w '%{http_code} %{time_total}' --max-time 30 --cacert "$SB/certs/ca.crt" \
        -H "$token" --data-binary @- "https://127.0.0.1:$RECEIVER_PORT/webhook" 2>&1
}

# 1. Four workers busy for 10 s each (two alerts, two queries of 2.5 s each), a fifth behind.
# 0. Another process holds a read lock on the audit log for 4 s (anyone who may read it can):
#    /-/healthy answers at once, and so does a refused request, whose record waits for the lock
#    on a thread of its own instead of the server's io thread.
: >>"$SB/audit.jsonl"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1]); fcntl.lockf(f, fcntl.LOCK_SH); open(sys.argv[2], "w").close(); time.sleep(4)' \
    "$SB/audit.jsonl" "$SB/locked" &
holder=$!
i=0; until [ -e "$SB/locked" ] || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
slowest=0 codes=""
for n in 1 2 3; do
    for what in refused healthy; do
        if [ $what = refused ]; then
            set -- $(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 --cacert "$SB/certs/ca.crt" \
                -H "Authorization: Bearer not-the-token-at-all-x" --data-binary '{}' "https://127.0.0.1:$RECEIVER_PORT/webhook")
        else
            set -- $(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 --cacert "$SB/certs/ca.crt" \
                -H "$token" "https://127.0.0.1:$RECEIVER_PORT/-/healthy")
        fi
        codes="$codes $1"
        slowest=$(awk -v a="$slowest" -v b="${2:-99}" 'BEGIN { print (b > a) ? b : a }')
    done
done
wait "$holder"
i=0; until grep -q '"record":"refused"' "$SB/audit.jsonl" 2>/dev/null || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
if awk -v s="$slowest" 'BEGIN { exit !(s < 0.5) }' && [ "$codes" = " 401 200 401 200 401 200" ] &&
   grep -q '"record":"refused"' "$SB/audit.jsonl"; then
    pass "the audit log's lock held 4 s by a reader: /-/healthy and refusals answered in at most ${slowest} s; the refusal's record written once the lock was free"
else
    fail "with the audit log's lock held: codes$codes, slowest $slowest s; records: $(grep -c refused "$SB/audit.jsonl")"
fi

posts=""
for w in 1 2 3 4; do
    post "w$w" "127.0.0.1$w" "127.0.0.2$w" >"$SB/w$w.result" &
    posts="$posts $!"
done
sleep 0.5
post w5 127.0.0.15 >"$SB/w5.result" &
posts="$posts $!"
wait $posts
slowest=0 codes=""
for w in 1 2 3 4 5; do
    set -- $(cat "$SB/w$w.result")
    codes="$codes $1"
    slowest=$(awk -v a="$slowest" -v b="${2:-99}" 'BEGIN { print (b > a) ? b : a }')
done
echo "MEASURE receiver-load: five webhook calls on four busy workers, slowest answer ${slowest} s (codes$codes)"
if awk -v s="$slowest" 'BEGIN { exit !(s < 9.5) }' && [ "$codes" = " 202 202 202 202 503" ]; then
    pass "every call answered within 8 s while Prometheus is slow: 202 (still deciding) x4, 503 (no worker took it) for the fifth; slowest ${slowest} s"
else
    fail "answers with a slow Prometheus: codes$codes, slowest $slowest s: $(cat "$SB/w1.answer" "$SB/w5.answer" | tr '\n' '|')"
fi

# 2. Once decided, a repeat asks Prometheus nothing.
i=0; until [ "$(grep -c '"record":"final"' "$SB/audit.jsonl" 2>/dev/null)" -ge 8 ] || [ $i -gt 150 ]; do sleep 0.2; i=$((i + 1)); done
before=$(cat "$SB/queries")
set -- $(post w1 127.0.0.11 127.0.0.21)
repeated=$(grep -c "already decided" "$SB/w1.answer")
after=$(cat "$SB/queries")
if [ "$1" = 200 ] && [ "$repeated" = 2 ] && [ "$after" = "$before" ]; then
    pass "a repeat of a decided webhook: answered in $2 s, 'already decided' x2, 0 Prometheus queries ($before in all)"
else
    fail "a repeat: $1 in $2 s, $repeated already decided, Prometheus queries $before → $after: $(tr '\n' '|' <"$SB/w1.answer")"
fi

# 3. 70 idle connections from 127.0.0.2 (allowed): a real webhook from 127.0.0.1 still gets in.
cat >"$SB/idle.py" <<'EOF'
import socket, sys, time
held = []
for _ in range(int(sys.argv[2])):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", int(sys.argv[1])))
    if sys.argv[3] == "junk":
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    held.append(s)
print("held", flush=True)
time.sleep(float(sys.argv[4]))
EOF
lines_before=$(wc -l <"$SB/receiver.log")
records_before=$(wc -l <"$SB/audit.jsonl")
python3 "$SB/idle.py" "$RECEIVER_PORT" 70 idle 30 >"$SB/idle.out" 2>&1 &
idle_pid=$!
i=0; until grep -q held "$SB/idle.out" 2>/dev/null || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
set -- $(post w1 127.0.0.11 127.0.0.21)
kill "$idle_pid" 2>/dev/null; wait "$idle_pid" 2>/dev/null
if [ "$1" = 200 ] && awk -v s="$2" 'BEGIN { exit !(s < 1) }'; then
    pass "70 idle connections from another allowed address (16 served, the rest waiting): a real webhook answered $1 in $2 s"
else
    fail "a real webhook behind 70 idle connections: $1 ($2 s): $(cat "$SB/w1.answer" 2>/dev/null)"
fi

# 4. Junk: 200 plaintext requests on the TLS port from 127.0.0.2.
python3 "$SB/idle.py" "$RECEIVER_PORT" 200 junk 0.5 >/dev/null 2>&1
sleep 3.5  # the waiting ones' io_timeout (3 s) passes
kill -TERM "$(pgrep -f "heal-alert-receiver -c $SB/receiver.ini")" 2>/dev/null
i=0; until grep -q "heal-alert-receiver stopped" "$SB/receiver.log" || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
log_lines=$(sed -n "$((lines_before + 1)),\$p" "$SB/receiver.log" | grep -c "127.0.0.2")
records=$(sed -n "$((records_before + 1)),\$p" "$SB/audit.jsonl" | grep -c '"record":"refused"')
counted=$(sed -n "$((records_before + 1)),\$p" "$SB/audit.jsonl" | grep -o 'more refusal(s) ([a-z]*) from 127.0.0.2' | sort | uniq -c | tr '\n' ';')
if [ "$log_lines" -le 8 ] && [ "$records" -le 8 ] && [ -n "$counted" ]; then
    pass "270 refused connections from 127.0.0.2: $log_lines log lines, $records audit records (aggregated: $counted)"
else
    fail "refusals not aggregated: $log_lines log lines, $records records for 270 connections; $counted"
fi
# 5. An https:// Prometheus signed by a private CA: verified against prometheus_ca; without it,
#    --check says which key to set.
TLS_PORT=$(sb_free_port)
cat >"$SB/tls_prometheus.py" <<'EOF'
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "5"); self.end_headers(); self.wfile.write(b"ready")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[2], sys.argv[3])
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()
EOF
sb_spawn "$SB/tls-prometheus.log" python3 "$SB/tls_prometheus.py" "$TLS_PORT" "$SB/certs/server.crt" "$SB/certs/server.key" >/dev/null
sleep 0.5
sed "s|^prometheus = .*|prometheus = https://127.0.0.1:$TLS_PORT|" "$SB/receiver.ini" >"$SB/tls.ini"
without=$("$BUILD/heal-alert-receiver" --check -c "$SB/tls.ini" 2>&1 | grep " prometheus ")
sed -i "s|^prometheus = .*|&\nprometheus_ca = certs/ca.crt|" "$SB/tls.ini"
with=$("$BUILD/heal-alert-receiver" --check -c "$SB/tls.ini" 2>&1 | grep " prometheus ")
case "$without|$with" in
    *PROBLEM*"prometheus_ca in [receiver]"*"|"*"ok "*ready*) pass "an https:// Prometheus of a private CA: refused without prometheus_ca (the advice names it), ready with it" ;;
    *) fail "prometheus_ca: without: '$without'; with: '$with'" ;;
esac
[ "$failed" = 1 ] && tail -30 "$SB/receiver.log"
exit $failed
