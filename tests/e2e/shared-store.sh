#!/bin/sh
# HA deciders share one fleet store in PostgreSQL (issue 29): Debian's PostgreSQL in a cluster of
# this test's own (scripts/heal-pg-sandbox: initdb as an unprivileged user, 127.0.0.1, TLS with
# sslmode=verify-full), two heal-alert-receivers behind two real Alertmanagers clustered with
# each other (--cluster.peer), both delivering every alert, and heal-listener running the heals.
#   1. 20 distinct problems, each alert sent to both Alertmanagers → exactly 20 heals, not 40;
#   2. a receiver SIGKILLed mid-heal → the other does not heal that problem again;
#   3. fleet_budget = 5/1h shared by the pair, 10 problems → exactly 5 heals, the rest paged budget;
#   4. PostgreSQL stopped → a new problem is not healed and is paged "cannot reach the fleet
#      store"; started again → Alertmanager's resend heals it;
#   5. two heal-event-handlers (two monitoring servers) on the same Nagios problem → one heal;
#      a role without rights, a conninfo file others can read, a wrong password → a clear
#      error, a page, no heal; --check of both programs says what the store is.
# Prints PASS/FAIL/SKIP lines and MEASURE lines.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "SKIP shared-store: PostgreSQL is not installed (apt-get install postgresql-15) — the shared store WAS NOT TESTED"
    exit 0
fi
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    echo "SKIP shared-store: prometheus-alertmanager is not installed — the shared store WAS NOT TESTED"
    exit 0
fi
sb_e2e_setup shared-store prometheus prometheus
trap 'sb_cleanup; "$SRC/scripts/heal-pg-sandbox" stop "$SB" >/dev/null 2>&1; [ "${KEEP:-0}" = 1 ] || rm -rf "$SB"' EXIT
pass() { echo "PASS shared-store: $1"; }
fail() { echo "FAIL shared-store: $1"; }
wait_until() { # SECONDS COMMAND... — polls every 0.2 s
    _end=$(( $(date +%s) + $1 )); shift
    while [ "$(date +%s)" -le "$_end" ]; do "$@" && return 0; sleep 0.2; done
    return 1
}

# PostgreSQL: role heal owns schema heal; the receivers and handlers reach it over TLS.
"$SRC/scripts/heal-pg-sandbox" start "$SB" >/dev/null || { fail "PostgreSQL did not start: $(cat "$SB/pg/log" 2>&1 | tail -5)"; exit 1; }
CONNINFO=$SB/heal.conninfo
psql() { "$SRC/scripts/heal-pg-sandbox" psql "$SB" "$1"; }

# The listener: services w1..w40 and slow, each restart one line in heals.log (slow takes 5 s).
sb_certs
sb_worker_scripts
sb_listener_config
# Forty services on one host here, where a fleet has forty hosts: room for all their restarts.
sed -i "/^\[listener\]/a max_concurrent_actions = 64" "$SB/heal.ini"
mkdir -p "$SB/svc"
cat >"$SB/svc/restart" <<EOF
#!/bin/sh
echo "\$(basename "\$0") \$(date +%s.%N)" >>"$SB/heals.log"
[ "\$(basename "\$0")" = slow ] && sleep 5
exit 0
EOF
chmod +x "$SB/svc/restart"
for i in $(seq 1 40) slow; do
    name=w$i; [ "$i" = slow ] && name=slow
    ln -s restart "$SB/svc/$name"
    printf '\n[service %s]\nrestart = svc/%s\n' "$name" "$name" >>"$SB/heal.ini"
done
: >"$SB/heals.log"
sb_listener_run || { fail "heal-listener did not start: $(tail -5 "$SB/listener.log")"; exit 1; }
heals() { grep -c "^$1 " "$SB/heals.log"; }                 # SERVICE
heals_of() { grep -cE "^($1) " "$SB/heals.log"; }            # REGEX of services

# Prometheus answers the fleet guard's counts (constant here: 1 of 40 down).
PROM_PORT=$(sb_free_port) AM1=$(sb_free_port) AM2=$(sb_free_port) C1=$(sb_free_port) C2=$(sb_free_port)
RA=$(sb_free_port) RB=$(sb_free_port)
printf 'global:\n  scrape_interval: 1h\n' >"$SB/prometheus.yml"
sb_spawn "$SB/prometheus.log" prometheus --config.file="$SB/prometheus.yml" --storage.tsdb.path="$SB/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >/dev/null

