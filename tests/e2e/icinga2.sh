#!/bin/sh
# End to end with Debian's real Icinga 2 (2.13), run as an ordinary process with every path in a
# temporary folder and its API on loopback: the shipped etc/icinga2/heal.conf (checks, the event
# command, the heal-service template, the least-privilege ApiUser), heal-event-handler in its
# Icinga 2 mode (the REST API, no status.dat, no command pipe), heal-listener and a real worker.
# Prints PASS/FAIL/SKIP.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
sb_e2e_setup icinga2 icinga2 icinga2-bin
failed=0
pass() { echo "PASS icinga2: $1"; }
fail() { echo "FAIL icinga2: $1"; failed=1; }
I=$SB/icinga2
ILOG=$I/log/icinga2.log

sb_certs
# Icinga 2's API certificate (its CN, localhost, is its NodeName; also named icinga-test) and the ApiUser's client certificate, from the
# same throwaway CA as the listener's.
"$SRC/scripts/heal-dev-certs" --san "DNS:icinga-test" --client heal-event-handler --client intruder "$SB/icerts" >/dev/null
mkdir -p "$I/data/certs" "$I/log" "$I/cache" "$I/spool" "$I/run" "$I/plugins/eventhandlers"
cp "$SB/icerts/ca.crt" "$I/data/certs/ca.crt"
cp "$SB/icerts/server.crt" "$I/data/certs/localhost.crt"
cp "$SB/icerts/server.key" "$I/data/certs/localhost.key"
ln -s "$BUILD/check_worker" "$BUILD/check_heal" "$I/plugins/"
ln -s "$BUILD/heal-event-handler" "$I/plugins/eventhandlers/"
SB_CRASHY=1  # the crash-looping worker of section 3
sb_worker_scripts
sb_worker_start
touch "$SB/worker/crashloop"
"$SB/worker/crashy-restart" >/dev/null
sb_listener_start || { fail "heal-listener did not start"; cat "$SB/listener.log"; exit 1; }
API_PORT=$(sb_free_port)

cat >"$I/icinga2.conf" <<EOF
const PluginDir = "$I/plugins"
const ZoneName = NodeName
include <itl>
include <plugins>
object Endpoint NodeName { }
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = $API_PORT }
object CheckerComponent "checker" { }
object NotificationComponent "notification" { }
object FileLogger "main-log" { path = LogDir + "/icinga2.log"; severity = "information" }
include "$SRC/etc/icinga2/heal.conf"

object User "oncall" { enable_notifications = true }
// The test's own view (comments), as an administrator would look: not heal's ApiUser.
object ApiUser "test-admin" { password = "test-only"; permissions = [ "*" ] }
// heal's ApiUser by password instead of a certificate: the same permissions as heal.conf's
// (written out: get_object() while Icinga 2 still evaluates the configuration may find nothing).
object ApiUser "heal-pw" {
    password = "s3cret heal"
    permissions = [
        { permission = "objects/query/Service"; filter = {{ "heal-service" in service.templates }} },
        { permission = "objects/query/Host" },
        { permission = "actions/add-comment"; filter = {{ "heal-service" in service.templates }} },
        { permission = "actions/send-custom-notification"; filter = {{ "heal-service" in service.templates }} },
    ]
}
object NotificationCommand "to-file" {
    command = [ "/bin/sh", "-c", "printf '%s %s %s %s\\\\n' \"\$notification.type\$\" \"\$service.name\$\" \"\$service.state\$\" \"\$notification.comment\$\" >> $SB/notifications.log" ]
}
apply Notification "oncall" to Service {
    command = "to-file"
    users = [ "oncall" ]
    types = [ Custom ]
    interval = 0
    assign where true
}
object Host "worker-host" {
    address = "127.0.0.1"
    check_command = "dummy"
}
template Service "heal-test" {
    import "heal-service"
    check_interval = 1s
    retry_interval = 1s
    vars.heal_icinga2_url = "https://127.0.0.1:$API_PORT"
    vars.heal_icinga2_ca = "$SB/icerts/ca.crt"
    vars.heal_icinga2_name = "icinga-test"
    vars.heal_icinga2_cert = "$SB/icerts/heal-event-handler.crt"
    vars.heal_icinga2_key = "$SB/icerts/heal-event-handler.key"
    vars.heal_client_config = "$SB/heal-ctl.ini"
    vars.heal_state_dir = "$SB/eh-state"
    vars.heal_timeout = 15
    vars.heal_log = "$SB/eh-state.log"
}
object Service "worker" {
    import "heal-test"
    host_name = "worker-host"
    check_command = "heal-status"
    vars.heal_ctl = "$BUILD/heal-ctl"
}
// The fleet guard: 3 of 4 "fleet" services down (dummy checks), and a dry-run service.
for (n in [ 1, 2, 3, 4 ]) {
    object Host "fleet" + n { address = "127.0.0.1"; check_command = "dummy" }
}
object ServiceGroup "fleetgroup" { assign where service.name == "fleet" && host.name != "fleet1" }
apply Service "fleet" {
    import "heal-test"
    check_command = "dummy"
    vars.dummy_state = if (host.name == "fleet4") { 0 } else { 2 }
    assign where match("fleet*", host.name)
}
object Service "drill" {
    import "heal-test"
    host_name = "worker-host"
    check_command = "dummy"
    vars.dummy_state = 2
    vars.heal_dry_run = true
}
// The watch loop's reports land here (listener/reporters/report-icinga2).
object Service "heal-worker" {
    host_name = "worker-host"
    check_command = "dummy"
    enable_active_checks = false
    enable_passive_checks = true
}
object Service "other" {
    host_name = "worker-host"
    check_command = "dummy"
    vars.secret = "not heal's business"
}
object Service "crashy" {
    import "heal-test"
    host_name = "worker-host"
    check_command = "heal-worker"
    vars.heal_worker_port = $CRASHY_PORT
    vars.heal_worker_timeout = 2
}
EOF
DEFS="-DNodeName=localhost -DConfigDir=$I -DZonesDir=$I/zones.d -DDataDir=$I/data -DLogDir=$I/log -DCacheDir=$I/cache -DSpoolDir=$I/spool -DInitRunDir=$I/run -DRunAsUser=$(id -un) -DRunAsGroup=$(id -gn)"
# shellcheck disable=SC2086
if icinga2 daemon -C -c "$I/icinga2.conf" $DEFS >"$I/validate.log" 2>&1; then
    pass "icinga2 daemon -C accepts etc/icinga2/heal.conf"
