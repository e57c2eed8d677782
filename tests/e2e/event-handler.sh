#!/bin/sh
# heal-event-handler's policy and input handling, run as Nagios would run it. heal-ctl is the
# real one, pointed at a port where nothing listens: when the handler acts, heal-ctl answers
# "no answer" (exit 3) and the handler must escalate; when it must not act, nothing runs.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HEAL_BUILD:-$SRC/build}
T=$(mktemp -d /tmp/heal-eh-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
failed=0
pass() { echo "PASS event-handler: $1"; }
fail() { echo "FAIL event-handler: $1"; failed=1; }
mkfifo "$T/nagios.cmd"
. "$SRC/scripts/heal-sandbox.sh"
port=$(sb_free_port)  # below the ephemeral range: no port-0 bind or connection is given it
"$SRC/scripts/heal-dev-certs" "$T/certs" >/dev/null
printf '[client]\nport = %s\ncert = certs/client.crt\nkey = certs/client.key\nca = certs/ca.crt\n' "$port" >"$T/ctl.ini"

eh() { # ARGS... — runs the handler, logging to $T/log; we play Nagios on the FIFO
    : >"$T/log"
    # Open read-write (never blocks): the handler's command lands in the pipe buffer, and we
    # take what is there once it has exited, without waiting or guessing how long to wait.
    exec 4<>"$T/nagios.cmd"
    "$SRC/scripts/heal-event-handler" --heal-ctl "$BUILD/heal-ctl" --client-config "$T/ctl.ini" \
        --command-file "$T/nagios.cmd" --state-dir "$T/state" --log "$T/log" --timeout 2 "$@"
    dd iflag=nonblock bs=65536 <&4 >>"$T/cmds" 2>/dev/null
    exec 4>&-
}
logged() { grep -q -F -- "$1" "$T/log"; }

eh OK HARD 1 127.0.0.1 web
logged "recovered: OK HARD attempt 1" && ! logged acting && pass "OK only logs" || fail "OK: $(cat "$T/log")"

eh CRITICAL SOFT 1 127.0.0.1 web
logged "waiting for SOFT attempt 2" && ! logged acting && pass "SOFT 1 waits" || fail "SOFT 1: $(cat "$T/log")"

eh WARNING SOFT 2 127.0.0.1 web
logged "state not handled" && pass "WARNING ignored without --on-warning" || fail "WARNING: $(cat "$T/log")"

: >"$T/cmds"
eh CRITICAL SOFT 2 127.0.0.1 web
if logged "acting: CRITICAL SOFT attempt 2, restart web on 127.0.0.1" && logged "heal-ctl exit 3" &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;127.0.0.1;web;2;heal;heal could not fix web: heal-listener could not be reached" "$T/cmds"; then
    pass "SOFT 2 acts; an unreachable listener pages a human"
else
    fail "SOFT 2: $(cat "$T/log") / cmds: $(cat "$T/cmds")"
fi

eh CRITICAL SOFT 2 127.0.0.1 web
logged "already acted for this problem: SOFT 2" && pass "never acts twice for the same attempt" || fail "repeat: $(cat "$T/log")"
eh CRITICAL HARD 3 127.0.0.1 web
logged "already acted for this problem" && pass "HARD after acting on SOFT does not act again" || fail "HARD: $(cat "$T/log")"
eh OK SOFT 3 127.0.0.1 web
logged "problem closed" && pass "recovery closes the problem" || fail "recovery: $(cat "$T/log")"
eh CRITICAL HARD 1 127.0.0.1 web
logged "acting: CRITICAL HARD attempt 1" && pass "HARD acts when nothing was done yet" || fail "HARD first: $(cat "$T/log")"
eh OK HARD 1 127.0.0.1 web >/dev/null

eh --on-warning WARNING SOFT 2 127.0.0.1 api
logged "acting: WARNING SOFT attempt 2" && pass "--on-warning acts on WARNING" || fail "on-warning: $(cat "$T/log")"

bad=0
for addr in '--json' '127.0.0.1;reboot' '$(id)' '10.0.0.1 -b' ''; do
    eh CRITICAL HARD 1 "$addr" web2
    if ! logged "ignored: bad host address" || logged acting; then
        fail "address '$addr' not refused: $(cat "$T/log")"; bad=1
    fi
done
[ $bad = 0 ] && pass "hostile host addresses are refused, nothing run"
bad=0
for svc in 'web;rm' '-x' '../etc' 'a b'; do
    eh CRITICAL HARD 1 127.0.0.1 "$svc"
    if ! logged "ignored: bad service name" || logged acting; then
        fail "service '$svc' not refused: $(cat "$T/log")"; bad=1
    fi
done
[ $bad = 0 ] && pass "hostile service names are refused, nothing run"
eh --nagios-service 'web;ADD_HOST_COMMENT' CRITICAL HARD 1 127.0.0.1 web3
logged "ignored: ';' or newline" && ! logged acting && pass "';' in a Nagios name cannot inject commands" || fail "nagios name: $(cat "$T/log")"
eh CRITICAL HARD x 127.0.0.1 web4
logged "ignored: bad attempt" && pass "non-numeric attempt ignored" || fail "attempt: $(cat "$T/log")"

"$SRC/scripts/heal-event-handler" --bogus CRITICAL HARD 1 127.0.0.1 web >/dev/null 2>&1
[ $? -eq 3 ] && pass "usage errors exit 3" || fail "usage error exit code"

# A Nagios that does not read its command FIFO must not hang the handler.
rm -f "$T/nagios.cmd"; mkfifo "$T/nagios.cmd"
start=$(date +%s)
"$SRC/scripts/heal-event-handler" --heal-ctl "$BUILD/heal-ctl" --client-config "$T/ctl.ini" \
    --command-file "$T/nagios.cmd" --state-dir "$T/state2" --log "$T/log" --timeout 1 CRITICAL HARD 1 127.0.0.1 web5
took=$(( $(date +%s) - start ))
[ "$took" -le 8 ] && logged "writing to $T/nagios.cmd failed" && pass "a dead command FIFO costs at most 5 s ($took s)" ||
    fail "dead FIFO: took $took s: $(cat "$T/log")"
exit $failed