printf 'a-token-of-32-characters-or-more-x\n' >"$SB/receiver.token"; chmod 600 "$SB/receiver.token"
receiver_ini() { # NAME PORT ALERTMANAGER_PORT BUDGET
    {
        cat <<EOF
[receiver]
listen = 127.0.0.1:$2
allow = 127.0.0.1
cert = certs/server.crt
key = certs/server.key
client_ca = certs/ca.crt
token_file = receiver.token
state_dir = $1-state
store_conninfo = heal.conninfo
audit_log = $1-audit.jsonl
client_config = heal-ctl.ini
prometheus = http://127.0.0.1:$PROM_PORT
alertmanager = http://127.0.0.1:$3
fleet_budget = $4
fleet_concurrency = 20
io_timeout = 10s
EOF
        for i in $(seq 1 40) slow; do
            name=w$i; [ "$i" = slow ] && name=slow
            printf '\n[route %s]\nmatch = alertname=WorkerDown, svc=%s\nhost_label = instance\nservice = %s\n' "$name" "$name" "$name"
            printf 'group_size = vector(40)\ngroup_unhealthy = vector(1)\n'
        done
    } >"$SB/$1.ini"
}
start_receiver() { # NAME PORT AM_PORT BUDGET — sets the pid in R_<NAME>
    receiver_ini "$@"
    # In this shell, not a $(...) subshell, so that sb_cleanup knows its pid.
    "$BUILD/heal-alert-receiver" -c "$SB/$1.ini" >"$SB/$1.log" 2>&1 </dev/null &
    SB_PIDS="$SB_PIDS $!"
    eval "R_$1=$!"
    sb_wait_for "$SB/$1.log" "listening on" 10 >/dev/null
}
start_receiver a "$RA" "$AM1" 100/1h || { fail "receiver a did not start: $(tail -5 "$SB/a.log")"; exit 1; }
start_receiver b "$RB" "$AM2" 100/1h || { fail "receiver b did not start: $(tail -5 "$SB/b.log")"; exit 1; }

# Two Alertmanagers, clustered; each calls its own receiver. A peer timeout of 10 ms: the second
# does not wait for the first's notification log, so both deliver every alert (at-least-once).
am_config() { # RECEIVER_PORT
    cat <<EOF
route:
  receiver: heal
  group_by: [alertname, svc]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['alertname=~"Heal.*"']
      receiver: humans
receivers:
  - name: heal
    webhook_configs:
      - url: https://127.0.0.1:$1/webhook
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
}
am_config "$RA" >"$SB/am1.yml"; am_config "$RB" >"$SB/am2.yml"
sb_spawn "$SB/am1.log" prometheus-alertmanager --config.file="$SB/am1.yml" --storage.path="$SB/am1" \
    --web.listen-address="127.0.0.1:$AM1" --cluster.listen-address="127.0.0.1:$C1" --cluster.peer="127.0.0.1:$C2" \
    --cluster.peer-timeout=10ms >/dev/null
sb_spawn "$SB/am2.log" prometheus-alertmanager --config.file="$SB/am2.yml" --storage.path="$SB/am2" \
    --web.listen-address="127.0.0.1:$AM2" --cluster.listen-address="127.0.0.1:$C2" --cluster.peer="127.0.0.1:$C1" \
    --cluster.peer-timeout=10ms >/dev/null
am_ready() { curl -sf --max-time 2 "http://127.0.0.1:$1/-/ready" >/dev/null; }
clustered() { curl -sS --max-time 2 "http://127.0.0.1:$AM1/api/v2/status" | grep -q '"peers":\[{[^]]*},{'; }
prom_ready() { curl -sf --max-time 2 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; }
if wait_until 30 am_ready "$AM1" && wait_until 30 am_ready "$AM2" && wait_until 30 clustered && wait_until 30 prom_ready; then
    pass "two Alertmanagers $(prometheus-alertmanager --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1), clustered (--cluster.peer), PostgreSQL $(psql 'SHOW server_version' | cut -d' ' -f1), two receivers sharing it"
else
    fail "the peers did not come up: $(tail -3 "$SB/am1.log") / $(tail -3 "$SB/am2.log")"
