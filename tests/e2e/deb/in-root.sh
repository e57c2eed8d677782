#!/bin/sh
# Runs inside the pristine Debian 12 root that tests/e2e/deb.sh built (as root, in a chroot with
# its own /proc and loopback). /heal-test holds the packages (debs/), the same packages one
# version lower (previous/) and throwaway certificates (certs/). Prints PASS/FAIL lines.
set -u
export DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
T=/heal-test
OUT=$T/out
mkdir -p "$OUT"
pass() { echo "PASS deb: $1"; }
fail() { echo "FAIL deb: $1"; }
check() { # WHAT COMMAND... — PASS when the command succeeds
    _what=$1; shift
    if "$@" >"$OUT/check.log" 2>&1; then pass "$_what"; else fail "$_what: $(tail -5 "$OUT/check.log")"; fi
}
owner() { stat -c '%U:%G %a' "$1" 2>/dev/null; }
apt() { apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >"$OUT/apt.log" 2>&1; }
show_apt() { sed -n '/^Setting up heal\|^Unpacking heal\|^Removing heal\|^Purging\|^heal-\|^ /p' "$OUT/apt.log" | sed 's/^/    | /'; }

# Maintainer scripts start no daemons in a chroot (Debian's policy-rc.d convention): Nagios and
# the listener are started by this test, as their units would.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

# 1. Install the previous build with Debian's nagios4-core, change a conffile, upgrade.
if apt install "$T"/previous/heal-listener_*.deb "$T"/previous/heal-client_*.deb "$T"/previous/heal-plugins_*.deb \
        "$T"/previous/heal-nagios_*.deb nagios4-core; then
    pass "apt-get install ./heal-*.deb nagios4-core (the previous build): $(dpkg-query -W -f '${Version}' heal-listener)"
else
    fail "apt-get install of the previous build: $(tail -20 "$OUT/apt.log")"; exit 1
fi
if grep -q "starts only once its certificates exist" "$OUT/apt.log"; then
    pass "heal-listener's postinst says it waits for its certificates:"
    sed -n '/heal-listener is installed and enabled/,/README.Debian/p' "$OUT/apt.log" | sed 's/^/    | /'
else
    fail "heal-listener's postinst said nothing about the missing certificates"
fi
check "user and group heal exist, a system user: $(getent passwd heal)" \
    sh -c 'getent passwd heal | awk -F: "\$3 < 1000 { ok = 1 } END { exit !ok }" && getent group heal'
[ "$(owner /var/lib/heal)" = "heal:heal 755" ] && pass "/var/lib/heal: heal:heal 755" ||
    fail "/var/lib/heal: $(owner /var/lib/heal)"
[ "$(owner /var/log/heal)" = "heal:heal 750" ] && pass "/var/log/heal: heal:heal 750" ||
    fail "/var/log/heal: $(owner /var/log/heal)"
[ "$(owner /var/lib/heal-event-handler)" = "nagios:nagios 700" ] && pass "/var/lib/heal-event-handler: nagios:nagios 700" ||
    fail "/var/lib/heal-event-handler: $(owner /var/lib/heal-event-handler)"
check "the unit is enabled (multi-user.target.wants), for when systemd runs" \
    test -L /etc/systemd/system/multi-user.target.wants/heal-listener.service
check "conffiles: /etc/heal/heal.ini, /etc/heal/heal-ctl.ini, /etc/logrotate.d/heal" sh -c \
    'dpkg-query -W -f "\${Conffiles}\n" heal-listener heal-client | grep -q " /etc/heal/heal.ini " &&
     dpkg-query -W -f "\${Conffiles}\n" heal-client | grep -q " /etc/heal/heal-ctl.ini " &&
     dpkg-query -W -f "\${Conffiles}\n" heal-listener | grep -q " /etc/logrotate.d/heal "'
