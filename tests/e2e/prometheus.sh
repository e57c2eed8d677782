#!/bin/sh
# heal with Debian's real Prometheus, on loopback in a temporary folder: Prometheus scrapes a
# heal-listener's /metrics every second and evaluates heal's own rules (etc/prometheus/
# heal-rules.yml); a real quarantine makes HealQuarantined fire; every query of the Grafana
# dashboard (etc/grafana/heal-dashboard.json) returns data. Prints PASS/FAIL/SKIP lines.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
sb_e2e_setup prometheus prometheus prometheus
failed=0
pass() { echo "PASS prometheus: $1"; }
fail() { echo "FAIL prometheus: $1"; failed=1; }

sb_certs
METRICS_PORT=$(sb_free_port) PROM_PORT=$(sb_free_port)
mkdir -p "$SB/state"
cat >"$SB/heal.ini" <<EOF
[listener]
listen = 127.0.0.1:0
allow = 127.0.0.1
cert = certs/server.crt
key = certs/server.key
client_ca = certs/ca.crt
audit_log = audit.jsonl
state_dir = state
allow_root = yes
metrics_listen = 127.0.0.1:$METRICS_PORT

[service crashy]
restart = /bin/true
budget = 1/1h

[service watched]
status = /bin/true
restart = /bin/true
watch = 1s

; fails every status run: healed once by the watch loop, then held back by the cooldown
[service failing]
status = /bin/false
restart = /bin/true
watch = 1s
heal_after = 1
cooldown = 1h

[service held]
status = /bin/true
restart = /bin/true
watch = 1s
watch_paused = yes

[client ops]
cn = ops
verbs = *
admin = yes
EOF
sb_listener_run || { fail "heal-listener did not start"; cat "$SB/listener.log"; exit 1; }
ops() { "$BUILD/heal-ctl" -H 127.0.0.1 -p "$LISTENER_PORT" --cert "$SB/certs/ops.crt" --key "$SB/certs/ops.key" --ca "$SB/certs/ca.crt" "$@"; }

cat >"$SB/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $SRC/etc/prometheus/heal-rules.yml
scrape_configs:
  - job_name: heal-listener
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
EOF
sb_spawn "$SB/prometheus.log" prometheus --config.file="$SB/prometheus.yml" --storage.tsdb.path="$SB/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >/dev/null
api() { curl -sS --max-time 5 "http://127.0.0.1:$PROM_PORT$1"; }
query() { # EXPR — "STATUS RESULT-ARRAY" of an instant query
    curl -sS --max-time 5 --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], json.dumps(d["data"]["result"]))' 2>&1
}
i=0; until api /-/ready >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.2; i=$((i + 1)); done

# 1. Prometheus scrapes the listener and loads heal's rules.
i=0; until query 'up{job="heal-listener"}' | grep -q '"1"\]' || [ $i -ge 50 ]; do sleep 0.2; i=$((i + 1)); done
if query 'up{job="heal-listener"}' | grep -q '"1"\]'; then
    pass "Prometheus $(prometheus --version 2>&1 | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p') scrapes heal-listener's /metrics"
else
    fail "no successful scrape of heal-listener: $(query 'up')"
fi
rules=$(api /api/v1/rules | python3 -c 'import json,sys; r=[x for g in json.load(sys.stdin)["data"]["groups"] for x in g["rules"]]; print(len(r), sum(1 for x in r if x["health"] in ("ok", "unknown")))')
if [ "$rules" = "6 6" ]; then pass "heal-rules.yml loaded: 6 rules, none unhealthy"; else fail "rules loaded: $rules"; fi

# 2. A real quarantine: the second restart of crashy (budget 1/1h) quarantines it, and
#    HealQuarantined fires.
ops restart crashy >/dev/null; ops restart crashy >/dev/null
alerts=""
i=0
while [ $i -lt 50 ]; do
    alerts=$(api /api/v1/alerts | python3 -c 'import json,sys; print(" ".join(a["labels"]["alertname"] + "/" + a["labels"].get("service", "") + "/" + a["state"] for a in json.load(sys.stdin)["data"]["alerts"]))')
    case $alerts in *HealQuarantined/crashy/firing*) break ;; esac
    sleep 0.2; i=$((i + 1))
done
case $alerts in
    *HealQuarantined/crashy/firing*) pass "a real quarantine fires HealQuarantined for crashy ($alerts)" ;;
    *) fail "HealQuarantined did not fire: $alerts" ;;
esac
case $alerts in
    *HealQuarantined/watched*|*HealQuarantined/held*|*HealStateStoreDown*|*HealListenerDown*) fail "alerts on healthy things: $alerts" ;;
    *) pass "no alert on what is healthy" ;;
esac

# 3. Every query of the Grafana dashboard returns data from this Prometheus.
sleep 3  # rate() and increase() need a few scrapes
python3 -c 'import json,sys; [print(t["expr"]) for p in json.load(open(sys.argv[1]))["panels"] for t in p["targets"]]' \
    "$SRC/etc/grafana/heal-dashboard.json" | grep -v heal_receiver_ >"$SB/exprs"  # the receiver's: alertmanager.sh
