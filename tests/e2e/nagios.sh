#!/bin/sh
# End to end with real Debian nagios4: check_worker as the check, heal-event-handler as the
# event handler, heal-ctl -> heal-listener on loopback, a real worker. Prints PASS/FAIL/SKIP.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
sb_e2e_setup nagios nagios4 nagios4-core
failed=0
pass() { echo "PASS nagios: $1"; }
fail() { echo "FAIL nagios: $1"; failed=1; }
now() { date +%s.%N; }
NLOG=$SB/nagios/nagios.log

sb_certs
sb_worker_scripts
sb_worker_start
SB_CRASHY=1  # the crash-looping worker of section 4
touch "$SB/worker/crashloop"
"$SB/worker/crashy-restart" >/dev/null
sb_listener_start || { fail "heal-listener did not start"; cat "$SB/listener.log"; exit 1; }
sb_nagios_config
sb_nagios_start || { fail "nagios4 did not start"; cat "$SB/nagios/stdout.log"; exit 1; }

# 1. A healthy worker is OK in Nagios.
if sb_wait_service_ok worker 10; then
    pass "healthy worker is OK"
else
    fail "healthy worker is not OK after 10 s (status: $(sb_service_status worker))"
fi

# 1b. --check with the command line heal.cfg gives (Nagios' paths from its nagios.cfg): every
# item usable, against the running Nagios. Then a nagios.cfg that names a status file nobody
# writes: a problem, exit 1.
chk=$("$BUILD/heal-event-handler" --check --client-config "$SB/heal-ctl.ini" --nagios-cfg "$SB/nagios/nagios.cfg" \
      --state-dir "$SB/nagios/eh-state" --nagios-host worker-host --nagios-service worker 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$chk" | grep -q "^everything is usable$" &&
   printf '%s\n' "$chk" | grep -qF "ok       status file    $SB/nagios/status.dat (from nagios.cfg): readable" &&
   printf '%s\n' "$chk" | grep -qF "ok       command file   $SB/nagios/rw/nagios.cmd (from nagios.cfg): writable, Nagios reads it" &&
   printf '%s\n' "$chk" | grep -qF "ok       server name    the listener's certificate must name 'worker-host'"; then
    pass "heal-event-handler --check finds Nagios' files through nagios.cfg, all usable"
    printf '%s\n' "$chk" | sed 's/^/    | /'
else
    fail "heal-event-handler --check (exit $rc): $chk"
fi
sed "s|^status_file=.*|status_file=$SB/nagios/nobody-writes.dat|" "$SB/nagios/nagios.cfg" >"$SB/nagios/other.cfg"
chk=$("$BUILD/heal-event-handler" --check --client-config "$SB/heal-ctl.ini" --nagios-cfg "$SB/nagios/other.cfg" \
      --state-dir "$SB/nagios/eh-state" 2>&1); rc=$?
if [ $rc -eq 1 ] && printf '%s\n' "$chk" | grep -q "^  PROBLEM  status file    $SB/nagios/nobody-writes.dat (from nagios.cfg): .*No such file" &&
   printf '%s\n' "$chk" | grep -q "^1 problem$"; then
    pass "heal-event-handler --check names a status file that is not there, exit 1"
else
    fail "--check with a wrong status_file (exit $rc): $chk"
fi

# 2. Kill it: CRITICAL SOFT -> event handler -> heal-ctl -> heal-listener restart -> OK again.
old_pid=$(cat "$SB/worker/worker.pid")
t_kill=$(now)
kill "$old_pid"
if sb_wait_for "$NLOG" "SERVICE ALERT: worker-host;worker;CRITICAL;SOFT;1;" 15 >/dev/null; then
    pass "killed worker goes CRITICAL SOFT"
else
    fail "no CRITICAL SOFT alert after the kill"
fi
if sb_wait_for "$NLOG" "SERVICE EVENT HANDLER: worker-host;worker;CRITICAL;SOFT;2;" 15 >/dev/null; then
    pass "event handler fired on SOFT attempt 2"
else
    fail "event handler did not fire on SOFT 2"
fi
if recovery=$(sb_wait_for "$NLOG" "SERVICE ALERT: worker-host;worker;OK;" 30); then
    t_ok=$(now)
    pass "Nagios logged the recovery: $recovery"
    echo "MEASURE kill-to-recovery: $(awk -v a="$t_kill" -v b="$t_ok" 'BEGIN { printf "%.1f", b - a }') s"
else
    fail "no recovery within 30 s of the kill"
fi
comment=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: ADD_SVC_COMMENT;worker-host;worker;" 5)
id=$(printf '%s' "$comment" | sed -n 's/.*request id \([0-9a-f-]*\).*/\1/p')
if [ -n "$id" ] && grep -F "\"id\":\"$id\"" "$SB/audit.jsonl" | grep '"verb":"restart"' | grep '"service":"worker"' | grep -q '"outcome":"ok"'; then
    pass "the Nagios comment names the audited restart ($id)"
else
    fail "no ADD_SVC_COMMENT with an audited request id (comment: '$comment')"
fi
case $comment in
    *"done, verified healthy after "*" s after CRITICAL"*)
        if grep -F "\"id\":\"$id\"" "$SB/audit.jsonl" | grep '"record":"final"' | grep -q '"verified":true'; then
            pass "the listener verified the worker healthy, and the comment says so: ${comment##*;}"
        else
            fail "the comment says verified but the audit record does not"
        fi ;;
    *) fail "the comment does not say the restart was verified healthy: '$comment'" ;;