for f in /usr/sbin/heal-listener /usr/bin/heal-ctl /usr/lib/nagios/plugins/check_worker \
         /usr/lib/nagios/plugins/check_heal \
         /usr/lib/nagios/plugins/eventhandlers/heal-event-handler /usr/share/man/man8/heal-listener.8.gz \
         /usr/share/man/man5/heal.ini.5.gz /usr/share/man/man1/heal-ctl.1.gz /usr/share/man/man1/check_worker.1.gz \
         /usr/share/man/man1/check_heal.1.gz /usr/share/man/man8/heal-event-handler.8.gz \
         /usr/share/doc/heal-nagios/examples/heal.cfg /usr/share/doc/heal-nagios/examples/icinga2/heal.conf \
         /usr/share/doc/heal-listener/examples/sudoers.d/heal \
         /usr/share/doc/heal-listener/examples/xinetd.d/heal /usr/share/doc/heal-listener/examples/polkit-1/rules.d/50-heal.rules; do
    [ -e "$f" ] || missing="${missing:-} $f"
done
[ -z "${missing:-}" ] && pass "binaries, man pages and examples where they belong" || fail "missing:$missing"
# check_worker loads libssl for a TLS check (not linked at start, so not found by dpkg-shlibdeps):
# heal-plugins depends on it by name, and it came with the packages.
out=$(/usr/lib/nagios/plugins/check_worker -H 127.0.0.1 -p 1 -S -t 2 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "cannot connect to 127.0.0.1:1" &&
    pass "check_worker -S loads libssl (a refused port: CRITICAL, not UNKNOWN)" || fail "check_worker -S: $rc $out"
[ ! -e /etc/sudoers.d/heal ] && [ ! -e /etc/xinetd.d/heal ] && [ ! -e /etc/polkit-1/rules.d/50-heal.rules ] &&
    pass "sudoers, polkit and xinetd examples are not active" || fail "an example is active in /etc"

echo "; changed here before the upgrade" >>/etc/heal/heal.ini
# User heal (and every script heal.ini runs) plants links where the old layout kept other
# programs' state; it cannot plant one where the packages keep it now (root's /var/lib).
runuser -u heal -- ln -s /etc /var/lib/heal/receiver
runuser -u heal -- ln -s /etc /var/lib/heal/event-handler
if runuser -u heal -- ln -s /etc /var/lib/heal-receiver 2>/dev/null; then
    fail "user heal could plant a link at /var/lib/heal-receiver"; rm -f /var/lib/heal-receiver
else
    pass "user heal cannot plant a link where the receiver's state goes (/var/lib is root's)"
fi
etc_before=$(owner /etc)
if apt install "$T"/debs/heal-*.deb; then
    pass "upgrade to this build: $(dpkg-query -W -f '${Version}' heal-listener)"
else
    fail "upgrade: $(tail -20 "$OUT/apt.log")"
fi
# heal-alert-receiver came with the upgrade (new in this build): its user, folders, unit and a
# binary whose libraries the package brought.
grep -q "starts only once /etc/heal/receiver.ini" "$OUT/apt.log" &&
    pass "heal-alert-receiver's postinst says it waits for /etc/heal/receiver.ini" ||
    fail "heal-alert-receiver's postinst said nothing about receiver.ini"
check "user heal-receiver is a system user: $(getent passwd heal-receiver)" \
    sh -c 'getent passwd heal-receiver | awk -F: "\$3 < 1000 { ok = 1 } END { exit !ok }"'
[ "$(owner /var/lib/heal-receiver) $(owner /var/log/heal-receiver)" = "heal-receiver:heal-receiver 700 heal-receiver:heal-receiver 750" ] &&
    pass "/var/lib/heal-receiver (700) and /var/log/heal-receiver (750) belong to heal-receiver" ||
    fail "receiver folders: $(owner /var/lib/heal-receiver), $(owner /var/log/heal-receiver)"
[ "$(owner /etc)" = "$etc_before" ] && [ "$etc_before" = "root:root 755" ] &&
    pass "the links user heal planted were not followed: /etc is still $(owner /etc)" ||
    fail "a maintainer script followed user heal's link: /etc was $etc_before, is $(owner /etc)"
rm -f /var/lib/heal/receiver /var/lib/heal/event-handler
check "heal-alert-receiver's unit is enabled, its man page and example installed" sh -c \
    'test -L /etc/systemd/system/multi-user.target.wants/heal-alert-receiver.service &&
     test -e /usr/share/man/man8/heal-alert-receiver.8.gz &&
     test -e /usr/share/doc/heal-alert-receiver/examples/receiver.ini'
out=$(heal-alert-receiver --check -c /usr/share/doc/heal-alert-receiver/examples/receiver.ini 2>&1); rc=$?
[ $rc = 1 ] && printf '%s\n' "$out" | grep -q "^  ok       configuration" && printf '%s\n' "$out" | grep -q "PROBLEM  certificate" &&
    pass "heal-alert-receiver --check reads the example and names what is missing (the certificates)" ||
    fail "heal-alert-receiver --check on the example: exit $rc: $out"
check "the upgrade kept the locally changed /etc/heal/heal.ini" grep -qx "; changed here before the upgrade" /etc/heal/heal.ini

# 2. The loop, with Debian's nagios.cfg and the shipped heal configuration, changed only by:
# certificates, one [service worker] section, one Nagios host and service.
install -m 0644 "$T/certs/server.crt" "$T/certs/ca.crt" /etc/heal/
install -m 0600 -o heal -g heal "$T/certs/server.key" /etc/heal/server.key
install -m 0644 "$T/certs/nagios.example.com.crt" /etc/heal/client.crt
install -m 0640 -o root -g nagios "$T/certs/nagios.example.com.key" /etc/heal/client.key
# The worker: a process with a pid file, driven by a script as the listener's user runs it.
install -d -o heal -g heal /var/lib/worker
cat >/usr/local/sbin/worker-ctl <<'EOF'
#!/bin/sh
# worker-ctl start|stop|restart|status: the test's worker, a long sleep with a pid file.
pid=/var/lib/worker/pid
case $1 in
    start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $pid --exec /usr/bin/sleep -- 86400 ;;
    stop) start-stop-daemon --stop --quiet --oknodo --pidfile $pid --remove-pidfile ;;
    restart) "$0" stop && "$0" start ;;
    status) if [ -f $pid ] && kill -0 "$(cat $pid)" 2>/dev/null; then echo "worker OK: pid $(cat $pid)"; exit 0; fi
            echo "worker CRITICAL: not running"; exit 2 ;;
    *) echo "usage: worker-ctl start|stop|restart|status"; exit 3 ;;