else
    fail "icinga2 daemon -C: $(grep -E 'critical|Error' "$I/validate.log" | head -5)"; cat "$I/validate.log"; exit 1
fi
# shellcheck disable=SC2086
ICINGA_PID=$(sb_spawn "$I/stdout.log" icinga2 daemon -c "$I/icinga2.conf" $DEFS)
sb_wait_for "$ILOG" "Started new listener on '[127.0.0.1]:$API_PORT'" 20 >/dev/null ||
    { fail "Icinga 2 did not start its API: $(tail -5 "$I/stdout.log")"; exit 1; }

api() { # PATH [JSON] — as the test's administrator
    curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" -u test-admin:test-only \
        -H 'Accept: application/json' -H 'X-HTTP-Method-Override: GET' -X POST \
        -d "${2:-{\}}" "https://icinga-test:$API_PORT$1"
}
as_heal() { # PATH JSON [GET] — as heal's ApiUser (its client certificate); prints "HTTP-CODE BODY"
    curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" \
        --cert "$SB/icerts/heal-event-handler.crt" --key "$SB/icerts/heal-event-handler.key" \
        -H 'Accept: application/json' ${3:+-H 'X-HTTP-Method-Override: GET'} -X POST -w ' %{http_code}' \
        -d "$2" "https://icinga-test:$API_PORT$1"
}
state_of() { # SERVICE — "STATE CHECKED" from the API
    api /v1/objects/services "{\"filter\":\"service.name==\\\"$1\\\"\",\"attrs\":[\"state\",\"last_check\"]}" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["results"][0]["attrs"]; print(int(r["state"]), 1 if r["last_check"] > 0 else 0)' 2>/dev/null
}
wait_state() { # SERVICE "STATE CHECKED" SECONDS
    _end=$(( $(date +%s) + $3 ))
    until [ "$(state_of "$1")" = "$2" ]; do [ "$(date +%s)" -gt $_end ] && return 1; sleep 0.3; done
}

# 1. The worker is OK; heal-event-handler --check in Icinga 2 mode reaches the API.
wait_state worker "0 1" 20 && pass "the worker is OK in Icinga 2 (heal.conf's heal-status: heal-ctl status through the listener)" ||
    fail "the worker is not OK: $(state_of worker)"