fi

# Fires alerts for services $@ on both Alertmanagers, as an HA pair of Prometheus does.
fire() {
    body=$(for s in "$@"; do printf '{"labels":{"alertname":"WorkerDown","svc":"%s","instance":"127.0.0.1:9"}},' "$s"; done)
    body="[${body%,}]"
    for port in "$AM1" "$AM2"; do
        curl -sS --max-time 5 -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/api/v2/alerts" >/dev/null
    done
}
metric() { # RECEIVER_PORT OUTCOME — that receiver's count of decisions with the outcome
    curl -sS --max-time 5 --cacert "$SB/certs/ca.crt" --cert "$SB/certs/client.crt" --key "$SB/certs/client.key" \
        -H "Authorization: Bearer $(cat "$SB/receiver.token")" "https://127.0.0.1:$1/metrics" |
        awk -v o="outcome=\"$2\"" 'index($0, o) && /^heal_receiver_decisions_total/ { n += $2 } END { print n + 0 }'
}

# 1. 20 problems, every alert delivered by both Alertmanagers to their own receiver.
svcs=$(seq -f 'w%g' 1 20)
# shellcheck disable=SC2086
fire $svcs
twenty() { [ "$(heals_of 'w[0-9]+')" -ge 20 ]; }
wait_until 40 twenty
sleep 3  # late duplicates have their chance
n=$(heals_of 'w[0-9]+') distinct=$(grep -oE '^w[0-9]+' "$SB/heals.log" | sort -u | wc -l)
dup=$(( $(metric "$RA" already) + $(metric "$RB" already) ))
seen_a=$(( $(metric "$RA" healed) + $(metric "$RA" already) )) seen_b=$(( $(metric "$RB" healed) + $(metric "$RB" already) ))
echo "MEASURE shared-store: receiver a decided $seen_a alerts, b $seen_b; $dup were already decided by the other"
if [ "$n" -eq 20 ] && [ "$distinct" -eq 20 ] && [ "$seen_a" -ge 1 ] && [ "$seen_b" -ge 1 ]; then
    pass "20 problems sent by both Alertmanagers to two receivers: exactly 20 heals, one each ($dup deliveries found them decided)"
else
    fail "20 problems: $n heals of $distinct services (a saw $seen_a, b saw $seen_b): $(tail -5 "$SB/a.log")"
fi

# 2. Receiver a is killed while its heal of slow runs; b gets the same alert: it does not heal again.
webhook() { # PORT SERVICE — an Alertmanager webhook for SERVICE's alert, straight to a receiver
    printf '{"version":"4","groupKey":"{}:{svc=\\"%s\\"}","status":"firing","receiver":"heal","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","truncatedAlerts":0,"alerts":[{"status":"firing","labels":{"alertname":"WorkerDown","svc":"%s","instance":"127.0.0.1:9"},"annotations":{},"startsAt":"2026-12-07T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"00000000000000%s"}]}' "$2" "$2" "aa" |
        curl -sS --max-time 20 --cacert "$SB/certs/ca.crt" --cert "$SB/certs/client.crt" --key "$SB/certs/client.key" \
            -H "Authorization: Bearer $(cat "$SB/receiver.token")" -H 'Content-Type: application/json' --data-binary @- \
            "https://127.0.0.1:$1/webhook"
}
webhook "$RA" slow >/dev/null 2>&1 &
hook=$!
sb_wait_for "$SB/heals.log" "slow " 15 >/dev/null
kill -9 "$R_a"
answer=$(webhook "$RB" slow 2>&1)
sleep 6  # past the slow restart's end
wait "$hook"
if [ "$(heals slow)" -eq 1 ] && printf '%s' "$answer" | grep -q 'already decided'; then
    pass "a receiver killed mid-heal: the other finds the problem decided and heals nothing ($answer)"
else
    fail "killed mid-heal: $(heals slow) heals of slow; b answered: $answer"
fi

# 3. The fleet budget is one limit for both: 5/1h, 10 new problems → 5 heals, 5 paged budget.
kill "$R_b"; wait "$R_b" 2>/dev/null
psql "TRUNCATE heal.heals, heal.problems" >/dev/null
start_receiver a "$RA" "$AM1" 5/1h && start_receiver b "$RB" "$AM2" 5/1h ||
    fail "the receivers did not start again: $(tail -3 "$SB/a.log") $(tail -3 "$SB/b.log")"
