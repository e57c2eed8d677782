#!/bin/sh
# The fleet guard end to end with real Debian nagios4: four Nagios hosts on 127.0.0.11-14, each
# with a worker and a heal-listener. The listeners' certificate names web1..web4 and no address:
# the handler connects to $HOSTADDRESS$ and verifies $HOSTNAME$ (host w4: its _HEAL_NAME, web4).
#   1. kill one worker: healed, as always
#   2. kill three of four: nothing restarted, exactly one page per problem naming the guard
#   3. --fleet-budget 2/1h, workers killed one after another: the third is not healed, and the
#      page names the fleet budget
#   4. --dry-run: a comment, no restart
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
sb_e2e_setup fleet nagios4 nagios4-core
TOP=$SB
# The workers are daemons of their restart scripts: stopped here, not by sb_cleanup.
trap 'for f in "$TOP"/h*/worker/worker.pid; do [ -f "$f" ] && kill "$(cat "$f")"; done 2>/dev/null
      sb_cleanup; [ "${KEEP:-0}" = 1 ] || rm -rf "$TOP"' EXIT
failed=0
pass() { echo "PASS fleet: $1"; }
fail() { echo "FAIL fleet: $1"; failed=1; }
NLOG=$TOP/nagios/nagios.log
EHLOG=$TOP/event-handler.log

"$SRC/scripts/heal-dev-certs" --san "DNS:web1,DNS:web2,DNS:web3,DNS:web4" --client ops "$TOP/certs" >/dev/null
WORKER_PORT=$(sb_free_port)
LISTENER_PORT=$(sb_free_port)  # the same port on each host's address, as in a real fleet
name() { [ "$1" = 4 ] && echo w4 || echo "web$1"; }
for n in 1 2 3 4; do
    SB=$TOP/h$n
    mkdir -p "$SB"
    ln -s ../certs "$SB/certs"
    WORKER_ADDR=127.0.0.1$n LISTENER_ADDR=127.0.0.1$n
    sb_worker_scripts
    sb_worker_start
    sb_listener_start || { fail "heal-listener on 127.0.0.1$n did not start"; cat "$SB/listener.log"; exit 1; }
done
SB=$TOP
sb_client_configs

fleet_objects() {
    : >"$SB/nagios/objects.cfg"
    for n in 1 2 3 4; do
        heal_name=
        [ "$n" = 4 ] && heal_name="_HEAL_NAME            web4"
        cat >>"$SB/nagios/objects.cfg" <<EOF
define host {
    host_name             $(name $n)
    address               127.0.0.1$n
    max_check_attempts    1
    check_period          24x7
    contacts              oncall
    notification_period   24x7
    notification_interval 0
    $heal_name
}
define service {
    use                 heal-service
    host_name           $(name $n)
    service_description worker
    check_command       check_worker!$WORKER_PORT
    event_handler       heal-event-handler!worker
}
EOF
    done
}

# Nagios with these handler options and its own state folder (a fresh fleet memory).
nagios_with() { # STATE-DIR RETRY-INTERVAL [HANDLER OPTIONS]
    [ -n "${SB_NAGIOS_PID:-}" ] && sb_nagios_stop
    SB_EH_STATE=$1 SB_RETRY=$2 SB_EH_OPTS=${3:-}
    sb_nagios_base
    fleet_objects
    sb_nagios_start || { fail "nagios4 did not start"; cat "$SB/nagios/verify.log"; exit 1; }
    for n in 1 2 3 4; do
        sb_wait_service_ok worker 20 "$(name $n)" || { fail "$(name $n) never OK in Nagios"; exit 1; }
    done
}
kill_worker() { kill "$(cat "$TOP/h$1/worker/worker.pid")"; }
restarts() { grep '"record":"final"' "$TOP/h$1/audit.jsonl" 2>/dev/null | grep -c '"verb":"restart"'; }
pages() { grep -c "EXTERNAL COMMAND: SEND_CUSTOM_SVC_NOTIFICATION;$1;worker;" "$NLOG"; }
show() { printf '    | %s\n' "$@"; }

# 2. Three of four down (a shared dependency, say): nothing restarted, one page per problem.
nagios_with eh-wide 2
for n in 1 2 3; do kill_worker $n; done
ok=1
for n in 1 2 3; do
    h=$(name $n)
    if line=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: SEND_CUSTOM_SVC_NOTIFICATION;$h;worker;2;heal;fleet guard: widespread failure: " 25); then
        case $line in
            *" of 4 'worker' services are not OK (--max-unhealthy 25%: at most 1). Not restarting worker on $h.") show "$line" ;;
            *) fail "the page for $h does not say it in words: $line"; ok=0 ;;
        esac
    else
        fail "no widespread-failure page for $h"; ok=0
    fi
done
for n in 1 2 3; do
    h=$(name $n)
    sb_wait_for "$EHLOG" "no action: CRITICAL HARD attempt 3, restart worker on $h (already decided for this problem: paged: widespread failure" 25 >/dev/null ||
        { fail "$h: the handler's HARD decision is missing"; ok=0; }
