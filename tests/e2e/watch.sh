#!/bin/sh
# End to end, heal where the fault is: heal-listener's watch loop heals a killed worker by itself
# and tells real nagios4 through Debian's NSCA (listener/reporters/report-nsca -> send_nsca ->
# nsca -> Nagios' command file); a crash loop ends in quarantine, CRITICAL in Nagios; a worker
# healthy on its host but unreachable for Nagios is not restarted (confirm = yes) and the page
# says why. Prints PASS/FAIL/SKIP/MEASURE lines.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
sb_e2e_setup watch nagios4 nagios4-core
for tool in /usr/sbin/nsca /usr/sbin/send_nsca; do
    [ -x $tool ] || { echo "SKIP watch: $tool is not installed (apt-get install nsca nsca-client) — the watch loop's reports WERE NOT TESTED"; exit 0; }
done
failed=0
pass() { echo "PASS watch: $1"; }
fail() { echo "FAIL watch: $1"; failed=1; }
now() { date +%s.%N; }
NLOG=$SB/nagios/nagios.log

sb_certs
sb_worker_scripts
sb_worker_start
touch "$SB/worker/crashloop"
"$SB/worker/crashy-restart" >/dev/null
cat >"$SB/worker/crashy-status" <<EOF
#!/bin/sh
exec "$BUILD/check_worker" -H 127.0.0.1 -p $CRASHY_PORT -t 1
EOF
cat >"$SB/worker/calm-restart" <<EOF
#!/bin/sh
echo "calm restarted by \$HEAL_PEER" >>"$SB/worker/calm.log"
EOF
chmod 0755 "$SB/worker/crashy-status" "$SB/worker/calm-restart"

# NSCA on loopback, writing to Nagios' command file; send_nsca with the same password.
NSCA_PORT=$(sb_free_port)
cat >"$SB/nsca.cfg" <<EOF
pid_file=$SB/nsca.pid
server_address=127.0.0.1
server_port=$NSCA_PORT
nsca_user=$(id -un)
nsca_group=$(id -gn)
debug=0
command_file=$SB/nagios/rw/nagios.cmd
alternate_dump_file=$SB/nsca.dump
aggregate_writes=0
append_to_file=0
max_packet_age=30
password=heal-e2e-only
decryption_method=1
EOF
printf 'password=heal-e2e-only\nencryption_method=1\n' >"$SB/send_nsca.cfg"

mkdir -p "$SB/state"
cat >"$SB/heal.ini" <<EOF
[listener]
listen = 127.0.0.1:0
allow = 127.0.0.1, ::1
cert = certs/server.crt
key = certs/server.key
client_ca = certs/ca.crt
audit_log = audit.jsonl
state_dir = state
allow_root = yes
timeout = 10
report = $SRC/listener/reporters/report-nsca -H 127.0.0.1 -p $NSCA_PORT -c $SB/send_nsca.cfg -n worker-host

[service worker]
restart = worker/restart
status = worker/status
watch = 200ms
heal_after = 2

[service crashy]
restart = worker/crashy-restart
status = worker/crashy-status
watch = 200ms
heal_after = 2
budget = 3/1h

[service calm]
restart = worker/calm-restart
status = worker/status
confirm = yes

[client nagios]
cn = heal-ctl
verbs = status, restart

[client ops]
cn = ops
verbs = *
admin = yes
EOF
sb_listener_run || { fail "heal-listener did not start"; cat "$SB/listener.log"; exit 1; }

DEAD_PORT=$(sb_free_port)
sb_nagios_base
cat >"$N/objects.cfg" <<EOF
define host {
    host_name             worker-host
    alias                 sample worker host
    address               127.0.0.1
    max_check_attempts    1
    check_period          24x7
    contacts              oncall
    notification_period   24x7
    notification_interval 0
}
define command {
    command_name passive-only
    command_line /bin/true
}
define service {
    name                  heal-passive
    register              0
    check_command         passive-only
    active_checks_enabled 0
    passive_checks_enabled 1
    max_check_attempts    1
    check_interval        60
    retry_interval        60
    check_period          24x7
    notification_period   24x7
    notification_interval 0
    notification_options  c,r
    contacts              oncall
}
define service {
    use                 heal-passive
    host_name           worker-host
    service_description heal-worker
}
define service {
    use                 heal-passive
    host_name           worker-host
    service_description heal-crashy
}
; The check cannot reach calm (a closed port) while calm is healthy on its host.
define service {
    use                 heal-service
    host_name           worker-host
    service_description calm
    check_command       check_worker!$DEAD_PORT
    event_handler       heal-event-handler!calm
}
EOF
sb_nagios_start || { fail "nagios4 did not start"; cat "$SB/nagios/stdout.log"; exit 1; }
sb_spawn "$SB/nsca.log" /usr/sbin/nsca -f -c "$SB/nsca.cfg" --single >/dev/null
i=0; while ! grep -q . "$SB/nsca.pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

