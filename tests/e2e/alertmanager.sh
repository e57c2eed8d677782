#!/bin/sh
# Alertmanager drives heal, with Debian's real Prometheus and Alertmanager on loopback in a
# temporary folder: Prometheus scrapes four workers, a crash-looping one and heal-listener every
# second and evaluates WorkerDown / CrashyDown and heal's own rules; Alertmanager calls
# heal-alert-receiver's webhook over mutual TLS with a bearer token; the receiver asks
# Prometheus for the fleet guard's counts and heals through heal-listener.
#   1. a killed worker: alert → webhook → restart → resolved (timed);
#   2. 3 of 4 workers down: no restart, one HealBlocked per problem, however often Alertmanager
#      repeats;
#   3. a crash loop: restarts until the listener's budget quarantines it → HealFailed reaches
#      Alertmanager and heal's own HealQuarantined fires in Prometheus;
#   4. a caller outside the allowlist, with a foreign certificate, without the token, or with a
#      hostile payload acts on nothing.
# Prints PASS/FAIL/SKIP lines and MEASURE lines.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    echo "SKIP alertmanager: prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager) — alertmanager WAS NOT TESTED"
    exit 0
fi
sb_e2e_setup alertmanager prometheus prometheus
failed=0
pass() { echo "PASS alertmanager: $1"; }
fail() { echo "FAIL alertmanager: $1"; failed=1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

sb_certs
"$SRC/scripts/heal-dev-certs" --san "IP:127.0.0.1" "$SB/foreign" >/dev/null  # another CA
METRICS_PORT=$(sb_free_port) PROM_PORT=$(sb_free_port) AM_PORT=$(sb_free_port) RECEIVER_PORT=$(sb_free_port)
W2=$(sb_free_port) W3=$(sb_free_port) W4=$(sb_free_port)
SB_CRASHY=1 sb_worker_scripts
echo "worker_ready 1" >"$SB/worker/www/metrics"
SB_CRASHY=1 sb_listener_config
sed -i "/^\[listener\]/a metrics_listen = 127.0.0.1:$METRICS_PORT" "$SB/heal.ini"
sed -i "s|^budget = 3/1h$|budget = 2/1h|" "$SB/heal.ini"  # crashy: quarantined at its third restart
sb_listener_run || { fail "heal-listener did not start"; cat "$SB/listener.log"; exit 1; }
sb_worker_start
"$SB/worker/crashy-restart" >/dev/null
# Three more workers (in this shell, not a $(...) subshell, so that sb_cleanup knows their pids).
extra() {
    python3 -m http.server "$1" --bind 127.0.0.1 --directory "$SB/worker/www" >"$SB/worker/w$1.log" 2>&1 </dev/null &
    SB_PIDS="$SB_PIDS $!"
}
extra "$W2"; P2=$!; extra "$W3"; P3=$!; extra "$W4"; P4=$!

cat >"$SB/rules.yml" <<EOF
groups:
  - name: workers
    rules:
      - alert: WorkerDown
        expr: up{job="worker"} == 0
        for: 2s
      - alert: CrashyDown
        expr: up{job="crashy"} == 0
EOF
cat >"$SB/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $SB/rules.yml
  - $SRC/etc/prometheus/heal-rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$AM_PORT']
scrape_configs:
  - job_name: worker
    static_configs:
      - targets: ['127.0.0.1:$WORKER_PORT', '127.0.0.1:$W2', '127.0.0.1:$W3', '127.0.0.1:$W4']
  - job_name: crashy
    static_configs:
      - targets: ['127.0.0.1:$CRASHY_PORT']
  - job_name: heal-listener
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
  - job_name: heal-alert-receiver
    scheme: https
    tls_config:
      ca_file: $SB/certs/ca.crt
      cert_file: $SB/certs/client.crt
      key_file: $SB/certs/client.key
    authorization:
      credentials_file: $SB/receiver.token
    static_configs:
      - targets: ['127.0.0.1:$RECEIVER_PORT']
EOF
# The receiver's webhook for the workers' alerts; heal's own pages go to the humans (nobody here).
# WorkerDown fires after 2 s down (for: 2s, two scrapes): Prometheus scrapes its targets spread
# over the interval, so a shared cause that takes down several workers at once is then seen
# whole by the fleet guard. A group is one alert name of one job.
cat >"$SB/alertmanager.yml" <<EOF
route:
  receiver: heal
  group_by: [alertname, job]
  group_wait: 2s
  group_interval: 1s
  repeat_interval: 2s
  routes:
    - matchers: ['alertname=~"Heal.*"']
      receiver: humans
receivers:
  - name: heal
    webhook_configs:
      - url: https://127.0.0.1:$RECEIVER_PORT/webhook
        send_resolved: true
        http_config:
          tls_config:
            ca_file: $SB/certs/ca.crt
            cert_file: $SB/certs/client.crt
            key_file: $SB/certs/client.key
          authorization:
            credentials_file: $SB/receiver.token
  - name: humans
EOF
printf 'a-token-of-32-characters-or-more-x\n' >"$SB/receiver.token"; chmod 600 "$SB/receiver.token"
mkdir -p "$SB/receiver-state"
cat >"$SB/receiver.ini" <<EOF
[receiver]
listen = 127.0.0.1:$RECEIVER_PORT
allow = 127.0.0.1
cert = certs/server.crt
key = certs/server.key
client_ca = certs/ca.crt
token_file = receiver.token
state_dir = receiver-state
audit_log = receiver-audit.jsonl
client_config = heal-ctl.ini
prometheus = http://127.0.0.1:$PROM_PORT
alertmanager = http://127.0.0.1:$AM_PORT
max_unhealthy = 25%
io_timeout = 5s

[route worker-down]
match = alertname=WorkerDown, job=worker
host_label = instance
service = worker
group_size = count(up{job="worker"})
group_unhealthy = count(up{job="worker"} == 0)

[route crashy-down]
match = alertname=CrashyDown
service = crashy
group_size = count(up{job="crashy"})
group_unhealthy = count(up{job="crashy"} == 0)
EOF
sb_spawn "$SB/prometheus.log" prometheus --config.file="$SB/prometheus.yml" --storage.tsdb.path="$SB/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --rules.alert.resend-delay=1s >/dev/null
sb_spawn "$SB/alertmanager.log" prometheus-alertmanager --config.file="$SB/alertmanager.yml" \
    --storage.path="$SB/am-data" --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >/dev/null
RECEIVER_PID=$(sb_spawn "$SB/receiver.log" "$BUILD/heal-alert-receiver" -c "$SB/receiver.ini")

query() { # EXPR — the values of an instant query, space separated
    curl -sS --max-time 5 --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(r["value"][1] for r in d["data"]["result"]))' 2>/dev/null
}
am_alerts() { # the alerts Alertmanager has: NAME/LABEL=VALUE/STATE for each, LABEL the one asked for
    curl -sS --max-time 5 "http://127.0.0.1:$AM_PORT/api/v2/alerts" |
        python3 -c 'import json,sys; print(" ".join(a["labels"]["alertname"] + "/" + a["labels"].get(sys.argv[1], "") + "/" + a["status"]["state"] for a in json.load(sys.stdin)))' "$1" 2>&1
}
prom_alerts() {
    curl -sS --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/alerts" |
        python3 -c 'import json,sys; print(" ".join(a["labels"]["alertname"] + "/" + a["labels"].get("service", a["labels"].get("instance", "")) + "/" + a["state"] for a in json.load(sys.stdin)["data"]["alerts"]))' 2>&1
}
restarts() { grep '"record":"start"' "$SB/audit.jsonl" | grep -c "\"service\":\"$1\""; }
records() { grep -c "$1" "$SB/receiver-audit.jsonl" 2>/dev/null; }
wait_until() { # SECONDS COMMAND... — polls every 0.2 s
    _end=$(( $(date +%s) + $1 )); shift
    while [ "$(date +%s)" -le "$_end" ]; do "$@" && return 0; sleep 0.2; done
    return 1
}
all_up() { [ "$(query 'sum(up{job=~"worker|crashy|heal-listener|heal-alert-receiver"})')" = 7 ]; }

