# heal-sandbox.sh — sourced by `make demo` (scripts/heal-demo) and the end-to-end tests.
# Builds a throwaway world in $SB: certificates, a worker serving a status page, heal-listener on
# loopback, and Debian's nagios4 running as an ordinary process with every path in $SB.
# Needs: SB (an empty directory), BUILD (built binaries), SRC (source tree). POSIX sh.

SB_PIDS=""

# The end-to-end tests run in a network namespace of their own (its own loopback; needs root
# and iproute2, as CI has): the fixed ports sb_free_port picks, and every address they bind,
# can then never meet another run's, nor anything on the host. Re-executes the test there;
# call it first, as sb_own_network "$0" "$@". Elsewhere the test runs as it is.
sb_own_network() {
    [ -n "${HEAL_OWN_NETNS:-}" ] && return 0
    [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 || return 0
    HEAL_OWN_NETNS=1 exec unshare -n /bin/sh -c 'ip link set lo up && exec /bin/sh "$@"' sh "$@"
}

# For the end-to-end tests: skip loudly when a peer is missing, else make $SB and clean up on exit.
sb_e2e_setup() { # SUITE COMMAND PACKAGE
    if ! command -v "$2" >/dev/null 2>&1; then
        echo "SKIP $1: $2 is not installed (apt-get install $3) — $1 WAS NOT TESTED"
        exit 0
    fi
    SB=$(mktemp -d "/tmp/heal-e2e-$1.XXXXXX")
    trap 'sb_cleanup; [ "${KEEP:-0}" = 1 ] || rm -rf "$SB"' EXIT
    trap 'exit 1' INT TERM
}

# A peer that is installed but cannot run (exit 126/127, a missing library) is a broken setup,
# said once as a FAIL naming why, never counted as the peer's answer. Returns 1 then.
sb_peer_runs() { # SUITE PROGRAM ARG...
    _suite=$1; shift
    _out=$("$@" </dev/null 2>&1)
    _rc=$?
    case "$_rc:$_out" in
        126:* | 127:* | *"error while loading shared libraries"*)
            echo "FAIL $_suite setup: $1 cannot run (exit $_rc): $(printf '%s\n' "$_out" | head -n 1) — nothing was compared (make deps checks every peer runs)"
            return 1 ;;
    esac
    return 0
}

sb_log() { printf '%s\n' "$*" >&2; }

# heal-listener binds port 0 and says which port it got. The worker, nagios' dead port and xinetd
# need a fixed port: one below the kernel's ephemeral range, which the kernel never hands out by
# itself (a port it picked for a port-0 bind and we released could go to the next connection).
# In the tests' own network namespace (sb_own_network) no other run can take it meanwhile.
sb_free_port() {
    python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(500):
    port = random.randint(10000, low - 1)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()
PY
}

# Runs "$@" in the background with output to a file; remembers the pid for sb_cleanup.
sb_spawn() { # LOGFILE CMD...
    _log=$1; shift
    "$@" >"$_log" 2>&1 </dev/null &
    SB_PIDS="$SB_PIDS $!"
    echo $!
}

sb_cleanup() {
    for _p in $SB_PIDS; do kill "$_p" 2>/dev/null; done
    # Wait for them first: a stopping listener finishes the restart it is running, and that
    # restart may start a new worker (and write its pid) after we looked.
    _i=0
    while [ $_i -lt 100 ]; do
        _alive=""
        for _p in $SB_PIDS; do kill -0 "$_p" 2>/dev/null && _alive=1; done
        [ -z "$_alive" ] && break
        sleep 0.1; _i=$((_i + 1))
    done
    for _p in $SB_PIDS; do kill -9 "$_p" 2>/dev/null; done
    for _f in "$SB/worker/worker.pid" "$SB/worker/crashy.pid"; do
        [ -f "$_f" ] && kill -9 "$(cat "$_f")" 2>/dev/null
    done
    SB_PIDS=""
}

# Waits until FILE contains the fixed string TEXT; prints the matching line. TIMEOUT seconds.
sb_wait_for() { # FILE TEXT TIMEOUT
    _end=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -le "$_end" ]; do
        if [ -f "$1" ] && grep -F -m1 -- "$2" "$1"; then return 0; fi
        sleep 0.1
    done
    return 1
}

# client.crt is Nagios (CN=heal-ctl); ops.crt is an admin. The listener's certificate names the
# Nagios host (worker-host), as a real one names its host: the event handler verifies that name.
sb_certs() {
    "$SRC/scripts/heal-dev-certs" --san "DNS:worker-host,DNS:localhost,IP:127.0.0.1,IP:::1" \
        --client ops "$SB/certs" >/dev/null
}