plugin_output() { # SERVICE — its plugin_output in status.dat
    awk -v svc="$1" '
        /servicestatus \{/ { b = 1; d = ""; o = "" }
        b && /^[ \t]*service_description=/ { sub(/^[^=]*=/, ""); d = $0 }
        b && /^[ \t]*plugin_output=/ { sub(/^[^=]*=/, ""); o = $0 }
        b && /^[ \t]*}/ { if (d == svc) print o; b = 0 }' "$SB/nagios/status.dat" 2>/dev/null
}

# 1. The worker is killed: the listener heals it by itself, Nagios sees the passive result.
if sb_wait_for "$SB/listener.log" "watching worker every 0.2s; restart after 2 non-OK status runs in a row" 5 >/dev/null; then
    pass "heal-listener watches the worker (every 0.2 s, restart after 2 failures)"
else
    fail "the listener does not say it watches the worker: $(head -20 "$SB/listener.log")"
fi
old_pid=$(cat "$SB/worker/worker.pid")
t_kill=$(now)
kill "$old_pid"
healthy=""
i=0
while [ $i -lt 100 ]; do
    new_pid=$(cat "$SB/worker/worker.pid")
    if [ "$new_pid" != "$old_pid" ] && "$BUILD/check_worker" -H 127.0.0.1 -p "$WORKER_PORT" -t 1 >/dev/null; then
        healthy=$(now); break
    fi
    sleep 0.05; i=$((i + 1))
done
if [ -n "$healthy" ]; then
    pass "the killed worker was restarted by the listener itself (new pid $new_pid)"
    echo "MEASURE watch kill-to-healthy (200ms x 2, no Nagios round trip): $(awk -v a="$t_kill" -v b="$healthy" 'BEGIN { printf "%.2f", b - a }') s"
else
    fail "the worker was not restarted within 5 s of the kill"
fi
# The worker may answer before its restart command has returned and the final record is written.
i=0
until final=$(grep '"record":"final"' "$SB/audit.jsonl" | grep '"client":"watch"' | grep '"service":"worker"' | head -1)
      [ -n "$final" ] || [ $i -ge 100 ]; do
    sleep 0.1; i=$((i + 1))
done
id=$(printf '%s' "$final" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
case $final in
    *'"outcome":"ok"'*'"trigger":"2 non-OK status runs in a row: '*) pass "audited as client watch with its trigger (id $id)" ;;
    *) fail "no audited watch restart of the worker: $final" ;;
esac
# Nagios logs the command as NSCA wrote it (its PASSIVE SERVICE CHECK line shows the previous output).
# Without verify, the restart is a WARNING until a status run sees the worker OK; then OK.
if line=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;worker-host;heal-worker;1;restart worker by the watch loop: done, not yet seen healthy" 15); then
    case $line in
        *"request $id)"*) pass "Nagios got the passive result through NSCA (WARNING until seen OK), naming the request: ${line#*PROCESS_SERVICE_CHECK_RESULT;}" ;;
        *) fail "the passive result does not name request $id: $line" ;;
    esac
else
    fail "no passive result for heal-worker in Nagios within 15 s ($(tail -3 "$SB/listener.log"))"
fi
if line=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;worker-host;heal-worker;0;worker is healthy again" 15); then
    pass "then OK once the loop saw it healthy: ${line#*PROCESS_SERVICE_CHECK_RESULT;}"
else
    fail "no OK passive result for heal-worker after the restart"
fi
i=0  # status.dat is written once a second
until out=$(plugin_output heal-worker); case $out in *"healthy again"*) true ;; *) [ $i -ge 50 ] ;; esac; do
    sleep 0.1; i=$((i + 1))
done
case $out in
    *"healthy again"*) pass "Nagios' status shows it: $out" ;;
    *) fail "status.dat's heal-worker output: '$out'" ;;