esac
diag=$("$BUILD/heal-ctl" -c "$SB/heal-ctl-ops.ini" -H 127.0.0.1 diagnostics "$id" 2>&1); rc=$?
case $comment in
    *"diagnostics: heal-ctl -H 127.0.0.1 diagnostics $id"*)
        if [ $rc -eq 0 ] && printf '%s' "$diag" | grep -q "process [0-9]*: gone"; then
            pass "the comment names the diagnostics, taken before the restart: $(printf '%s' "$diag" | grep 'process')"
            printf '%s\n' "$diag" | sed 's/^/    | /' 
        else
            fail "heal-ctl diagnostics $id (exit $rc): $diag"
        fi ;;
    *) fail "the comment does not name the diagnostics: '$comment'" ;;
esac
hist=$("$BUILD/heal-ctl" -c "$SB/heal-ctl-ops.ini" -H 127.0.0.1 history worker --limit 5 2>&1)
line=$(printf '%s\n' "$hist" | grep -F "$id")
case $line in
    *" restart "*" ok "*"nagios"*"verified"*"diagnostics"*) pass "heal-ctl history shows it: $line" ;;
    *) fail "heal-ctl history does not show $id as a verified restart with diagnostics: $hist" ;;
esac
new_pid=$(cat "$SB/worker/worker.pid")
if [ "$new_pid" != "$old_pid" ] && "$BUILD/check_worker" -H 127.0.0.1 -p "$WORKER_PORT" >/dev/null; then
    pass "a new worker process ($new_pid) answers"
else
    fail "the worker was not restarted"
fi

# 3. A worker whose restart script fails: the handler pages a human.
if sb_wait_for "$NLOG" "EXTERNAL COMMAND: SEND_CUSTOM_SVC_NOTIFICATION;worker-host;broken worker;" 20 >/dev/null &&
    sb_wait_for "$NLOG" "SERVICE NOTIFICATION: oncall;worker-host;broken worker;CUSTOM (CRITICAL)" 10 >/dev/null; then
    pass "failed restart escalates with a custom notification"
else
    fail "no custom notification for the broken worker"
fi
sb_wait_for "$NLOG" "SERVICE EVENT HANDLER: worker-host;broken worker;CRITICAL;HARD;3;" 10 >/dev/null
# The handler's own decision on HARD, not a guess at how long it takes.
sb_wait_for "$SB/event-handler.log" "no action: CRITICAL HARD attempt 3, restart broken" 10 >/dev/null
n=$(grep '"record":"final"' "$SB/audit.jsonl" | grep '"verb":"restart"' | grep -c '"service":"broken"')
if [ "$n" -eq 1 ]; then
    pass "acted once per problem (no second restart on HARD)"
else
    fail "broken was restarted $n times"