chk=$("$BUILD/heal-event-handler" --check --icinga2-url "https://127.0.0.1:$API_PORT" --icinga2-ca "$SB/icerts/ca.crt" \
      --icinga2-name icinga-test --icinga2-cert "$SB/icerts/heal-event-handler.crt" --icinga2-key "$SB/icerts/heal-event-handler.key" \
      --client-config "$SB/heal-ctl.ini" --state-dir "$SB/eh-state" --host-name worker-host --nagios-service worker 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$chk" | grep -q "ok       Icinga 2 API   https://127.0.0.1:$API_PORT (client certificate .*): answered; 0 of 1 'worker' services not OK"; then
    pass "heal-event-handler --check reaches Icinga 2's API as the ApiUser"
    printf '%s\n' "$chk" | sed 's/^/    | /'
else
    fail "--check in Icinga 2 mode (exit $rc): $chk"
fi

# By password, from a file (never on the command line); a file others can read is a problem.
printf 's3cret heal\n' >"$SB/heal-pw"
chmod 0600 "$SB/heal-pw"
pw_check() {
    "$BUILD/heal-event-handler" --check --icinga2-url "https://127.0.0.1:$API_PORT" --icinga2-ca "$SB/icerts/ca.crt" \
        --icinga2-name icinga-test --icinga2-user heal-pw --icinga2-password-file "$SB/heal-pw" \
        --client-config "$SB/heal-ctl.ini" --state-dir "$SB/eh-state" --host-name worker-host --nagios-service worker 2>&1
}
chk=$(pw_check); rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$chk" | grep -q "ok       Icinga 2 API   .*(user heal-pw, password from $SB/heal-pw): answered"; then
    pass "an ApiUser by --icinga2-user and --icinga2-password-file"
else
    fail "password authentication (exit $rc): $chk"
fi
chmod 0644 "$SB/heal-pw"
chk=$(pw_check); rc=$?
[ $rc -eq 1 ] && printf '%s\n' "$chk" | grep -q "PROBLEM  password file  $SB/heal-pw: readable by others (mode 0644)" &&
    pass "--check: a password file others can read is a problem" || fail "password file mode (exit $rc): $chk"
rm -f "$SB/heal-pw"; mkfifo -m 0600 "$SB/heal-pw"  # a FIFO nobody writes must not hang the handler
chk=$(pw_check); rc=$?
[ $rc -eq 1 ] && printf '%s\n' "$chk" | grep -q "is not a regular file (a FIFO)" &&
    pass "a FIFO as the password file is refused at once" || fail "FIFO password file (exit $rc): $chk"
rm -f "$SB/heal-pw"
printf 'wrong\n' >"$SB/heal-pw"; chmod 0600 "$SB/heal-pw"
chk=$(pw_check); rc=$?
[ $rc -eq 1 ] && printf '%s\n' "$chk" | grep -q "HTTP 401 .*(the user or password, or the certificate's client_cn, is not an ApiUser)" &&
    pass "a wrong password: HTTP 401, said in words" || fail "wrong password (exit $rc): $chk"

# Least privilege: heal's ApiUser may query services and add comments and custom
# notifications, nothing else (Icinga 2.13 answers a missing permission with 404).
denied=""
for probe in "/v1/objects/comments|{}|get" "/v1/objects/services|{\"filter\":\"service.name==\\\"other\\\"\"}|get" \
             "/v1/actions/reschedule-check|{\"type\":\"Service\",\"filter\":\"true\"}|" \
             "/v1/actions/remove-comment|{\"type\":\"Service\",\"filter\":\"true\"}|" \
             "/v1/actions/acknowledge-problem|{\"type\":\"Service\",\"filter\":\"true\",\"author\":\"x\",\"comment\":\"x\"}|" \
             "/v1/actions/add-comment|{\"type\":\"Service\",\"filter\":\"service.name==\\\"other\\\"\",\"author\":\"x\",\"comment\":\"x\"}|" \
             "/v1/config/packages|{}|"; do
    path=${probe%%|*} rest=${probe#*|} body=${rest%|*} get=${rest##*|}
    out=$(as_heal "$path" "$body" $get 2>&1)
    case $out in *" 404"|*" 403"|*" 401"|'{"results":[]} '[25]00) ;; *) denied="$denied $path answered: $(printf '%s' "$out" | tail -c 120);" ;; esac
done
# (An action on a service outside its filter answers 500 with no results: nothing was done.)
case $(api /v1/objects/comments '{"filter":"comment.service_name==\"other\""}') in
    *'"results":[]'*|*'No objects found'*) ;;
    *) denied="$denied a comment reached 'other';" ;;
esac
allowed=$(as_heal /v1/objects/services '{"filter":"service.name==\"worker\"","attrs":["state"]}' get)
case $allowed in
    *" 200") [ -z "$denied" ] && pass "least privilege: heal's ApiUser sees and comments only services importing heal-service (and reads hosts, for their downtimes); comments, reschedule, remove-comment, acknowledge, config refused; its query works" ||
                 fail "heal's ApiUser may do more than it needs:$denied" ;;
    *) fail "heal's ApiUser cannot query services: $allowed" ;;
esac