esac

# 2. The crash loop: three restarts (budget 3/1h), then a refusal that quarantines; Nagios shows
#    CRITICAL for it, and the loop stops healing.
if line=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;worker-host;heal-crashy;2;did not restart crashy, refused: budget exhausted" 60) &&
   sb_wait_for "$NLOG" "SERVICE ALERT: worker-host;heal-crashy;CRITICAL;" 10 >/dev/null; then
    pass "the crash loop ends in quarantine, CRITICAL in Nagios: $(printf '%s' "${line#*heal-crashy;2;}" | cut -c1-160)"
else
    fail "no CRITICAL passive result for heal-crashy within 60 s"
fi
if sb_wait_for "$NLOG" "SERVICE ALERT: worker-host;heal-crashy;CRITICAL;HARD;1;" 10 >/dev/null &&
   sb_wait_for "$NLOG" "SERVICE NOTIFICATION: oncall;worker-host;heal-crashy;CRITICAL;" 10 >/dev/null; then
    pass "Nagios alerts and notifies on-call for the quarantine"
else
    fail "no HARD CRITICAL alert and notification for heal-crashy"
fi
crashy() { grep '"record":"final"' "$SB/audit.jsonl" | grep '"client":"watch"' | grep '"service":"crashy"'; }
sleep 1.5
ran=$(crashy | grep -c '"outcome":"ok"') refused=$(crashy | grep -c '"outcome":"refused"')
if [ "$ran" -eq 3 ] && [ "$refused" -eq 1 ]; then
    pass "3 restarts, 1 refusal, then no more heals nor refusals while quarantined"
else
    fail "crashy: $ran restarts and $refused refusals by the watch loop (want 3 and 1)"
fi
info=$("$BUILD/heal-ctl" -c "$SB/heal-ctl-ops.ini" -H 127.0.0.1 --json info crashy 2>&1)
case $info in
    *'"state":"not healing: quarantined: quarantined after 3 restarts in 1h"'*) pass "heal-ctl info shows the watch holding off" ;;
    *) fail "heal-ctl info crashy: $info" ;;
esac

# 3. A partition seen from Nagios: calm's check fails (a closed port) while calm is healthy on
#    its host. The event handler asks for a restart; the listener's second opinion refuses it,
#    and the page says the two disagree.
if page=$(sb_wait_for "$NLOG" "SERVICE NOTIFICATION: oncall;worker-host;calm;CUSTOM (CRITICAL)" 30); then
    case $page in
        *"the monitoring server and the host disagree"*) pass "the page says why: $(printf '%s' "${page#*;heal;}" | cut -c1-200)" ;;
        *) fail "the page does not say the views disagree: $page" ;;
    esac
else
    fail "no page for calm within 30 s ($(tail -5 "$SB/event-handler.log" 2>/dev/null))"
fi
if [ ! -e "$SB/worker/calm.log" ] && grep '"service":"calm"' "$SB/audit.jsonl" | grep -q '"reason":"healthy_here"'; then
    pass "calm was not restarted: refused healthy_here, audited"
else
    fail "calm: $(cat "$SB/worker/calm.log" 2>/dev/null) $(grep '"service":"calm"' "$SB/audit.jsonl" | tail -1)"
fi
sb_wait_for "$NLOG" "SERVICE EVENT HANDLER: worker-host;calm;CRITICAL;HARD;3;" 15 >/dev/null
# (HARD 3 may run while SOFT 2's call is still out: the remembered decision is then the claim,
# before the refusal is added to it.)
if sb_wait_for "$SB/event-handler.log" "already decided for this problem: restart at CRITICAL SOFT 2" 10 >/dev/null &&
   [ "$(grep '"service":"calm"' "$SB/audit.jsonl" | grep -c '"record":"final"')" -eq 1 ]; then
    pass "the decision is remembered for the problem: asked once"
else
    fail "calm asked more than once, or not remembered: $(grep calm "$SB/event-handler.log" | tail -3)"
fi

if [ "$failed" = 1 ]; then
    echo "--- nagios.log"; tail -40 "$NLOG"
    echo "--- event-handler.log"; cat "$SB/event-handler.log" 2>/dev/null
    echo "--- nsca.log"; tail -10 "$SB/nsca.log"
    echo "--- listener.log"; tail -30 "$SB/listener.log"
fi
exit $failed