# The worker: python3's http.server on WORKER_PORT, started by a daemonizing start script.
sb_worker_scripts() {
    WORKER_PORT=${WORKER_PORT:-$(sb_free_port)}
    _wa=${WORKER_ADDR:-127.0.0.1}
    mkdir -p "$SB/worker/www"
    echo "worker ready" >"$SB/worker/www/index.html"
    cat >"$SB/worker/restart" <<EOF
#!/bin/sh
# Restart the sample worker; daemonizes it and returns once it answers.
[ -f "$SB/worker/worker.pid" ] && kill "\$(cat "$SB/worker/worker.pid")" 2>/dev/null
setsid python3 -m http.server $WORKER_PORT --bind $_wa --directory "$SB/worker/www" \\
    >>"$SB/worker/worker.log" 2>&1 </dev/null &
echo \$! >"$SB/worker/worker.pid"
i=0
while [ \$i -lt 50 ]; do
    if "$BUILD/check_worker" -H $_wa -p $WORKER_PORT -t 1 >/dev/null; then
        echo "worker up on port $WORKER_PORT, pid \$(cat "$SB/worker/worker.pid")"
        exit 0
    fi
    sleep 0.1; i=\$((i + 1))
done
echo "worker did not come up"
exit 1
EOF
    # Evidence before a restart: what the worker's pid file says, whether that process lives,
    # and the end of its log.
    cat >"$SB/worker/diagnose" <<EOF
#!/bin/sh
pid=\$(cat "$SB/worker/worker.pid" 2>/dev/null)
echo "worker pid file: \${pid:-none}"
state=\$(awk '/^State:/ { print \$2 }' "/proc/\${pid:-0}/status" 2>/dev/null)
case \$state in ""|Z) echo "process \${pid:-?}: gone" ;; *) echo "process \$pid: alive (state \$state)" ;; esac
echo "last lines of worker.log:"
tail -n 5 "$SB/worker/worker.log" 2>/dev/null
EOF
    cat >"$SB/worker/broken-restart" <<'EOF'
#!/bin/sh
echo "cannot restart: /opt/broken/bin/worker: No such file or directory" >&2
exit 1
EOF
    # A worker that crash-loops while worker/crashloop exists: up for 2.5 s after each restart.
    CRASHY_PORT=${CRASHY_PORT:-$(sb_free_port)}
    cat >"$SB/worker/crashy-restart" <<EOF
#!/bin/sh
[ -f "$SB/worker/crashy.pid" ] && kill "\$(cat "$SB/worker/crashy.pid")" 2>/dev/null
life=
[ -e "$SB/worker/crashloop" ] && life="timeout 2.5"
setsid \$life python3 -m http.server $CRASHY_PORT --bind 127.0.0.1 --directory "$SB/worker/www" \\
    >>"$SB/worker/crashy.log" 2>&1 </dev/null &
echo \$! >"$SB/worker/crashy.pid"
i=0
while [ \$i -lt 50 ]; do
    "$BUILD/check_worker" -H 127.0.0.1 -p $CRASHY_PORT -t 1 >/dev/null && { echo "crashy up"; exit 0; }
    sleep 0.1; i=\$((i + 1))
done
echo "crashy did not come up"
exit 1
EOF
    chmod 0755 "$SB/worker/crashy-restart"
    cat >"$SB/worker/status" <<EOF
#!/bin/sh
exec "$BUILD/check_worker" -H $_wa -p $WORKER_PORT -t 2
EOF
    chmod 0755 "$SB/worker/restart" "$SB/worker/broken-restart" "$SB/worker/status" "$SB/worker/diagnose"
}

sb_worker_start() {
    "$SB/worker/restart" >/dev/null
}

sb_listener_config() {
    mkdir -p "$SB/state"
    cat >"$SB/heal.ini" <<EOF
[listener]
listen = ${LISTENER_ADDR:-127.0.0.1}:${LISTENER_PORT:-0}
allow = 127.0.0.1, ::1
cert = certs/server.crt
key = certs/server.key
client_ca = certs/ca.crt
audit_log = audit.jsonl
state_dir = state
allow_root = yes      ; a throwaway sandbox, often run as root; deploy with user = heal
timeout = 10

[service worker]
restart = worker/restart
status = worker/status
verify = yes          ; after a restart, status until healthy: Nagios' comment says so
verify_interval = 0.2s
verify_timeout = 10s
diagnose = worker/diagnose   ; evidence before each restart: heal-ctl diagnostics REQUEST-ID

[service broken]
restart = worker/broken-restart

; Nagios' event handler (heal-ctl's client.crt) may check and restart; ops is an admin.
[client nagios]
cn = heal-ctl
verbs = status, restart