# 2. Kill the worker: SOFT 1, SOFT 2 -> the event command -> restart -> a comment with the id.
t_kill=$(date +%s.%N)
kill "$(cat "$SB/worker/worker.pid")"
if line=$(sb_wait_for "$SB/audit.jsonl" '"verb":"restart","service":"worker"' 30); then
    pass "the event command restarted the worker through heal-listener"
else
    fail "no restart within 30 s: $(grep -i 'heal-restart\|event' "$ILOG" | tail -3)"
fi
wait_state worker "0 1" 30 && pass "recovered in $(awk -v a="$t_kill" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the kill" ||
    fail "no recovery: $(state_of worker)"
comments=$(api /v1/objects/comments '{"attrs":["service_name","author","text"]}')
id=$(printf '%s' "$comments" | sed -n 's/.*request id \([0-9a-f-]*\).*/\1/p' | head -1)
if [ -n "$id" ] && grep -F "\"id\":\"$id\"" "$SB/audit.jsonl" | grep -q '"outcome":"ok"'; then
    pass "the Icinga 2 comment names the audited restart: $(printf '%s' "$comments" | grep -o 'heal: restart worker[^"]*' | head -1)"
else
    fail "no comment naming an audited request: $comments"
fi
sleep 3  # Icinga 2's HARD 1 and the recovery ran their event commands meanwhile
n=$(grep '"record":"final"' "$SB/audit.jsonl" | grep '"verb":"restart"' | grep -c '"service":"worker"' || true)
[ "$n" -eq 1 ] && pass "one restart for the problem (SOFT 1, SOFT 2, HARD 1, then OK: acted once)" ||
    fail "restarts for one problem: $n"