fi
# 4. A worker that dies right after every restart: restarted exactly `budget` (3) times, then the
#    listener refuses and quarantines, the handler pages with the reason in words, info shows the
#    quarantine, only an admin's reset lifts it, and the next heal works.
ctl_nagios() { "$BUILD/heal-ctl" -c "$SB/heal-ctl.ini" -H 127.0.0.1 "$@"; }
ctl_ops() { "$BUILD/heal-ctl" -c "$SB/heal-ctl-ops.ini" -H 127.0.0.1 "$@"; }
crashy_finals() { grep '"record":"final"' "$SB/audit.jsonl" | grep '"service":"crashy"' | grep '"verb":"restart"'; }
if page=$(sb_wait_for "$NLOG" "SERVICE NOTIFICATION: oncall;worker-host;crashy;CUSTOM (CRITICAL)" 90); then
    if printf '%s' "$page" | grep -q "quarantined after 3 restarts in 1h"; then
        pass "the crash loop pages a human in words: $(printf '%s' "$page" | sed 's/.*;heal;//' | cut -c1-150)"
    else
        fail "the page does not say why: $page"
    fi
else
    fail "no page for the crash-looping worker within 90 s"
fi
ok_runs=$(crashy_finals | grep -c '"outcome":"ok"')
exhausted=$(crashy_finals | grep -c '"reason":"budget_exhausted"')
if [ "$ok_runs" -eq 3 ] && [ "$exhausted" -eq 1 ]; then
    pass "restarted exactly 3 times (budget 3/1h), then refused budget_exhausted"
else
    fail "crashy: $ok_runs restarts ran, $exhausted budget refusals (want 3 and 1)"
fi
info=$(ctl_ops info 2>&1)
if printf '%s\n' "$info" | grep '^crashy ' | grep -q "QUARANTINED since .*quarantined after 3 restarts in 1h"; then
    pass "heal-ctl info shows the quarantine"
else
    fail "heal-ctl info: $info"
fi
out=$(ctl_nagios reset crashy 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "reset needs an admin"; then
    pass "Nagios' certificate may not reset"
else
    fail "reset by the nagios client: exit $rc: $out"
fi
rm -f "$SB/worker/crashloop"  # the admin fixed the cause
out=$(ctl_ops reset crashy 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "quarantine lifted"; then
    pass "an admin's reset lifts the quarantine"
else
    fail "reset by ops: exit $rc: $out"
fi
# A fresh problem for Nagios: a passive OK closes the old one (the handler forgets it), the
# next active check finds crashy down, and the handler heals it.
seen=$(wc -l <"$NLOG")
since_reset() { tail -n "+$((seen + 1))" "$NLOG" >"$SB/nagios-after-reset.log"; echo "$SB/nagios-after-reset.log"; }
wait_after_reset() { # TEXT TIMEOUT
    _end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -le "$_end" ]; do
        grep -F -m1 -- "$1" "$(since_reset)" && return 0
        sleep 0.2
    done
    return 1
}
printf '[%s] PROCESS_SERVICE_CHECK_RESULT;worker-host;crashy;0;quarantine reset by an admin\n' "$(date +%s)" \
    >"$SB/nagios/rw/nagios.cmd"
if wait_after_reset "EXTERNAL COMMAND: ADD_SVC_COMMENT;worker-host;crashy;" 30 >/dev/null &&
    [ "$(crashy_finals | grep -c '"outcome":"ok"')" -eq 4 ] &&
    wait_after_reset "SERVICE ALERT: worker-host;crashy;OK;SOFT" 15 >/dev/null; then
    pass "after the reset the next heal works and crashy stays OK"
else
    fail "no heal after the reset ($(crashy_finals | tail -n 1 | cut -c1-200))"
fi

# 5. Human intent first. Passive results drive the worker's state here (its active checks off),
#    so each step is a known Nagios event, not a race with the check schedule.
cmd() { printf '[%s] %s\n' "$(date +%s)" "$1" >"$SB/nagios/rw/nagios.cmd"; }
passive() { cmd "PROCESS_SERVICE_CHECK_RESULT;worker-host;worker;$1;$2"; }
worker_restarts() { grep '"record":"final"' "$SB/audit.jsonl" | grep '"verb":"restart"' | grep '"outcome":"ok"' | grep -c '"service":"worker"'; }
mark() { MARK_N=$(wc -l <"$NLOG"); MARK_E=$(wc -l <"$SB/event-handler.log"); }
since() { # FILE: its lines after the mark
    case $1 in "$NLOG") tail -n "+$((MARK_N + 1))" "$NLOG" ;; *) tail -n "+$((MARK_E + 1))" "$1" ;; esac
}
wait_new() { # FILE TEXT TIMEOUT
    _end=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -le "$_end" ]; do
        since "$1" | grep -F -m1 -- "$2" && return 0
        sleep 0.1
    done
    return 1
}
wait_status() { # AWK-CONDITION on the worker's servicestatus block or a downtime block, TIMEOUT
    _end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -le "$_end" ]; do
        grep -q -- "$1" "$SB/nagios/status.dat" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# Drives the worker from OK to CRITICAL HARD; every alert seen in Nagios' log.