done
for n in 1 2 3; do
    h=$(name $n)
    [ "$(pages "$h")" -eq 1 ] || { fail "$h got $(pages "$h") pages (want exactly 1)"; ok=0; }
    [ "$(restarts $n)" -eq 0 ] || { fail "$h was restarted $(restarts $n) times"; ok=0; }
done
[ $ok = 1 ] && pass "3 of 4 workers down: nothing restarted, exactly one page per problem naming the guard"
grep -F "SERVICE NOTIFICATION: oncall;web1;worker;CUSTOM (CRITICAL)" "$NLOG" | head -n 1 | sed 's/^/    | /'
for n in 1 2 3; do "$TOP/h$n/worker/restart" >/dev/null; done  # the human fixed the dependency
for n in 1 2 3; do sb_wait_service_ok worker 20 "$(name $n)" || fail "$(name $n) not OK after its manual restart"; done

# 1 and 3. A fleet budget of 2: the first two heals happen (w4 through its _HEAL_NAME), the third
#    is blocked and pages.
nagios_with eh-budget 1 "--fleet-budget 2/1h"
heal_one() { # N — kill the worker on host N, expect the heal and Nagios' OK
    h=$(name $1)
    before=$(restarts $1)
    kill_worker $1
    if line=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: ADD_SVC_COMMENT;$h;worker;1;heal;heal: restart worker done, verified healthy after" 25) &&
        sb_wait_for "$NLOG" "SERVICE ALERT: $h;worker;OK;" 20 >/dev/null && [ "$(restarts $1)" -eq $((before + 1)) ]; then
        pass "worker on $h killed: healed, verified, OK again ($(printf '%s' "$line" | sed 's/.*heal: //' | cut -c1-70)...)"
    else
        fail "worker on $h was not healed: $(tail -n 3 "$EHLOG")"
    fi
}
heal_one 4
grep -q "acting: CRITICAL SOFT attempt 2, restart worker on w4 (127.0.0.14, certificate name web4; 1 of 4 'worker' services not OK)" "$EHLOG" &&
    pass "w4 connected to its address and verified its _HEAL_NAME (web4)" || fail "w4: $(grep 'on w4' "$EHLOG" | tail -n 2)"
heal_one 1
kill_worker 2
if line=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: SEND_CUSTOM_SVC_NOTIFICATION;web2;worker;2;heal;fleet guard: fleet budget spent: 2 heals in the last 1h (--fleet-budget 2/1h). Not restarting worker on web2." 25); then
    show "$line"
    sb_wait_for "$NLOG" "SERVICE NOTIFICATION: oncall;web2;worker;CUSTOM (CRITICAL)" 10 | sed 's/^/    | /'
    sb_wait_for "$EHLOG" "no action: CRITICAL HARD attempt 3, restart worker on web2" 20 >/dev/null
    if [ "$(restarts 2)" -eq 0 ] && [ "$(pages web2)" -eq 1 ]; then
        pass "--fleet-budget 2/1h: the third heal is blocked, one page names the budget"
    else
        fail "web2: $(restarts 2) restarts, $(pages web2) pages"
    fi
else
    fail "no fleet-budget page for web2: $(tail -n 3 "$EHLOG")"
fi
"$TOP/h2/worker/restart" >/dev/null
sb_wait_service_ok worker 20 web2 || fail "web2 not OK after its manual restart"

# 4. --dry-run: the decision as a comment; nothing restarted, nobody paged.
nagios_with eh-dry 1 "--dry-run"
kill_worker 3
if line=$(sb_wait_for "$NLOG" "EXTERNAL COMMAND: ADD_SVC_COMMENT;web3;worker;1;heal;dry run: would restart worker on web3 after CRITICAL SOFT attempt 2 (1 of 4 'worker' services not OK). Nothing was done." 25) &&
    sb_wait_for "$NLOG" "SERVICE ALERT: web3;worker;CRITICAL;HARD;3;" 20 >/dev/null &&
    sb_wait_for "$EHLOG" "no action: CRITICAL HARD attempt 3, restart worker on web3 (already decided for this problem: dry run:" 20 >/dev/null; then
    if [ "$(restarts 3)" -eq 0 ] && [ "$(pages web3)" -eq 0 ] &&
        ! "$BUILD/check_worker" -H 127.0.0.13 -p "$WORKER_PORT" -t 1 >/dev/null; then
        pass "--dry-run: a comment, no restart, no page"
        show "$line"
    else
        fail "dry run: $(restarts 3) restarts, $(pages web3) pages"
    fi
else
    fail "no dry-run comment for web3: $(tail -n 3 "$EHLOG")"
fi

if [ "$failed" = 1 ]; then
    echo "--- nagios.log"; tail -40 "$NLOG"
    echo "--- event-handler.log"; tail -40 "$EHLOG"
fi
exit $failed