esac
EOF
chmod 0755 /usr/local/sbin/worker-ctl
cat >>/etc/heal/heal.ini <<'EOF'

[service worker]
start = /usr/local/sbin/worker-ctl
stop = /usr/local/sbin/worker-ctl
restart = /usr/local/sbin/worker-ctl
status = /usr/local/sbin/worker-ctl
EOF
cp /usr/share/doc/heal-nagios/examples/heal.cfg /etc/nagios4/conf.d/heal.cfg
cat >/etc/nagios4/conf.d/web1.cfg <<'EOF'
define host {
    use                 generic-host
    host_name           web1
    address             127.0.0.1
    max_check_attempts  3
    check_period        24x7
    contact_groups      admins
}
define service {
    use                 heal-service
    host_name           web1
    service_description worker
    check_command       check_heal_status!worker
    event_handler       heal-restart!worker
}
EOF
setpriv --reuid=heal --regid=heal --init-groups /usr/local/sbin/worker-ctl start

# The listener as its unit runs it: the unit's ExecStartPre and ExecStart, as the unit's User.
unit=/lib/systemd/system/heal-listener.service
user=$(sed -n 's/^User=//p' $unit) group=$(sed -n 's/^Group=//p' $unit)
pre=$(sed -n 's/^ExecStartPre=//p' $unit) exec_start=$(sed -n 's/^ExecStart=//p' $unit)
for c in $(sed -n 's/^ConditionPathExists=//p' $unit); do
    [ -e "$c" ] || fail "the unit's ConditionPathExists=$c does not hold"
done
# shellcheck disable=SC2086 # the unit's command lines, split as systemd splits these simple ones
if setpriv --reuid="$user" --regid="$group" --init-groups $pre >"$OUT/check-config.log" 2>&1; then
    pass "ExecStartPre as $user: $pre"
else
    fail "ExecStartPre: $(cat "$OUT/check-config.log")"