# shellcheck disable=SC2086
fire $(seq -f 'w%g' 21 30)
decided_all() { [ "$(psql "SELECT count(*) FROM heal.problems WHERE service ~ '^w(2[1-9]|30) '")" -ge 10 ]; }
wait_until 40 decided_all
sleep 3
n=$(heals_of 'w(2[1-9]|30)')
budget=$(psql "SELECT count(*) FROM heal.problems WHERE service ~ '^w(2[1-9]|30) ' AND decision LIKE 'paged: the fleet budget%'")
if [ "$n" -eq 5 ] && [ "$budget" -eq 5 ]; then
    pass "fleet_budget = 5/1h shared by the pair: 10 problems → exactly 5 heals, 5 paged budget"
else
    fail "budget: $n heals, $budget paged budget (problems: $(psql "SELECT service, decision FROM heal.problems" | tr '\n' ';'))"
fi
# Each receiver pages through its own Alertmanager: the pages are the union of both.
budget_pages() {
    for port in "$AM1" "$AM2"; do
        curl -sS --max-time 5 "http://127.0.0.1:$port/api/v2/alerts?filter=alertname%3D%22HealBlocked%22&filter=guard%3D%22budget%22" |
            grep -o '"service":"w[0-9]*"'
    done | sort -u | wc -l
}
pages=$(budget_pages)
[ "$pages" -eq 5 ] && pass "5 HealBlocked guard=budget pages reach the Alertmanagers, one per problem" ||
    fail "HealBlocked guard=budget pages for $pages problems, not 5"

# 4. PostgreSQL down: the new problem is not healed but paged; up again, it heals.
psql "TRUNCATE heal.heals" >/dev/null
"$SRC/scripts/heal-pg-sandbox" stop "$SB"
fire w31
store_page() { curl -sS --max-time 5 "http://127.0.0.1:$AM1/api/v2/alerts?filter=alertname%3D%22HealBlocked%22&filter=guard%3D%22store%22&filter=service%3D%22w31%22" | grep -q '"fingerprint"'; }
if wait_until 20 store_page && [ "$(heals w31)" -eq 0 ]; then
    pass "PostgreSQL stopped: w31 not healed, HealBlocked guard=store paged ($(grep -m1 'cannot reach the fleet store' "$SB/a.log" "$SB/b.log" | sed 's/.*cannot decide/cannot decide/' | cut -c1-150))"
else
    fail "PostgreSQL stopped: $(heals w31) heals of w31, store page: $(store_page && echo yes || echo no)"
fi
"$SRC/scripts/heal-pg-sandbox" start "$SB" >/dev/null
healed31() { [ "$(heals w31)" -ge 1 ]; }
if wait_until 30 healed31 && sleep 2 && [ "$(heals w31)" -eq 1 ]; then
    pass "PostgreSQL started again: Alertmanager's resend heals w31, once"
else
    fail "PostgreSQL back: $(heals w31) heals of w31: $(tail -3 "$SB/a.log")"
fi
ended() { ! store_page; }
wait_until 20 ended && pass "the page 'cannot reach the fleet store' ends when the store decides again" ||
    fail "the store page did not end"