[client ops]
cn = ops
verbs = *
admin = yes
EOF
    [ "${SB_CRASHY:-0}" = 1 ] && cat >>"$SB/heal.ini" <<EOF

[service crashy]
restart = worker/crashy-restart
budget = 3/1h
EOF
    sb_client_configs
}

# heal-ctl configurations for Nagios' event handler (client.crt) and an admin (ops.crt), for the
# listener on LISTENER_PORT (or 5669 until it is known).
sb_client_configs() {
    sb_client_config "$SB/heal-ctl.ini" client
    sb_client_config "$SB/heal-ctl-ops.ini" ops
}

sb_client_config() { # FILE CERT — a heal-ctl configuration using certs/CERT.{crt,key}
    cat >"$1" <<EOF
[client]
port = ${LISTENER_PORT:-5669}
cert = certs/$2.crt
key = certs/$2.key
ca = certs/ca.crt
timeout = 15
EOF
}

sb_listener_start() {
    sb_listener_config
    sb_listener_run
}

# Starts heal-listener on $SB/heal.ini as it is, waits until it is ready, learns its port
# (LISTENER_PORT) and writes the heal-ctl configurations for it.
sb_listener_run() {
    sb_spawn "$SB/listener.log" "$BUILD/heal-listener" -c "$SB/heal.ini" >/dev/null
    sb_wait_for "$SB/listener.log" "ready: accepting connections" 10 >/dev/null || return 1
    _line=$(grep -m1 "listening on ${LISTENER_ADDR:-127.0.0.1}:" "$SB/listener.log") || return 1
    LISTENER_PORT=${_line##*listening on ${LISTENER_ADDR:-127.0.0.1}:}
    sb_client_configs
}

# Nagios 4 as an ordinary process: every path in $SB, 1-second intervals, event handlers on.
# base.cfg: the time period, commands, the on-call contact and the heal-service template;
# objects.cfg: the hosts and services (sb_nagios_config's, or a test's own).
# SB_EH_OPTS: more heal-event-handler options; SB_EH_STATE: its state folder under nagios/;
# SB_RETRY: retry_interval in seconds (default 1).
sb_nagios_base() {
    mkdir -p "$SB/nagios/rw" "$SB/nagios/tmp" "$SB/nagios/checkresults" "$SB/nagios/${SB_EH_STATE:-eh-state}"
    _user=$(id -un) _group=$(id -gn)
    N=$SB/nagios
    cat >"$N/nagios.cfg" <<EOF
log_file=$N/nagios.log
cfg_file=$N/base.cfg
cfg_file=$N/objects.cfg
resource_file=$N/resource.cfg
object_cache_file=$N/objects.cache
precached_object_file=$N/objects.precache
status_file=$N/status.dat
status_update_interval=1
command_file=$N/rw/nagios.cmd
check_external_commands=1
query_socket=$N/rw/nagios.qh
lock_file=$N/nagios.lock
temp_file=$N/nagios.tmp
temp_path=$N/tmp
check_result_path=$N/checkresults
state_retention_file=$N/retention.dat
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
debug_file=$N/debug.log
debug_level=0
nagios_user=$_user
nagios_group=$_group
interval_length=1
check_result_reaper_frequency=1
max_service_check_spread=1
max_host_check_spread=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
enable_event_handlers=1
event_handler_timeout=30
enable_notifications=1
enable_flap_detection=0
use_syslog=0
log_notifications=1
log_event_handlers=1
log_external_commands=1
log_initial_states=1
log_service_retries=1
check_for_updates=0
bare_update_check=1
illegal_macro_output_chars=\`~\$&|'"<>
EOF
    cat >"$N/resource.cfg" <<EOF
\$USER1\$=$BUILD
\$USER3\$=$SB
EOF
    cat >"$N/base.cfg" <<EOF
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define command {
    command_name check_worker
    command_line \$USER1\$/check_worker -H \$HOSTADDRESS\$ -p \$ARG1\$ -t 2
}
define command {
    command_name heal-event-handler
    command_line \$USER1\$/heal-event-handler --client-config \$USER3\$/heal-ctl.ini --nagios-cfg \$USER3\$/nagios/nagios.cfg --state-dir \$USER3\$/nagios/${SB_EH_STATE:-eh-state} --log \$USER3\$/event-handler.log --timeout 15 --nagios-host "\$HOSTNAME\$" --nagios-service "\$SERVICEDESC\$" --server-name "\$_HOSTHEAL_NAME\$" --service-downtime "\$SERVICEDOWNTIME\$" --host-downtime "\$HOSTDOWNTIME\$" ${SB_EH_OPTS:-} \$SERVICESTATE\$ \$SERVICESTATETYPE\$ \$SERVICEATTEMPT\$ \$HOSTADDRESS\$ \$ARG1\$
}
define command {
    command_name notify-file
    command_line /usr/bin/printf "%s\n" "\$NOTIFICATIONTYPE\$ \$HOSTNAME\$/\$SERVICEDESC\$ \$SERVICESTATE\$ \$NOTIFICATIONCOMMENT\$" >> \$USER3\$/notifications.log
}
define contact {
    contact_name                  oncall
    alias                         On call
    service_notification_period   24x7
    host_notification_period      24x7
    service_notification_options  w,u,c,r
    host_notification_options     d,r
    service_notification_commands notify-file
    host_notification_commands    notify-file
}
define service {
    name                  heal-service
    register              0
    max_check_attempts    3
    check_interval        1
    retry_interval        ${SB_RETRY:-1}
    check_period          24x7
    notification_period   24x7
    notification_interval 0
    notification_options  c,r
    contacts              oncall
    event_handler_enabled 1
}
EOF
}

sb_nagios_config() {
    DEAD_PORT=${DEAD_PORT:-$(sb_free_port)}
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
define service {
    use                 heal-service
    host_name           worker-host
    service_description worker
    check_command       check_worker!$WORKER_PORT
    event_handler       heal-event-handler!worker
}
EOF
    # A worker that dies again after every restart: the listener's budget must stop the loop.
    [ "${SB_CRASHY:-0}" = 1 ] && cat >>"$N/objects.cfg" <<EOF
define service {
    use                 heal-service
    host_name           worker-host
    service_description crashy
    check_command       check_worker!$CRASHY_PORT
    event_handler       heal-event-handler!crashy
}
EOF
    # A worker whose restart script fails: the event handler must page a human.
    [ "${SB_BROKEN:-1}" = 1 ] && cat >>"$N/objects.cfg" <<EOF
define service {
    use                 heal-service
    host_name           worker-host
    service_description broken worker
    check_command       check_worker!$DEAD_PORT
    event_handler       heal-event-handler!broken
}
EOF
    return 0
}

# Waits until Nagios has checked the service and found it OK; false after TIMEOUT seconds.
sb_wait_service_ok() { # DESCRIPTION TIMEOUT [HOST]
    _end=$(( $(date +%s) + $2 ))
    until [ "$(sb_service_status "$1" "${3:-}")" = "0 1" ]; do
        [ "$(date +%s)" -le "$_end" ] || return 1
        sleep 0.1
    done
}

# Prints "STATE CHECKED" (e.g. "0 1") for a service (on HOST, if given) from status.dat.
sb_service_status() { # DESCRIPTION [HOST]
    awk -v svc="$1" -v host="${2:-}" '
        /servicestatus \{/ { b = 1; h = ""; d = ""; s = ""; c = "" }
        b && /^[ \t]*host_name=/ { sub(/^[^=]*=/, ""); h = $0 }
        b && /^[ \t]*service_description=/ { sub(/^[^=]*=/, ""); d = $0 }
        b && /^[ \t]*current_state=/ { sub(/^[^=]*=/, ""); s = $0 }
        b && /^[ \t]*has_been_checked=/ { sub(/^[^=]*=/, ""); c = $0 }
        b && /^[ \t]*}/ { if (d == svc && (host == "" || h == host)) print s, c; b = 0 }' "$SB/nagios/status.dat" 2>/dev/null
}

sb_nagios_start() {
    if ! nagios4 -v "$SB/nagios/nagios.cfg" >"$SB/nagios/verify.log" 2>&1; then
        sb_log "nagios4 -v failed:"; cat "$SB/nagios/verify.log" >&2
        return 1
    fi
    sb_spawn "$SB/nagios/stdout.log" nagios4 "$SB/nagios/nagios.cfg" >/dev/null
    SB_NAGIOS_PID=$!
    sb_wait_for "$SB/nagios/nagios.log" "Successfully launched command file worker" 15 >/dev/null ||
        sb_wait_for "$SB/nagios/nagios.log" "LOG VERSION" 5 >/dev/null
}

# Stops nagios4 (it removes status.dat as it goes) and keeps its log as nagios.log.N.
sb_nagios_stop() {
    kill "$SB_NAGIOS_PID" 2>/dev/null
    _i=0
    while kill -0 "$SB_NAGIOS_PID" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    _n=1
    while [ -e "$SB/nagios/nagios.log.$_n" ]; do _n=$((_n + 1)); done
    mv "$SB/nagios/nagios.log" "$SB/nagios/nagios.log.$_n" 2>/dev/null
    return 0
}
