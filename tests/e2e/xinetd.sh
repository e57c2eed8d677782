#!/bin/sh
# End to end with real Debian xinetd: heal-ctl -> xinetd -> heal-listener --inetd.
# The listener's own allowlist must refuse a peer that xinetd lets through.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
sb_e2e_setup xinetd xinetd xinetd
failed=0
pass() { echo "PASS xinetd: $1"; }
fail() { echo "FAIL xinetd: $1"; failed=1; }

sb_certs
sb_worker_scripts
sb_listener_config
XPORT=$(sb_free_port)
cat >"$SB/xinetd.conf" <<EOF
defaults
{
}
service heal
{
    type           = UNLISTED
    id             = heal-e2e
    port           = $XPORT
    socket_type    = stream
    protocol       = tcp
    wait           = no
    user           = $(id -un)
    server         = $BUILD/heal-listener
    server_args    = --inetd -c $SB/heal.ini
    bind           = 127.0.0.1
    only_from      = 127.0.0.0/8
    per_source     = 10
    instances      = 20
    cps            = 50 10
    log_type       = FILE $SB/xinetd-service.log
    log_on_success = PID HOST DURATION EXIT
    log_on_failure = HOST ATTEMPT
}
EOF
# The same service on an IPv6 socket: xinetd then hands IPv4 peers over as IPv4-mapped
# addresses (::ffff:127.0.0.1), which the allowlist's plain 127.0.0.1 must still match.
XPORT6=$(sb_free_port)
sed -e "s/^service heal$/service heal6/" -e "s/id             = heal-e2e/id             = heal-e2e6/" \
    -e "s/port           = $XPORT/port           = $XPORT6\n    flags          = IPv6/" \
    -e "s/bind           = 127.0.0.1/bind           = ::ffff:127.0.0.1/" \
    -e "s/only_from      = 127.0.0.0\/8/only_from      = ::ffff:127.0.0.0\/104 127.0.0.0\/8/" \
    "$SB/xinetd.conf" | sed -n '/^service heal6/,$p' >"$SB/xinetd6.conf"
cat "$SB/xinetd6.conf" >>"$SB/xinetd.conf"  # not in the pipeline that reads xinetd.conf
sb_spawn "$SB/xinetd.out" xinetd -dontfork -stayalive -f "$SB/xinetd.conf" \
    -pidfile "$SB/xinetd.pid" -filelog "$SB/xinetd.log" >/dev/null
if ! sb_wait_for "$SB/xinetd.log" "Started working" 10 >/dev/null; then
    fail "xinetd did not start"
    cat "$SB/xinetd.out" "$SB/xinetd.log" 2>/dev/null
    exit 1
fi

ctl() { "$BUILD/heal-ctl" -c "$SB/heal-ctl.ini" -H 127.0.0.1 -p "$XPORT" "$@"; }

out=$(ctl restart worker 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "^HEAL OK: restart worker on 127.0.0.1"; then
    pass "heal-ctl restart works through xinetd + heal-listener --inetd"
else
    fail "restart through xinetd: exit $rc: $out"
fi
if tail -n 1 "$SB/audit.jsonl" | grep '"verb":"restart"' | grep '"service":"worker"' | grep -q '"outcome":"ok"'; then
    pass "the inetd instance wrote the audit record"
else
    fail "no audit record for the inetd request"
fi

out=$(ctl -b 127.0.0.2 status worker 2>&1); rc=$?
if [ $rc -eq 3 ] && tail -n 1 "$SB/audit.jsonl" | grep '"peer":"127.0.0.2:[0-9]*"' | grep -q '"reason":"not_allowed"'; then
    pass "a peer outside the listener's allowlist is refused under xinetd too"
else
    fail "127.0.0.2 was not refused: exit $rc: $out; audit: $(tail -n 1 "$SB/audit.jsonl")"
fi
out=$("$BUILD/heal-ctl" -c "$SB/heal-ctl.ini" -H 127.0.0.1 -p "$XPORT6" restart worker 2>&1); rc=$?
if [ $rc -eq 0 ] && tail -n 1 "$SB/audit.jsonl" | grep '"peer":"127.0.0.1:[0-9]*"' | grep -q '"outcome":"ok"' &&
    grep -q "START: heal-e2e6 .*from=::ffff:127.0.0.1" "$SB/xinetd-service.log"; then
    pass "an IPv4-mapped peer from an IPv6 xinetd socket matches the IPv4 allowlist"
else
    fail "flags = IPv6: exit $rc: $out; audit: $(tail -n 1 "$SB/audit.jsonl")"
fi
out=$("$BUILD/heal-ctl" -c "$SB/heal-ctl.ini" -H 127.0.0.1 -p "$XPORT6" -b 127.0.0.2 status worker 2>&1); rc=$?
if [ $rc -eq 3 ] && tail -n 1 "$SB/audit.jsonl" | grep '"peer":"127.0.0.2:[0-9]*"' | grep -q '"reason":"not_allowed"'; then
    pass "a mapped peer outside the allowlist is refused"
else
    fail "flags = IPv6, 127.0.0.2: exit $rc: $out; audit: $(tail -n 1 "$SB/audit.jsonl")"
fi
[ "$failed" = 1 ] && { echo "--- xinetd.log"; cat "$SB/xinetd.log" "$SB/xinetd-service.log" 2>/dev/null; }
exit $failed