# 5. Two monitoring servers' event handlers on the same Nagios problem, one store.
mkdir -p "$SB/eh1" "$SB/eh2"
{
    for h in h1 h2 h3 h4; do printf 'define service {\n\thost_name\t%s\n\tservice_description\tw40\n\t}\n\n' "$h"; done
} >"$SB/objects.cache"
{
    printf 'info {\n\tcreated=%s\n\tversion=4.4.6\n\t}\n\n' "$(date +%s)"
    for h in h1 h2 h3 h4; do
        st=0; [ $h = h1 ] && st=2
        printf 'servicestatus {\n\thost_name=%s\n\tservice_description=w40\n\thas_been_checked=1\n\tcurrent_state=%s\n\tplugin_output=x\n\t}\n\n' "$h" "$st"
    done
} >"$SB/status.dat"
mkfifo "$SB/nagios.cmd"
eh() { # STATE_DIR CONNINFO LOG ARGS...
    _d=$1 _c=$2 _l=$3; shift 3
    "$BUILD/heal-event-handler" --client-config "$SB/heal-ctl.ini" --command-file "$SB/nagios.cmd" \
        --state-dir "$_d" --store-conninfo "$_c" --status-file "$SB/status.dat" --objects-file "$SB/objects.cache" \
        --nagios-host h1 --server-name 127.0.0.1 --log "$_l" --timeout 5 "$@"
}
exec 4<>"$SB/nagios.cmd"
eh "$SB/eh1" "$CONNINFO" "$SB/eh1.log" CRITICAL SOFT 2 127.0.0.1 w40 &
e1=$!
eh "$SB/eh2" "$CONNINFO" "$SB/eh2.log" CRITICAL SOFT 2 127.0.0.1 w40 &
wait "$!" "$e1"
dd iflag=nonblock bs=65536 <&4 >"$SB/cmds" 2>/dev/null
acted=$(cat "$SB/eh1.log" "$SB/eh2.log" | grep -c 'acting: ')
already=$(cat "$SB/eh1.log" "$SB/eh2.log" | grep -c 'already decided for this problem')
if [ "$(heals w40)" -eq 1 ] && [ "$acted" -eq 1 ] && [ "$already" -eq 1 ]; then
    pass "two event handlers (two monitoring servers) on one Nagios problem, one store: one heal, the other found it decided"
else
    fail "two event handlers: $(heals w40) heals, $acted acting, $already already: $(cat "$SB/eh1.log" "$SB/eh2.log")"
fi

# A store that cannot be used: a clear error, a page, no heal.
cp "$SB/heal.conninfo" "$SB/open.conninfo"; chmod 644 "$SB/open.conninfo"
sed 's/password=[^ ]*/password=wrong/' "$SB/heal.conninfo" >"$SB/wrong.conninfo"; chmod 600 "$SB/wrong.conninfo"
for case in "stranger.conninfo|permission denied for schema heal" "open.conninfo|readable or writable by every user" \
            "wrong.conninfo|password authentication failed"; do
    file=${case%%|*} why=${case#*|}
    rm -rf "$SB/eh3"; mkdir -p "$SB/eh3"
    : >"$SB/cmds"
    eh "$SB/eh3" "$SB/$file" "$SB/eh3.log" --nagios-service "w40-$file" CRITICAL HARD 1 127.0.0.1 w40
    dd iflag=nonblock bs=65536 <&4 >"$SB/cmds" 2>/dev/null
    if grep -q "cannot decide: .*$why" "$SB/eh3.log" && grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h1;w40-$file;2;heal;fleet guard: cannot reach the fleet store (.*$why" "$SB/cmds" &&
        [ "$(heals w40)" -eq 1 ]; then
        pass "the event handler with $file: '$why', paged, no heal"
    else
        fail "the event handler with $file: $(tail -2 "$SB/eh3.log") / $(cat "$SB/cmds")"
    fi
done
exec 4>&-

# --check of both says what the store is and what the role may.
out=$(eh "$SB/eh1" "$CONNINFO" "$SB/eh1.log" --check 2>&1)
if printf '%s\n' "$out" | grep -q 'ok .*fleet store .*PostgreSQL .*role heal: not a superuser' &&
    printf '%s\n' "$out" | grep -q 'ok .*fleet store .*the role may read and write every table'; then
    pass "heal-event-handler --check: $(printf '%s\n' "$out" | grep 'fleet store' | head -1 | sed 's/^ *//' | cut -c1-140)"
else
    fail "heal-event-handler --check: $out"
fi
out=$("$BUILD/heal-alert-receiver" -c "$SB/a.ini" --check 2>&1)
if printf '%s\n' "$out" | grep -q 'ok .*fleet store .*role heal: not a superuser'; then
    pass "heal-alert-receiver --check names the shared store and the role"
else
    fail "heal-alert-receiver --check: $out"
fi
sed -i 's|^store_conninfo = .*|store_conninfo = stranger.conninfo|' "$SB/a.ini"
out=$("$BUILD/heal-alert-receiver" -c "$SB/a.ini" --check 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q 'PROBLEM  fleet store .*permission denied for schema heal'; then
    pass "heal-alert-receiver --check with a role without rights: exit $rc, says why"
else
    fail "heal-alert-receiver --check, stranger: exit $rc: $out"
fi