to_hard() { # WHY
    for _a in "SOFT;1" "SOFT;2" "HARD;3"; do
        passive 2 "$1"
        wait_new "$NLOG" "SERVICE ALERT: worker-host;worker;CRITICAL;$_a;" 10 >/dev/null || return 1
    done
}
recover() {
    passive 0 "worker OK again"
    wait_new "$NLOG" "SERVICE ALERT: worker-host;worker;OK;" 10 >/dev/null
}
sb_wait_service_ok worker 20
cmd "DISABLE_SVC_CHECK;worker-host;worker"
before=$(worker_restarts)

# 5a. A service downtime: held at SOFT 2, said once in a comment, not again at HARD; nobody paged.
mark
t=$(date +%s)
cmd "SCHEDULE_SVC_DOWNTIME;worker-host;worker;$t;$((t + 3600));1;0;3600;ops;disk swap"
wait_new "$NLOG" "SERVICE DOWNTIME ALERT: worker-host;worker;STARTED" 10 >/dev/null
wait_status "comment=disk swap" 10  # the handler reads who and why from status.dat
to_hard "down for the disk swap" || fail "the passive results did not reach CRITICAL HARD"
held="heal: held, worker on worker-host is in scheduled downtime (ops: disk swap). Not restarting worker on worker-host."
if wait_new "$NLOG" "ADD_SVC_COMMENT;worker-host;worker;1;heal;$held" 10 >/dev/null &&
   wait_new "$SB/event-handler.log" "held: CRITICAL HARD attempt 3, restart worker on worker-host: worker on worker-host is in scheduled downtime (ops: disk swap) (event 2 of this problem held; said once)" 10 >/dev/null; then
    pass "a service downtime holds the heal and says why once: $held"
else
    fail "no hold comment for the service downtime: $(since "$SB/event-handler.log" | tail -3)"
fi
n=$(since "$NLOG" | grep -c "ADD_SVC_COMMENT;worker-host;worker;1;heal;heal: held")
pages=$(since "$NLOG" | grep -c "SEND_CUSTOM_SVC_NOTIFICATION;worker-host;worker;\|SERVICE NOTIFICATION: oncall;worker-host;worker;")
if [ "$n" -eq 1 ] && [ "$pages" -eq 0 ] && [ "$(worker_restarts)" -eq "$before" ]; then
    pass "held: one comment for the problem, no page, no restart"
else
    fail "during the downtime: $n hold comments, $pages pages, $(( $(worker_restarts) - before )) restarts"
fi
# The window ends with the service still down: Nagios runs no event handler (no state change)
# and notifies a human; heal does nothing.
mark
cmd "DEL_DOWNTIME_BY_HOST_NAME;worker-host;worker"
wait_new "$NLOG" "SERVICE DOWNTIME ALERT: worker-host;worker;CANCELLED" 10 >/dev/null
passive 2 "still down after the window"
if wait_new "$NLOG" "SERVICE NOTIFICATION: oncall;worker-host;worker;CRITICAL" 15 >/dev/null &&
   ! since "$NLOG" | grep -q "SERVICE EVENT HANDLER: worker-host;worker;" && [ "$(worker_restarts)" -eq "$before" ]; then
    pass "a downtime that ends with the service down heals nothing: Nagios notifies a human"