# 2b. Human intent first: a downtime and an acknowledgement, set through the API as an operator
#     would, hold the heal; one comment says why; removed, the next problem heals. Passive results
#     drive the worker's state (its active checks off), so each event is a known one.
worker_restarts() { grep '"record":"final"' "$SB/audit.jsonl" | grep '"verb":"restart"' | grep -c '"service":"worker"' || true; }
svc_post() { # ACTION JSON-FIELDS — on the worker service, as the test's administrator
    curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" -u test-admin:test-only \
        -H 'Accept: application/json' -X POST \
        -d "{\"type\":\"Service\",\"filter\":\"service.name==\\\"worker\\\"\"$2}" "https://icinga-test:$API_PORT/v1/actions/$1"
}
held_comments() { api /v1/objects/comments '{"filter":"comment.service_name==\"worker\"","attrs":["text"]}' | grep -o 'heal: held, [^"]*'; }
held_lines() { _n=$(grep -c 'held: .*restart worker' "$SB/eh-state.log" 2>/dev/null); echo "${_n:-0}"; }
critical_until() { # N — passive CRITICAL results until the handler's log has N "held:" lines
    _end=$(( $(date +%s) + 20 ))
    while [ "$(held_lines)" -lt "$1" ] && [ "$(date +%s)" -le $_end ]; do
        svc_post process-check-result ',"exit_status":2,"plugin_output":"down for the work"' >/dev/null
        sleep 1.2
    done
}
wait_attr() { # ATTR VALUE SECONDS — the worker's attribute as Icinga 2 answers it
    _end=$(( $(date +%s) + $3 ))
    until api /v1/objects/services "{\"filter\":\"service.name==\\\"worker\\\"\",\"attrs\":[\"$1\"]}" |
          grep -q "\"$1\":$2[,.}]"; do
        [ "$(date +%s)" -gt $_end ] && return 1
        sleep 0.2
    done
}
recover_worker() {
    svc_post process-check-result ',"exit_status":0,"plugin_output":"back"' >/dev/null
    wait_state worker "0 1" 10
}
curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" -u test-admin:test-only \
    -H 'Accept: application/json' -X POST -d '{"attrs":{"enable_active_checks":false}}' \
    "https://icinga-test:$API_PORT/v1/objects/services/worker-host!worker" >/dev/null
before=$(worker_restarts)
now_s=$(date +%s)
svc_post schedule-downtime ",\"start_time\":$now_s,\"end_time\":$((now_s + 3600)),\"fixed\":true,\"author\":\"ops\",\"comment\":\"disk swap\"" >/dev/null
wait_attr downtime_depth 1 10
critical_until 2
if held_comments | grep -qx 'heal: held, worker on worker-host is in scheduled downtime. Not restarting worker on worker-host.' &&
   [ "$(held_comments | wc -l)" -eq 1 ] && [ "$(worker_restarts)" -eq "$before" ]; then
    pass "an Icinga 2 downtime holds the heal, one comment for the problem: $(held_comments)"
else
    fail "downtime: comments '$(held_comments)', $(( $(worker_restarts) - before )) restarts; $(tail -3 "$SB/eh-state.log" 2>&1)"
fi
svc_post remove-downtime '' >/dev/null
recover_worker
svc_post process-check-result ',"exit_status":2,"plugin_output":"looking into it"' >/dev/null
sleep 0.5
svc_post acknowledge-problem ',"author":"ops","comment":"replacing the disk"' >/dev/null
critical_until 3
if held_comments | grep -qx 'heal: held, the problem of worker on worker-host is acknowledged. Not restarting worker on worker-host.' &&
   [ "$(worker_restarts)" -eq "$before" ]; then
    pass "an Icinga 2 acknowledgement holds the heal"
else
    fail "acknowledgement: comments '$(held_comments)', $(( $(worker_restarts) - before )) restarts; $(tail -3 "$SB/eh-state.log" 2>&1)"
fi
svc_post remove-acknowledgement '' >/dev/null
recover_worker
# A host downtime holds every service of the host (host.downtime_depth, joined to the query).
# crashy (section 3) crash-loops on this host from the start: it must reach its quarantine before
# the window, or the window holds its last heal and, with no state change after it, Icinga 2 runs
# no event handler again (as documented) and it never reaches the budget.
sb_wait_for "$SB/notifications.log" "CUSTOM crashy" 60 >/dev/null || true
curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" -u test-admin:test-only \
    -H 'Accept: application/json' -X POST \
    -d "{\"type\":\"Host\",\"filter\":\"host.name==\\\"worker-host\\\"\",\"start_time\":$now_s,\"end_time\":$((now_s + 3600)),\"fixed\":true,\"author\":\"dc\",\"comment\":\"rack move\"}" \
    "https://icinga-test:$API_PORT/v1/actions/schedule-downtime" >/dev/null
sleep 1
critical_until 5
if held_comments | grep -qx 'heal: held, host worker-host is in scheduled downtime. Not restarting worker on worker-host.' &&
   [ "$(worker_restarts)" -eq "$before" ]; then
    pass "an Icinga 2 host downtime holds the heal of its services"
else
    fail "host downtime: comments '$(held_comments)', $(( $(worker_restarts) - before )) restarts; $(tail -3 "$SB/eh-state.log" 2>&1)"
fi
curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" -u test-admin:test-only \
    -H 'Accept: application/json' -X POST -d '{"type":"Host","filter":"host.name==\"worker-host\""}' \
    "https://icinga-test:$API_PORT/v1/actions/remove-downtime" >/dev/null
recover_worker
curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" -u test-admin:test-only \
    -H 'Accept: application/json' -X POST -d '{"attrs":{"enable_active_checks":true}}' \
    "https://icinga-test:$API_PORT/v1/objects/services/worker-host!worker" >/dev/null
kill "$(cat "$SB/worker/worker.pid")"
end=$(($(date +%s) + 30))
until [ "$(worker_restarts)" -gt "$before" ] || [ "$(date +%s)" -gt $end ]; do sleep 0.3; done
[ "$(worker_restarts)" -eq $((before + 1)) ] && wait_state worker "0 1" 20 &&
    pass "removed, the next problem heals as before" ||
    fail "no heal after the downtime and the acknowledgement were removed: $(( $(worker_restarts) - before )) restarts"

# The fleet guard: 3 of 4 down is a wider outage: no restart, one page per problem.
sb_wait_for "$SB/notifications.log" "CUSTOM fleet" 30 >/dev/null
sleep 4  # every fleet service past SOFT 2 and HARD 1
# (4 of 4 when fleet4's first check, still PENDING, had not come yet: not known OK)
pages=$(grep -c "^CUSTOM fleet CRITICAL fleet guard: widespread failure: [34] of 4 'fleet' services are not OK" "$SB/notifications.log" || true)
restarts=$(grep -c '"service":"fleet"' "$SB/audit.jsonl" || true)
[ "$pages" -eq 3 ] && [ "$restarts" -eq 0 ] &&
    pass "3 of 4 down: 0 restarts, 1 page per problem: $(grep -m1 'CUSTOM fleet' "$SB/notifications.log" | cut -c1-160)" ||
    fail "3 of 4 down: $pages pages, $restarts restarts: $(grep fleet "$SB/notifications.log" | head -5)"
# The group as --servicegroup or --icinga2-filter says, through the API (the handler by hand).
eh_group() { # LOG ARGS...
    _log=$1; shift
    "$BUILD/heal-event-handler" --icinga2-url "https://127.0.0.1:$API_PORT" --icinga2-ca "$SB/icerts/ca.crt" \
        --icinga2-name icinga-test --icinga2-cert "$SB/icerts/heal-event-handler.crt" \
        --icinga2-key "$SB/icerts/heal-event-handler.key" --client-config "$SB/heal-ctl.ini" --dry-run \
        --state-dir "$SB/eh-$_log" --log "$SB/$_log.log" --host-name fleet2 --nagios-service fleet "$@" \
        CRITICAL HARD 1 127.0.0.1 fleet >/dev/null 2>&1
}
eh_group sg --servicegroup fleetgroup
eh_group filter --icinga2-filter 'service.name == "fleet" && host.name in [ "fleet2", "fleet4" ]'
if grep -q "widespread failure: 2 of 3 services in group 'fleetgroup' are not OK" "$SB/sg.log" &&
   grep -q "dry run: would restart: CRITICAL HARD attempt 1, restart fleet on fleet2 (1 of 2 services matching --icinga2-filter not OK)" "$SB/filter.log"; then
    pass "--servicegroup and --icinga2-filter make the group through the API: 2 of 3 in group fleetgroup (fleet1 is not in it) block; 1 of 2 matching the filter may heal"
else
    fail "groups through the API: $(cat "$SB/sg.log" "$SB/filter.log")"
fi
# --dry-run: a comment says what would have been done; nothing reaches the listener.
drill=$(api /v1/objects/comments '{"filter":"comment.service_name==\"drill\"","attrs":["text"]}')
case $drill in
    *"dry run: would restart drill on worker-host after CRITICAL SOFT attempt 2"*)
        grep -q '"service":"drill"' "$SB/audit.jsonl" && fail "--dry-run reached the listener" ||
            pass "--dry-run comments what it would do and acts on nothing" ;;
    *) fail "no dry-run comment for drill: $drill" ;;