if wait_until 30 all_up; then
    pass "Prometheus $(prometheus --version 2>&1 | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p') scrapes 4 workers, crashy, heal-listener and heal-alert-receiver (over mutual TLS with its token)"
else
    fail "not every target is up: $(query 'up'); receiver: $(tail -5 "$SB/receiver.log")"
fi

# 1. A killed worker: WorkerDown fires, Alertmanager calls the receiver, which asks Prometheus
#    (1 of 4 down: within max_unhealthy 25%) and restarts the worker through the listener; the
#    worker answers again and the alert resolves.
before=$(restarts worker)
old_pid=$(cat "$SB/worker/worker.pid")
t0=$(now)
kill "$old_pid"
healed_in="" resolved_in=""
if wait_until 30 grep -q '"outcome":"healed"' "$SB/receiver-audit.jsonl"; then healed_in=$(since "$t0"); fi
worker_resolved() { [ "$(records '"record":"resolved".*"service":"worker"')" -ge 1 ]; }
if wait_until 30 worker_resolved; then resolved_in=$(since "$t0"); fi
line=$(grep '"outcome":"healed"' "$SB/receiver-audit.jsonl" | head -1)
if [ -n "$healed_in" ] && [ "$(restarts worker)" -eq $((before + 1)) ] && [ "$(cat "$SB/worker/worker.pid")" != "$old_pid" ]; then
    pass "a killed worker: WorkerDown → Alertmanager → heal-alert-receiver → heal-listener restarted it, once ($(printf '%s' "$line" | sed -n 's/.*"message":"\([^"]*\)".*/\1/p' | cut -c1-100))"
else
    fail "the killed worker was not healed once (restarts $before → $(restarts worker)): $(tail -5 "$SB/receiver.log")"
fi
if [ -n "$resolved_in" ] && ! prom_alerts | grep -q "WorkerDown/127.0.0.1:$WORKER_PORT/firing"; then
    pass "WorkerDown resolved, and Alertmanager told the receiver (the problem is closed)"
    echo "MEASURE alertmanager kill-to-healed: $healed_in s, kill-to-resolved at the receiver: $resolved_in s (scrape and evaluation 1 s, WorkerDown for 2 s, group_wait 2 s, group_interval 1 s)"
else
    fail "WorkerDown did not resolve at the receiver within 30 s: $(prom_alerts)"
fi
if grep -q "request [0-9a-f-]*/[0-9a-f]*: healed: restart worker on 127.0.0.1 for alert WorkerDown" "$SB/receiver.log"; then
    pass "the receiver's log names the request: $(grep -m1 ': healed: ' "$SB/receiver.log" | cut -c1-160)"
else
    fail "no healed line with its request id in the receiver's log: $(tail -5 "$SB/receiver.log")"
fi

# 2. 3 of 4 workers down (a shared cause): the fleet guard blocks the heal. The three alerts ask
#    for one heal here (the sandbox's workers share host 127.0.0.1: one target, worker on
#    127.0.0.1), so they are one problem, blocked and paged once as HealBlocked, however often
#    Alertmanager repeats (repeat_interval 2 s).
before=$(restarts worker)
blocked_before=$(records '"outcome":"blocked","guard":"fleet"')
kill "$P2" "$P3" "$P4"
three_blocked() { [ "$(records '"outcome":"blocked","guard":"fleet"')" -ge 1 ]; }
wait_until 30 three_blocked
sleep 3  # repeats come every 2 s
blocked=$(records '"outcome":"blocked","guard":"fleet"')
pages=$(am_alerts heal_fingerprint | tr ' ' '\n' | grep -c '^HealBlocked/.*/active$')
distinct=$(am_alerts heal_fingerprint | tr ' ' '\n' | grep '^HealBlocked/' | sort -u | grep -c .)
already=$(curl -sS --cacert "$SB/certs/ca.crt" --cert "$SB/certs/client.crt" --key "$SB/certs/client.key" \
    -H "Authorization: Bearer $(cat "$SB/receiver.token")" "https://127.0.0.1:$RECEIVER_PORT/metrics" |
    sed -n 's/^heal_receiver_decisions_total{outcome="already",guard=""} //p')
if [ "$(restarts worker)" -eq "$before" ] && [ "$blocked" -eq $((blocked_before + 1)) ] && [ "$pages" -eq 1 ] && [ "$distinct" -eq 1 ] && [ "${already:-0}" -ge 2 ]; then
    pass "3 of 4 workers down: 0 restarts, one problem (one target), one HealBlocked alert in Alertmanager ($already alerts and repeats joined it, acting on nothing): $(grep -m1 '"guard":"fleet"' "$SB/receiver-audit.jsonl" | sed -n 's/.*"why":"\([^"]*\)".*/\1/p')"
else
    fail "3 of 4 down: restarts $before → $(restarts worker), blocked decisions $blocked, HealBlocked in Alertmanager $pages ($distinct distinct), repeats $already: $(am_alerts guard)"
fi
extra "$W2"; P2=$!; extra "$W3"; P3=$!; extra "$W4"; P4=$!
no_blocked_page() { ! am_alerts guard | grep -q "HealBlocked/fleet/active"; }
if wait_until 30 no_blocked_page; then
    pass "the workers are back: the alerts resolve and the receiver ends its HealBlocked pages"
else
    fail "HealBlocked pages still active after the workers came back: $(am_alerts guard)"
fi

# 3. A crash loop: crashy dies 2.5 s after every restart. Each firing is a new problem and is
#    healed, until the listener's budget (2/1h) quarantines crashy: HealFailed reaches
#    Alertmanager, and heal's own rule HealQuarantined fires in Prometheus.
touch "$SB/worker/crashloop"
t0=$(now)
"$SB/worker/crashy-restart" >/dev/null  # now it crash-loops
failed_page() { am_alerts service | grep -q "HealFailed/crashy/active"; }
if wait_until 90 failed_page; then
    pass "a crash loop: $(restarts crashy) restarts of crashy, then the listener refused and HealFailed reached Alertmanager after $(since "$t0") s: $(grep -m1 '"outcome":"failed"' "$SB/receiver-audit.jsonl" | sed -n 's/.*"message":"\([^"]*\)".*/\1/p' | cut -c1-140)"
else
    fail "no HealFailed for crashy within 90 s (restarts $(restarts crashy)): $(am_alerts service); $(tail -5 "$SB/receiver.log")"
fi
quarantined() { prom_alerts | grep -q "HealQuarantined/crashy/firing"; }
if wait_until 20 quarantined; then
    pass "heal's own HealQuarantined fires in Prometheus for crashy"
else
    fail "HealQuarantined did not fire: $(prom_alerts)"
fi

# 4. Callers that may not act: nothing they send reaches a listener.
before=$(restarts worker)
body='{"version":"4","status":"firing","receiver":"heal","groupKey":"x","truncatedAlerts":0,"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://x","alerts":[{"status":"firing","labels":{"alertname":"WorkerDown","job":"worker","instance":"127.0.0.1:1"},"annotations":{},"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://x","fingerprint":"00000000000000aa"}]}'
post() { # CURL-OPTIONS... — "HTTP-CODE" or "curl exit N"
    curl -sS -o "$SB/answer" -w '%{http_code}' --max-time 10 --cacert "$SB/certs/ca.crt" "$@" \
        "https://127.0.0.1:$RECEIVER_PORT/webhook" 2>/dev/null || echo " curl exit $?"
}
mine="--cert $SB/certs/client.crt --key $SB/certs/client.key"
token="Authorization: Bearer $(cat "$SB/receiver.token")"
r_outside=$(curl -sS --max-time 5 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' --cacert "$SB/certs/ca.crt" $mine \
    -H "$token" -d "$body" "https://127.0.0.1:$RECEIVER_PORT/webhook" 2>&1)
r_foreign=$(post --cert "$SB/foreign/client.crt" --key "$SB/foreign/client.key" -H "$token" -d "$body")
r_nocert=$(post -H "$token" -d "$body")
r_notoken=$(post $mine -d "$body")
r_badtoken=$(post $mine -H "Authorization: Bearer a-token-of-32-characters-or-more-y" -d "$body")
r_hostile=$(post $mine -H "$token" -d '{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":["WorkerDown"]}}]}')
hostile_answer=$(cat "$SB/answer")
r_big=$(head -c 2000000 /dev/zero | tr '\0' ' ' | post $mine -H "$token" --data-binary @-)
case "$r_outside" in 000*|*"curl: ("*) ok_outside=1 ;; *) ok_outside=0 ;; esac
case "$r_foreign" in *"curl exit"*) ok_foreign=1 ;; *) ok_foreign=0 ;; esac
case "$r_nocert" in *"curl exit"*) ok_nocert=1 ;; *) ok_nocert=0 ;; esac
if [ $ok_outside = 1 ] && [ $ok_foreign = 1 ] && [ $ok_nocert = 1 ] && [ "$r_notoken" = 401 ] &&
   [ "$r_badtoken" = 401 ] && [ "$r_hostile" = 400 ] && [ "$r_big" = 413 ] && [ "$(restarts worker)" -eq "$before" ]; then
    pass "outside the allowlist, a foreign certificate, no certificate: no TLS; no or a wrong token: 401; a hostile payload: 400 ($hostile_answer); 2 MB: 413; no restart"
else
    fail "callers that may not act: outside '$r_outside', foreign '$r_foreign', no cert '$r_nocert', no token '$r_notoken', wrong token '$r_badtoken', hostile '$r_hostile' ($hostile_answer), 2 MB '$r_big', restarts $before → $(restarts worker)"
fi
# 4b. One outage, five alerts (label sets that differ only in "replica", distinct fingerprints)
#     in one webhook: one heal of the target (host, service, verb), the other four join it. All
#     five resolved close it; a late repeat of a resolved firing acts on nothing.
five() { # STATUS — a webhook with five alerts for the worker on 127.0.0.1
    printf '{"version":"4","status":"%s","receiver":"heal","groupKey":"five","truncatedAlerts":0,"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://x","alerts":[' "$1"
    for i in 1 2 3 4 5; do
        [ $i = 1 ] || printf ','
        printf '{"status":"%s","labels":{"alertname":"WorkerDown","job":"worker","instance":"127.0.0.1:%s","replica":"r%s"},"annotations":{},"startsAt":"2026-01-02T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://x","fingerprint":"00000000000005a%s"}' "$1" "$WORKER_PORT" $i $i
    done
    printf ']}'
}
before=$(restarts worker)
heals_before=$(grep '"outcome":"heal"' "$SB/receiver-audit.jsonl" | grep -c '"fingerprint":"00000000000005a')
r_five=$(five firing | post $mine -H "$token" --data-binary @-)
five_answer=$(tr '\n' '|' <"$SB/answer")
heals=$(($(grep '"outcome":"heal"' "$SB/receiver-audit.jsonl" | grep -c '"fingerprint":"00000000000005a') - heals_before))
joined=$(grep -c 'already decided' "$SB/answer")
r_resolved=$(five resolved | post $mine -H "$token" --data-binary @-)
closed=$(grep -c 'problem closed' "$SB/answer")
r_late=$(five firing | post $mine -H "$token" --data-binary @-)
late=$(grep -c 'already resolved' "$SB/answer")
if [ "$r_five" = 200 ] && [ "$heals" -eq 1 ] && [ "$joined" -eq 4 ] && [ "$(restarts worker)" -eq $((before + 1)) ] &&
   [ "$r_resolved" = 200 ] && [ "$closed" -eq 1 ] && [ "$r_late" = 200 ] && [ "$late" -eq 5 ] &&
   [ "$(restarts worker)" -eq $((before + 1)) ]; then
    pass "five alerts of one outage in one webhook: 1 restart, 4 joined it; resolved: closed once; the same firings again, late: 0 restarts"
else
    fail "five alerts of one outage: $r_five, $heals heal decision(s), $joined joined, restarts $before → $(restarts worker); resolved $r_resolved ($closed closed); late $r_late ($late acted on nothing): $five_answer | $(tr '\n' '|' <"$SB/answer")"
fi

# 4c. Human intent. A hold on the host (heal-ctl pause) refuses the receiver's heal 'paused':
#     a hold, not a failure (no HealFailed page). An Alertmanager silence keeps the alert from
#     reaching the receiver at all; when it expires, the still-firing alert heals.
ctl_ops() { "$BUILD/heal-ctl" -c "$SB/heal-ctl-ops.ini" -H 127.0.0.1 "$@"; }
resolved_n=$(records '"record":"resolved".*"service":"worker"')
worker_back() { [ "$(records '"record":"resolved".*"service":"worker"')" -gt "$resolved_n" ]; }
ctl_ops pause worker --for 5m --reason "disk swap" >/dev/null
before=$(restarts worker)
kill "$(cat "$SB/worker/worker.pid")"
if wait_until 30 grep -q '"outcome":"held"' "$SB/receiver-audit.jsonl" && [ "$(restarts worker)" -eq "$before" ] &&
   ! am_alerts service | grep -q "HealFailed/worker/active" &&
   grep -q ": held: restart worker on 127.0.0.1 for alert WorkerDown.*worker is paused by client ops until .*(disk swap)" "$SB/receiver.log"; then
    pass "a pause on the host holds the receiver's heal: no restart, no HealFailed page: $(grep -m1 ': held: ' "$SB/receiver.log" | sed 's/.*: held: //' | cut -c1-140)"
else
    fail "pause and the receiver: restarts $before → $(restarts worker), alerts $(am_alerts service); $(tail -3 "$SB/receiver.log")"
fi
ctl_ops resume worker >/dev/null
ctl_ops restart worker >/dev/null  # the operator brings it back; WorkerDown resolves
ctl_ops reset worker >/dev/null    # and starts a fresh budget window (3 restarts so far)
wait_until 30 worker_back || fail "WorkerDown did not resolve after the operator's restart"

silence=$(python3 -c 'import json,sys,datetime as d; n=d.datetime.now(d.timezone.utc); print(json.dumps({"matchers":[{"name":"alertname","value":"WorkerDown","isRegex":False,"isEqual":True},{"name":"instance","value":sys.argv[1],"isRegex":False,"isEqual":True}],"startsAt":n.isoformat(),"endsAt":(n+d.timedelta(minutes=10)).isoformat(),"createdBy":"ops","comment":"disk swap"}))' "127.0.0.1:$WORKER_PORT")
sid=$(curl -sS --max-time 5 -H 'Content-Type: application/json' -d "$silence" "http://127.0.0.1:$AM_PORT/api/v2/silences" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["silenceID"])' 2>&1)
before=$(restarts worker)
decisions=$(grep -c '"record":"decision"' "$SB/receiver-audit.jsonl")
kill "$(cat "$SB/worker/worker.pid")"
suppressed() { am_alerts instance | grep -q "WorkerDown/127.0.0.1:$WORKER_PORT/suppressed"; }
if wait_until 30 suppressed && sleep 4 && [ "$(restarts worker)" -eq "$before" ] &&
   [ "$(grep -c '"record":"decision"' "$SB/receiver-audit.jsonl")" -eq "$decisions" ]; then
    pass "an Alertmanager silence holds: WorkerDown fires, is suppressed, never reaches the receiver; no restart"
else
    fail "the silence ($sid): alerts $(am_alerts instance), restarts $before → $(restarts worker)"
fi
curl -sS --max-time 5 -X DELETE "http://127.0.0.1:$AM_PORT/api/v2/silence/$sid" >/dev/null
healed_after() { [ "$(restarts worker)" -eq $((before + 1)) ]; }
if wait_until 30 healed_after; then
    pass "the silence expired: the still-firing WorkerDown reaches the receiver and heals"
else
    fail "no heal after the silence expired: restarts $before → $(restarts worker); $(tail -3 "$SB/receiver.log")"
fi

# 5. The dashboard's receiver panels have data from this Prometheus (prometheus.sh checks the rest).
python3 -c 'import json,sys; [print(t["expr"]) for p in json.load(open(sys.argv[1]))["panels"] for t in p["targets"]]' \
    "$SRC/etc/grafana/heal-dashboard.json" | grep heal_receiver_ >"$SB/exprs"
n=0 empty=""
while IFS= read -r expr; do
    n=$((n + 1))
    [ -n "$(query "$expr")" ] || empty="$empty | $expr"
done <"$SB/exprs"
if [ "$n" -ge 2 ] && [ -z "$empty" ]; then
    pass "the $n receiver queries of etc/grafana/heal-dashboard.json return data"
else
    fail "dashboard queries of the receiver without data ($n in all):$empty"
fi

# 6. SIGTERM: the receiver stops cleanly.
kill -TERM "$RECEIVER_PID"
if wait_until 10 sb_wait_for "$SB/receiver.log" "heal-alert-receiver stopped" 1 >/dev/null; then
    pass "SIGTERM stops the receiver"
else
    fail "the receiver did not stop on SIGTERM: $(tail -3 "$SB/receiver.log")"
fi
# Every refused call of 4. is in the audit log: one by one, or counted in its window's record
# (written at the latest when the receiver stops).
one_by_one=$(grep '"record":"refused"' "$SB/receiver-audit.jsonl" | grep -vc 'more refusal(s)')
counted=$(grep -o '"why":"[0-9]* more refusal(s)' "$SB/receiver-audit.jsonl" | tr -dc '0-9\n' | awk '{ n += $1 } END { print n + 0 }')
if [ $((one_by_one + counted)) -ge 7 ]; then
    pass "every refused call is in the receiver's audit log ($one_by_one records, $counted more counted in aggregated ones): $(grep '"record":"refused"' "$SB/receiver-audit.jsonl" | grep '"status":400' | head -1 | sed -n 's/.*"why":"\([^"]*\)".*/\1/p')"
else
    fail "refused calls audited: $one_by_one one by one, $counted counted; $(grep '"record":"refused"' "$SB/receiver-audit.jsonl" | tail -5)"
fi

if [ "$failed" = 1 ]; then
    echo "--- receiver.log"; tail -40 "$SB/receiver.log"
    echo "--- alertmanager.log"; tail -10 "$SB/alertmanager.log"
    echo "--- listener.log"; tail -10 "$SB/listener.log"
fi
exit $failed