else
    fail "after the downtime: $(since "$NLOG" | grep 'worker-host;worker;' | tail -4)"
fi
recover

# 5b. A host downtime holds every service of the host.
mark
t=$(date +%s)
cmd "SCHEDULE_HOST_DOWNTIME;worker-host;$t;$((t + 3600));1;0;3600;ops;rack move"
wait_new "$NLOG" "HOST DOWNTIME ALERT: worker-host;STARTED" 10 >/dev/null
wait_status "comment=rack move" 10
to_hard "down for the rack move" >/dev/null
held="heal: held, host worker-host is in scheduled downtime (ops: rack move). Not restarting worker on worker-host."
if wait_new "$NLOG" "ADD_SVC_COMMENT;worker-host;worker;1;heal;$held" 10 >/dev/null && [ "$(worker_restarts)" -eq "$before" ]; then
    pass "a host downtime holds the heal: $held"
else
    fail "no hold for the host downtime: $(since "$SB/event-handler.log" | tail -3)"
fi
cmd "DEL_DOWNTIME_BY_HOST_NAME;worker-host"
wait_new "$NLOG" "HOST DOWNTIME ALERT: worker-host;CANCELLED" 10 >/dev/null
recover

# 5c. An acknowledged problem: a human has taken it.
mark
passive 2 "looking into it"
wait_new "$NLOG" "SERVICE ALERT: worker-host;worker;CRITICAL;SOFT;1;" 10 >/dev/null
cmd "ACKNOWLEDGE_SVC_PROBLEM;worker-host;worker;1;0;0;ops;replacing the disk"
wait_status "problem_has_been_acknowledged=1" 10
passive 2 "looking into it"
held="heal: held, the problem of worker on worker-host is acknowledged (ops: replacing the disk). Not restarting worker on worker-host."
if wait_new "$NLOG" "ADD_SVC_COMMENT;worker-host;worker;1;heal;$held" 10 >/dev/null && [ "$(worker_restarts)" -eq "$before" ]; then
    pass "an acknowledged problem holds the heal: $held"
else
    fail "no hold for the acknowledgement: $(since "$SB/event-handler.log" | tail -3)"
fi
recover

# 5d. Outside any window the next problem heals as before.
mark
cmd "ENABLE_SVC_CHECK;worker-host;worker"
kill "$(cat "$SB/worker/worker.pid")"
if wait_new "$NLOG" "ADD_SVC_COMMENT;worker-host;worker;1;heal;heal: restart worker done" 30 >/dev/null &&
   [ "$(worker_restarts)" -eq $((before + 1)) ]; then
    pass "after the windows the next problem heals as before"
else
    fail "no heal after the windows ($(since "$SB/event-handler.log" | tail -3))"
fi

# 5e. A hold on the host (heal-ctl pause) meets the event handler too: a comment, no page.
sb_wait_service_ok worker 20
mark
ctl_ops pause worker --for 10m --reason "swapping the disk" >/dev/null
before=$(worker_restarts)
kill "$(cat "$SB/worker/worker.pid")"
if comment=$(wait_new "$NLOG" "ADD_SVC_COMMENT;worker-host;worker;1;heal;heal: held on the host, worker is paused by client ops until " 30) &&
   printf '%s' "$comment" | grep -qF "(swapping the disk): only admins' heals run" &&
   ! since "$NLOG" | grep -q "SEND_CUSTOM_SVC_NOTIFICATION;worker-host;worker;" && [ "$(worker_restarts)" -eq "$before" ]; then
    pass "a pause on the host holds the event handler's heal: a comment, no page: ${comment##*;heal;}"
else
    fail "pause and the event handler: $(since "$SB/event-handler.log" | tail -3)"
fi
ctl_ops resume worker >/dev/null
ctl_ops restart worker >/dev/null  # the operator brings it back

if [ "$failed" = 1 ]; then
    echo "--- nagios.log"; tail -40 "$NLOG"
    echo "--- event-handler.log"; cat "$SB/event-handler.log" 2>/dev/null
    echo "--- listener.log"; tail -20 "$SB/listener.log"
fi
exit $failed