esac

# 3. The crash loop: restarted up to the budget, then quarantined; the handler pages (a forced
# custom notification reaches the on-call user).
if sb_wait_for "$SB/notifications.log" "CUSTOM crashy" 60 >/dev/null; then
    pass "the crash loop pages a human: $(grep -m1 'CUSTOM crashy' "$SB/notifications.log" | cut -c1-200)"
else
    fail "no custom notification for crashy: $(tail -3 "$SB/notifications.log" 2>/dev/null) / $(grep -c crashy "$SB/audit.jsonl") audit lines"
fi

# ... and only an admin's reset lifts the quarantine; then a fresh problem heals again.
admin_post() { # PATH JSON — an action as the test's administrator
    curl -sS --cacert "$SB/icerts/ca.crt" --resolve "icinga-test:$API_PORT:127.0.0.1" -u test-admin:test-only \
        -H 'Accept: application/json' -X POST -d "$2" "https://icinga-test:$API_PORT$1"
}
crashy_ok() { grep '"record":"final"' "$SB/audit.jsonl" | grep '"service":"crashy"' | grep '"verb":"restart"' | grep -c '"outcome":"ok"'; }
out=$("$BUILD/heal-ctl" -c "$SB/heal-ctl-ops.ini" -H 127.0.0.1 reset crashy 2>&1); rc=$?
rm -f "$SB/worker/crashloop"  # the admin fixed the cause
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "quarantine lifted"; then
    # A fresh problem for Icinga 2: a passive OK closes the old one, the next active check
    # finds crashy down, and the handler heals it.
    admin_post /v1/actions/process-check-result \
        '{"type":"Service","filter":"service.name==\"crashy\"","exit_status":0,"plugin_output":"quarantine reset by an admin"}' >/dev/null
    end=$(($(date +%s) + 40))
    until [ "$(crashy_ok)" -ge 4 ] || [ "$(date +%s)" -gt $end ]; do sleep 0.3; done
    comment=$(api /v1/objects/comments '{"filter":"comment.service_name==\"crashy\"","attrs":["text"]}' |
              grep -o 'heal: restart crashy done[^"]*' | head -1)
    if [ "$(crashy_ok)" -eq 4 ] && [ -n "$comment" ] && wait_state crashy "0 1" 20; then
        pass "an admin's reset, then the next problem is healed again: $comment"
    else
        fail "after the reset: $(crashy_ok) successful restarts, comment '$comment', crashy $(state_of crashy)"
    fi
else
    fail "reset by an admin: exit $rc: $out"
fi