fi
# shellcheck disable=SC2086
setpriv --reuid="$user" --regid="$group" --init-groups $exec_start >"$OUT/listener.log" 2>&1 &
listener_pid=$!
# Nagios as Debian's unit runs it: no stale command pipe, the pid folder, then nagios4 itself.
rm -f /var/lib/nagios4/rw/nagios.cmd
install -d -o nagios -g nagios /run/nagios4
if /usr/sbin/nagios4 -v /etc/nagios4/nagios.cfg >"$OUT/nagios-v.log" 2>&1; then
    pass "nagios4 -v accepts Debian's nagios.cfg with the shipped heal.cfg"
else
    fail "nagios4 -v: $(grep -i error "$OUT/nagios-v.log" | head -5)"
fi
/usr/sbin/nagios4 /etc/nagios4/nagios.cfg >"$OUT/nagios.out" 2>&1 &
nagios_pid=$!
NLOG=/var/log/nagios4/nagios.log

wait_for() { # FILE TEXT SECONDS — prints the first line with TEXT
    _end=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -le "$_end" ]; do
        grep -F -m1 -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
force_check() { # asks Nagios to check web1's worker now, as an operator would
    printf '[%s] SCHEDULE_FORCED_SVC_CHECK;web1;worker;%s\n' "$(date +%s)" "$(date +%s)" >/var/lib/nagios4/rw/nagios.cmd
}
# The command FIFO is what the handler needs; it exists once Nagios reads commands. (Waiting
# for nagios.log's "Successfully launched command file worker" alone failed once in 20 s while
# Nagios ran and healed: the FIFO is the signal.)
_end=$(( $(date +%s) + 30 ))
until [ -p /var/lib/nagios4/rw/nagios.cmd ] || [ "$(date +%s)" -gt "$_end" ]; do sleep 0.2; done
if [ -p /var/lib/nagios4/rw/nagios.cmd ] && kill -0 "$nagios_pid" 2>/dev/null; then
    pass "Nagios runs as Debian's nagios.cfg says (command file /var/lib/nagios4/rw/nagios.cmd)"
else
    fail "Nagios did not start: $(tail -5 "$OUT/nagios.out") $(tail -5 $NLOG) $(ls -la /var/lib/nagios4/rw 2>&1)"
fi
wait_for "$OUT/listener.log" "listening on" 10 >/dev/null
svc_status() { # prints "STATE CHECKED OUTPUT" of web1's worker from status.dat
    awk -F= '/servicestatus \{/ { b = 1; h = d = s = c = o = "" } b && $1 ~ /host_name$/ { h = $2 }
             b && $1 ~ /service_description$/ { d = $2 } b && $1 ~ /current_state$/ { s = $2 }
             b && $1 ~ /has_been_checked$/ { c = $2 } b && $1 ~ /plugin_output$/ && $1 !~ /long/ { o = $2 }
             b && /\}/ { if (h == "web1" && d == "worker") print s, c, o; b = 0 }' /var/lib/nagios4/status.dat 2>/dev/null
}
force_check
end=$(($(date +%s) + 40))
until svc_status | grep -q "^0 1 " || [ "$(date +%s)" -gt $end ]; do sleep 0.5; done
if svc_status | grep -q "^0 1 "; then
    pass "the worker is OK in Nagios (heal.cfg's check_heal_status): $(svc_status | cut -d' ' -f3-)"
else
    fail "the worker is not OK in Nagios: '$(svc_status)'"
fi
check "heal-event-handler --check as nagios: everything usable" \
    setpriv --reuid=nagios --regid=nagios --init-groups \
    /usr/lib/nagios/plugins/eventhandlers/heal-event-handler --check --nagios-host web1 --nagios-service worker
sed 's/^/    | /' "$OUT/check.log"

# Kill the worker: CRITICAL SOFT 1, SOFT 2, the event handler restarts it through the listener.
kill "$(cat /var/lib/worker/pid)"
t0=$(date +%s)
force_check
wait_for "$NLOG" "SERVICE ALERT: web1;worker;CRITICAL;SOFT;1;" 30 >/dev/null && pass "killed: CRITICAL SOFT 1" ||
    fail "no CRITICAL SOFT 1 after the kill"