n=0 empty=""
while IFS= read -r expr; do
    n=$((n + 1))
    got=$(query "$expr")
    case $got in
        "success []"|[!s]*) empty="$empty | $expr: $(printf '%s' "$got" | cut -c1-100)" ;;
    esac
done <"$SB/exprs"
if [ "$n" -ge 10 ] && [ -z "$empty" ]; then
    pass "all $n listener queries of etc/grafana/heal-dashboard.json return data"
else
    fail "dashboard queries without data ($n in all):$empty"
fi

# 4. heal-alert-receiver --check (the receiver of Alertmanager's webhook, being built) asks this
#    Prometheus each route's two fleet-guard queries through its own HTTP client: counts for a
#    good route, Prometheus' own error for a bad query; no Alertmanager runs here, and it says so.
printf 'a-token-of-32-characters-or-more-x\n' >"$SB/receiver.token"; chmod 600 "$SB/receiver.token"
mkdir -p "$SB/receiver-state"
AM_PORT=$(sb_free_port)
cat >"$SB/receiver.ini" <<EOF
[receiver]
listen = 127.0.0.1:0
allow = 127.0.0.1
cert = certs/server.crt
key = certs/server.key
client_ca = certs/ca.crt
token_file = receiver.token
state_dir = receiver-state
client_config = heal-ctl.ini
prometheus = http://127.0.0.1:$PROM_PORT
alertmanager = http://127.0.0.1:$AM_PORT

[route listeners]
match = alertname=HealListenerDown
service = worker
group_size = count(up{job="heal-listener"})
group_unhealthy = count(up{job="heal-listener"} == 0)

[route broken-query]
match = alertname=Nothing
service = worker
group_size = count(up{job=
group_unhealthy = 0
EOF
out=$("$BUILD/heal-alert-receiver" --check -c "$SB/receiver.ini" 2>&1); rc=$?
if [ $rc -eq 1 ] &&
   printf '%s\n' "$out" | grep -q "^  ok       prometheus     http://127.0.0.1:$PROM_PORT: ready$" &&
   printf '%s\n' "$out" | grep -q "^  ok       route listeners 0 of 1 members of route listeners not OK: a heal now would go on to the listener$" &&
   printf '%s\n' "$out" | grep -q "^  PROBLEM  route broken-query cannot use Prometheus' answer: Prometheus at http://127.0.0.1:$PROM_PORT (HTTP 400) for count(up{job=: Prometheus answered error: .*parse error" &&
   printf '%s\n' "$out" | grep -q "^  PROBLEM  alertmanager   http://127.0.0.1:$AM_PORT: .*refused" &&
   printf '%s\n' "$out" | grep -q "^2 problems$"; then
    pass "heal-alert-receiver --check asks Prometheus each route's counts (and names its errors):"
    printf '%s\n' "$out" | sed 's/^/    | /'
else
    fail "heal-alert-receiver --check (exit $rc): $out"
fi

# 5. With Debian's Alertmanager on AM_PORT: --check finds it ready, and --test-page's HealBlocked
#    alert reaches it (read back from its own API).
if [ -x /usr/bin/prometheus-alertmanager ]; then
    cat >"$SB/alertmanager.yml" <<EOF
route:
  receiver: nobody
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: nobody
EOF
    sb_spawn "$SB/alertmanager.log" prometheus-alertmanager --config.file="$SB/alertmanager.yml" \
        --storage.path="$SB/am-data" --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >/dev/null
    i=0; until curl -sf "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.2; i=$((i + 1)); done
    out=$("$BUILD/heal-alert-receiver" --check -c "$SB/receiver.ini" 2>&1)
    if printf '%s\n' "$out" | grep -q "^  ok       alertmanager   http://127.0.0.1:$AM_PORT: ready$" &&
       printf '%s\n' "$out" | grep -q "^1 problem$"; then
        pass "heal-alert-receiver --check finds Debian's Alertmanager $(prometheus-alertmanager --version 2>&1 | sed -n 's/^alertmanager, version \([^ ]*\).*/\1/p') ready"
    else
        fail "--check with Alertmanager running: $out"
    fi
    out=$("$BUILD/heal-alert-receiver" --test-page -c "$SB/receiver.ini" 2>&1); rc=$?
    seen=$(curl -sS "http://127.0.0.1:$AM_PORT/api/v2/alerts" | python3 -c 'import json,sys; print(" ".join(a["labels"]["alertname"] + "/" + a["labels"].get("guard", "") + "/" + a["status"]["state"] for a in json.load(sys.stdin)))' 2>&1)
    case "$rc $seen" in
        "0 "*HealBlocked/test/active*) pass "--test-page posts HealBlocked to Alertmanager, which has it: $seen" ;;
        *) fail "--test-page (exit $rc): $out; Alertmanager has: $seen" ;;
    esac
else
    echo "SKIP prometheus: prometheus-alertmanager is not installed — heal-alert-receiver's pages WERE NOT TESTED"
fi

if [ "$failed" = 1 ]; then
    echo "--- prometheus.log"; tail -20 "$SB/prometheus.log"
    echo "--- listener.log"; tail -20 "$SB/listener.log"
fi
exit $failed