# One PKI: certificates from Icinga 2's own CA (icinga2 pki new-ca / new-cert / sign-csr, as an
# Icinga site makes its agents') serve heal-listener and heal-ctl: no second CA.
P=$SB/icinga-pki
R="-DRunAsUser=$(id -un) -DRunAsGroup=$(id -gn)"
mkdir -p "$P"
# shellcheck disable=SC2086
if icinga2 pki new-ca -DDataDir="$P" $R >"$P/log" 2>&1 &&
   icinga2 pki new-cert --cn worker-host --key "$P/worker-host.key" --csr "$P/worker-host.csr" $R >>"$P/log" 2>&1 &&
   icinga2 pki sign-csr --csr "$P/worker-host.csr" --cert "$P/worker-host.crt" -DDataDir="$P" $R >>"$P/log" 2>&1 &&
   icinga2 pki new-cert --cn heal-ctl --key "$P/heal-ctl.key" --csr "$P/heal-ctl.csr" $R >>"$P/log" 2>&1 &&
   icinga2 pki sign-csr --csr "$P/heal-ctl.csr" --cert "$P/heal-ctl.crt" -DDataDir="$P" $R >>"$P/log" 2>&1; then
    sed -e "s|^listen = .*|listen = 127.0.0.1:0|" -e "s|^cert = .*|cert = $P/worker-host.crt|" \
        -e "s|^key = .*|key = $P/worker-host.key|" -e "s|^client_ca = .*|client_ca = $P/ca/ca.crt|" \
        -e "s|^audit_log = .*|audit_log = pki-audit.jsonl|" -e "s|^state_dir = .*|state_dir = pki-state|" \
        "$SB/heal.ini" >"$SB/pki.ini"
    mkdir -p "$SB/pki-state"
    sb_spawn "$SB/pki-listener.log" "$BUILD/heal-listener" -c "$SB/pki.ini" >/dev/null
    if line=$(sb_wait_for "$SB/pki-listener.log" "listening on 127.0.0.1:" 10); then
        port=${line##*listening on 127.0.0.1:}
        printf '[client]\nport = %s\ncert = %s\nkey = %s\nca = %s\n' "$port" "$P/heal-ctl.crt" "$P/heal-ctl.key" \
            "$P/ca/ca.crt" >"$SB/pki-ctl.ini"
        out=$("$BUILD/heal-ctl" -c "$SB/pki-ctl.ini" -H 127.0.0.1 --server-name worker-host status worker 2>&1); rc=$?
        [ $rc -eq 0 ] && pass "one PKI: heal-listener and heal-ctl on certificates from icinga2 pki: $out" ||
            fail "one PKI: heal-ctl status (exit $rc): $out $(tail -3 "$SB/pki-listener.log")"
    else
        fail "one PKI: heal-listener did not start on Icinga 2's certificates: $(tail -5 "$SB/pki-listener.log")"
    fi
else
    fail "icinga2 pki: $(tail -5 "$P/log")"
fi

# An API that answers badly: cut short, endless, silent, an error, a wrong type. Each blocks the
# heal, each call within --icinga2-timeout (the query, then the page: 2 of them), and the log says
# why; nothing reaches the listener.
sb_spawn "$SB/hostile.log" python3 "$SRC/tests/fixtures/hostile_api.py" "$SB/icerts/server.crt" \
    "$SB/icerts/server.key" "$SB/hostile.ports" >/dev/null
i=0; until [ -s "$SB/hostile.ports" ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
for pair in "truncated|truncated" "huge|an answer over 64 MiB" "slow|timed out" \
            "error500|HTTP 500 for /v1/objects/services: Internal Server Error: something broke." \
            "wrongtype|the state of 'web' on 'h' is not 0-3"; do
    mode=${pair%%|*} want=${pair#*|}
    port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$SB/hostile.ports" "$mode")
    : >"$SB/hostile-eh.log"
    start=$(date +%s.%N)
    "$BUILD/heal-event-handler" --icinga2-url "https://127.0.0.1:$port" --icinga2-ca "$SB/icerts/ca.crt" \
        --icinga2-name icinga-test --icinga2-cert "$SB/icerts/heal-event-handler.crt" \
        --icinga2-key "$SB/icerts/heal-event-handler.key" --icinga2-timeout 3 --client-config "$SB/heal-ctl.ini" \
        --state-dir "$SB/eh-hostile-$mode" --log "$SB/hostile-eh.log" --host-name h --nagios-service web \
        CRITICAL HARD 1 127.0.0.1 web >/dev/null 2>&1
    took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if grep -q "blocked: CRITICAL HARD attempt 1, restart web on h: cannot use Icinga 2's state: .*$want" "$SB/hostile-eh.log" &&
       ! grep -q "acting:" "$SB/hostile-eh.log" && awk -v t="$took" 'BEGIN { exit !(t < 12) }'; then
        pass "an API answer $mode: blocked in $took s: $(grep -m1 -o "cannot use Icinga 2's state: .*" "$SB/hostile-eh.log" | cut -c1-140)"
    else
        fail "an API answer $mode (took $took s): $(cat "$SB/hostile-eh.log")"
    fi
done

# 3b. The watch loop's Icinga 2 reporter, as heal-listener runs it (a fixed environment): the
#     result reaches the passive service, quotes and backslashes intact, the password never in argv.
printf 'test-only\n' >"$SB/api.pass"
report_icinga2() { # NAME=VALUE... — the reporter as heal-listener runs it, these in its environment
    env -i PATH=/usr/bin:/bin HEAL_SERVICE=worker HEAL_VERB=restart "$@" "$SRC/listener/reporters/report-icinga2" \
        -a "https://127.0.0.1:$API_PORT" --name icinga-test -u test-admin -P "$SB/api.pass" \
        --ca "$SB/icerts/ca.crt" -n worker-host 2>&1
}
heal_worker_seen() { # "STATE OUTPUT" of the passive heal-worker in Icinga 2
    api /v1/objects/services '{"filter":"service.name==\"heal-worker\"","attrs":["state","last_check_result"]}' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["results"][0]["attrs"]; print(int(r["state"]), r["last_check_result"]["output"], end="")' 2>&1
}
out=$(report_icinga2 HEAL_STATE=2 HEAL_OUTCOME=refused HEAL_REASON=budget_exhausted \
      HEAL_ID=0f0e0d0c-0000-4000-8000-000000000001 \
      HEAL_MESSAGE='did not restart worker, refused: "budget" exhausted \ (request 0f0e0d0c)'); rc=$?
seen=$(heal_worker_seen)
if [ $rc -eq 0 ] && [ "$seen" = '2 did not restart worker, refused: "budget" exhausted \ (request 0f0e0d0c)' ]; then
    pass "report-icinga2 sets the passive heal-worker CRITICAL with the message intact: $seen"
else
    fail "report-icinga2 (exit $rc): $out; Icinga 2 has: $seen"
fi
# Long messages: backslashes whose escapes a cut after escaping would split (once a lone
# backslash: invalid JSON, refused), and a multi-byte character across the cut. Cut before
# escaping, at 1000 bytes on a character boundary: Icinga 2 takes both.
for text in '"a\\" * 700' '"x" + "é" * 600'; do
    long=$(python3 -c "print($text, end='')")
    want=$(python3 -c "print(($text).encode()[:1000].decode('utf-8', 'ignore'), end='')")
    out=$(report_icinga2 HEAL_STATE=1 HEAL_ID=x HEAL_MESSAGE="$long"); rc=$?
    seen=$(heal_worker_seen)
    if [ $rc -eq 0 ] && [ "$seen" = "1 $want" ]; then
        pass "report-icinga2 cuts a long message (python: $text) at 1000 bytes before escaping it: Icinga 2 took it (${#want} characters)"
    else
        fail "report-icinga2 with a long message ($text, exit $rc): $(printf '%s' "$out" | cut -c1-200); Icinga 2 has: $(printf '%s' "$seen" | cut -c1-200)"
    fi
done
out=$(env -i PATH=/usr/bin:/bin HEAL_SERVICE=worker HEAL_STATE=0 HEAL_MESSAGE=x \
      "$SRC/listener/reporters/report-icinga2" -a "https://127.0.0.1:$API_PORT" --name icinga-test -u test-admin -P "$SB/api.pass" -n worker-host 2>&1); rc=$?
if [ $rc -ne 0 ] && [ -n "$out" ]; then
    pass "report-icinga2 verifies the API's certificate (the system store does not know this CA): exit $rc"
else
    fail "report-icinga2 without --ca succeeded against a private CA: $out"
fi

# 4. The API stopped: no heal, and the log says why.
kill "$ICINGA_PID" 2>/dev/null
i=0; while api /v1/objects/hosts >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
out=$("$BUILD/heal-event-handler" --icinga2-url "https://127.0.0.1:$API_PORT" --icinga2-ca "$SB/icerts/ca.crt" \
      --icinga2-name icinga-test --icinga2-cert "$SB/icerts/heal-event-handler.crt" --icinga2-key "$SB/icerts/heal-event-handler.key" \
      --client-config "$SB/heal-ctl.ini" --state-dir "$SB/eh-down" --log "$SB/down.log" --host-name worker-host \
      --nagios-service worker CRITICAL HARD 1 127.0.0.1 worker 2>&1); rc=$?
if grep -q "blocked: CRITICAL HARD attempt 1, restart worker on worker-host: cannot use Icinga 2's state: Icinga 2's API at https://127.0.0.1:$API_PORT: " "$SB/down.log" &&
   grep -q "cannot tell the monitoring" "$SB/down.log" && [ $rc -ne 0 ]; then
    pass "the API down: no heal, the log says why, exit $rc: $(grep -m1 blocked "$SB/down.log" | cut -c1-220)"
else
    fail "API down (exit $rc): $out $(cat "$SB/down.log")"
fi
exit $failed