force_check
if wait_for "$NLOG" "SERVICE EVENT HANDLER: web1;worker;CRITICAL;SOFT;2;heal-restart!worker" 30 >/dev/null; then
    pass "the event handler ran on SOFT 2"
else
    fail "the event handler did not run on SOFT 2: $(grep 'web1;worker' $NLOG | tail -3)"
fi
if comment=$(wait_for "$NLOG" "EXTERNAL COMMAND: ADD_SVC_COMMENT;web1;worker;" 30); then
    id=$(printf '%s' "$comment" | sed -n 's/.*request id \([0-9a-f-]*\).*/\1/p')
    pass "healed $(($(date +%s) - t0)) s after the kill; the comment: ${comment#*ADD_SVC_COMMENT;}"
else
    id=""
    fail "no comment from the event handler: $(grep -E 'NOTIFICATION|EXTERNAL' $NLOG | tail -3)"
fi
if [ -n "$id" ] && grep -F "\"id\":\"$id\"" /var/log/heal/audit.jsonl | grep -q '"outcome":"ok"'; then
    pass "the audit record of $id is in /var/log/heal/audit.jsonl:"
    grep -F "\"id\":\"$id\"" /var/log/heal/audit.jsonl | tail -1 | cut -c1-400 | sed 's/^/    | /'
else
    fail "no audit record in /var/log/heal/audit.jsonl for request '$id'"
fi
force_check
wait_for "$NLOG" "SERVICE ALERT: web1;worker;OK;" 30 >/dev/null && pass "Nagios sees the worker OK again" ||
    fail "the worker did not recover in Nagios"
echo "    | Nagios' log of it:"
grep -E "web1;worker" $NLOG | sed 's/^\[[0-9]*\] /    | /' | cut -c1-300
kill "$nagios_pid" "$listener_pid" 2>/dev/null
wait "$nagios_pid" "$listener_pid" 2>/dev/null

check "logrotate accepts /etc/logrotate.d/heal (logrotate -d)" logrotate -d /etc/logrotate.d/heal
check "heal-alert-receiver ships /etc/logrotate.d/heal-alert-receiver (a conffile) and logrotate accepts it" sh -c \
    'dpkg-query -W -f "\${Conffiles}\n" heal-alert-receiver | grep -q " /etc/logrotate.d/heal-alert-receiver " &&
     logrotate -d /etc/logrotate.d/heal-alert-receiver' 

# 3. Remove keeps state and configuration; reinstall; purge removes them (the heal user stays).
check "remove: apt-get remove heal-listener heal-nagios" apt remove heal-listener heal-nagios
[ -f /var/lib/heal/heal.db ] && [ -f /etc/heal/heal.ini ] && [ -f /var/log/heal/audit.jsonl ] &&
    [ -d /var/lib/heal-event-handler ] && pass "remove kept the state, the audit log and the configuration" ||
    fail "remove lost something: $(ls -la /var/lib/heal /etc/heal /var/log/heal 2>&1 | tr '\n' ' ')"
check "reinstall" apt install "$T"/debs/heal-listener_*.deb "$T"/debs/heal-nagios_*.deb
check "reinstall kept the changed heal.ini" grep -q "^\[service worker\]" /etc/heal/heal.ini
check "purge: apt-get purge heal-listener heal-client heal-plugins heal-nagios heal-alert-receiver" \
    apt purge heal-listener heal-client heal-plugins heal-nagios heal-alert-receiver
left=$(ls -d /etc/heal/heal.ini /etc/heal/heal-ctl.ini /etc/logrotate.d/heal /etc/logrotate.d/heal-alert-receiver \
       /var/lib/heal /var/log/heal /var/lib/heal-event-handler /var/lib/heal-receiver /var/log/heal-receiver 2>/dev/null)
[ -z "$left" ] && pass "purge removed the conffiles, the state and the logs" || fail "purge left: $left"
dpkg -l 'heal-*' 2>/dev/null | grep -q '^[ir]' && fail "packages left: $(dpkg -l 'heal-*' | grep '^[ir]')" ||
    pass "no heal package left"
getent passwd heal >/dev/null && pass "the heal system user stays after purge (files it owns elsewhere keep a valid owner)" ||
    fail "purge removed the heal user"
exit 0
