#!/bin/sh
# heal-event-handler's policy and input handling, run as Nagios would run it. The listener is
# a port where nothing listens: when the handler acts, the call finds no answer and the handler
# must page; when it must not act, it neither calls nor pages. Nagios' status data is a small
# status.dat written here (real nagios4 writes it in fleet.sh); we play Nagios on the FIFO.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
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

# status.dat as nagios4 writes it: SERVICE on hosts h1..hN, the first BAD of them CRITICAL,
# each last OK at $LAST_OK (default never); objects.cache defines the same services.
status_dat() { # SERVICE N BAD [CREATED]
    i=1
    while [ $i -le "$2" ]; do
        printf 'define service {\n\thost_name\th%s\n\tservice_description\t%s\n\tcheck_command\tx\n\t}\n\n' "$i" "$1"
        i=$((i + 1))
    done >"$T/objects.cache"
    {
        printf 'info {\n\tcreated=%s\n\tversion=4.4.6\n\t}\n\n' "${4:-$(date +%s)}"
        i=1
        while [ $i -le "$2" ]; do
            st=0; [ $i -le "$3" ] && st=2
            printf 'servicestatus {\n\thost_name=h%s\n\tservice_description=%s\n\thas_been_checked=1\n\tcurrent_state=%s\n\tlast_time_ok=%s\n\tplugin_output=x=y; z\n\t}\n\n' "$i" "$1" "$st" "${LAST_OK:-0}"
            i=$((i + 1))
        done
    } >"$T/status.dat"
}
status_dat web 4 0

eh() { # ARGS... — runs the handler, logging to $T/log
    : >"$T/log"
    # Open read-write (never blocks): the handler's command lands in the pipe buffer, and we
    # take what is there once it has exited, without waiting or guessing how long to wait.
    exec 4<>"$T/nagios.cmd"
    "$BUILD/heal-event-handler" --client-config "$T/ctl.ini" --command-file "$T/nagios.cmd" \
        --state-dir "$T/state" --status-file "$T/status.dat" --objects-file "$T/objects.cache" \
        --log "$T/log" --timeout 2 "$@"
    dd iflag=nonblock bs=65536 <&4 >>"$T/cmds" 2>/dev/null
    exec 4>&-
}
logged() { grep -q -F -- "$1" "$T/log"; }
mkdir -p "$T/state"

eh OK HARD 1 127.0.0.1 web
logged "recovered: OK HARD attempt 1" && ! logged acting && pass "OK only logs" || fail "OK: $(cat "$T/log")"

eh CRITICAL SOFT 1 127.0.0.1 web
logged "waiting for SOFT attempt 2" && ! logged acting && pass "SOFT 1 waits" || fail "SOFT 1: $(cat "$T/log")"

eh WARNING SOFT 2 127.0.0.1 web
logged "state not handled" && pass "WARNING ignored without --on-warning" || fail "WARNING: $(cat "$T/log")"

: >"$T/cmds"
eh --nagios-host h1 CRITICAL SOFT 2 127.0.0.1 web
if logged "acting: CRITICAL SOFT attempt 2, restart web on h1 (127.0.0.1, certificate name h1; 1 of 4 'web' services not OK)" &&
    logged "no answer:" &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h1;web;2;heal;heal could not fix web on h1: heal-listener could not be reached" "$T/cmds"; then
    pass "SOFT 2 acts; an unreachable listener pages a human"
else
    fail "SOFT 2: $(cat "$T/log") / cmds: $(cat "$T/cmds")"
fi

eh --nagios-host h1 CRITICAL SOFT 2 127.0.0.1 web
logged "already decided for this problem: restart at CRITICAL SOFT 2" && pass "never acts twice for the same attempt" || fail "repeat: $(cat "$T/log")"
eh --nagios-host h1 CRITICAL HARD 3 127.0.0.1 web
logged "already decided for this problem" && pass "HARD after acting on SOFT does not act again" || fail "HARD: $(cat "$T/log")"
eh --nagios-host h1 OK SOFT 3 127.0.0.1 web
logged "problem closed" && pass "recovery closes the problem" || fail "recovery: $(cat "$T/log")"
eh --nagios-host h1 CRITICAL HARD 1 127.0.0.1 web
logged "acting: CRITICAL HARD attempt 1" && pass "HARD acts when nothing was done yet" || fail "HARD first: $(cat "$T/log")"
eh --nagios-host h1 OK HARD 1 127.0.0.1 web >/dev/null

eh --on-warning --nagios-host h2 WARNING SOFT 2 127.0.0.1 web
logged "acting: WARNING SOFT attempt 2" && pass "--on-warning acts on WARNING" || fail "on-warning: $(cat "$T/log")"
eh --nagios-host h2 OK HARD 1 127.0.0.1 web
# Attempt 2 came and went undecided (it waited for a slot, or handlers were off): 3 decides.
mkdir -p "$T/later"
eh --state-dir "$T/later" --nagios-host h2 CRITICAL SOFT 3 127.0.0.1 web
logged "acting: CRITICAL SOFT attempt 3" && pass "a later SOFT attempt acts when nothing was decided yet" ||
    fail "SOFT 3: $(cat "$T/log")"

# A recovery Nagios never told the handler about (event handlers disabled meanwhile): the
# service's last OK in status.dat is after the decision, so that problem is over.
eh --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
logged "acting: CRITICAL SOFT attempt 2, restart web on h4" || fail "h4 first: $(cat "$T/log")"
sleep 1
ok_at=$(date +%s)
LAST_OK=$ok_at status_dat web 4 0
eh --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
logged "earlier decision dropped (restart at CRITICAL SOFT 2): Nagios saw web OK at $(date -u -d "@$ok_at" +%Y-%m-%dT%H:%M:%S.000Z), after it" &&
    logged "acting: CRITICAL SOFT attempt 2, restart web on h4" &&
    pass "a recovery the handler never saw ends the problem: the next one is decided afresh" ||
    fail "missed recovery: $(cat "$T/log")"
eh --nagios-host h4 CRITICAL HARD 3 127.0.0.1 web
logged "already decided for this problem: restart at CRITICAL SOFT 2" && ! logged dropped &&
    pass "and is then remembered as before" || fail "after the missed recovery: $(cat "$T/log")"
status_dat web 4 0
eh --nagios-host h4 OK HARD 1 127.0.0.1 web

# The problem memory's key is (host, service) as two columns: these are two problems.
eh --nagios-host a_b --nagios-service c CRITICAL HARD 1 127.0.0.1 web
eh --nagios-host a --nagios-service b_c CRITICAL HARD 1 127.0.0.1 web
logged "acting: CRITICAL HARD attempt 1" && pass "host a_b + service c and host a + service b_c are different problems" ||
    fail "key collision: $(cat "$T/log")"

# Two handlers for one problem at the same moment: exactly one acts.
: >"$T/race.log"
for i in 1 2 3 4 5 6; do
    "$BUILD/heal-event-handler" --client-config "$T/ctl.ini" --command-file "$T/nagios.cmd" \
        --state-dir "$T/state" --status-file "$T/status.dat" --objects-file "$T/objects.cache" --log "$T/race.log" --timeout 2 \
        --nagios-host h3 CRITICAL HARD 1 127.0.0.1 web &
done
exec 4<>"$T/nagios.cmd"; wait; dd iflag=nonblock bs=65536 <&4 >/dev/null 2>&1; exec 4>&-
n_act=$(grep -c "acting: " "$T/race.log"); n_no=$(grep -c "already decided" "$T/race.log")
[ "$n_act" -eq 1 ] && [ "$n_no" -eq 5 ] && pass "6 handlers at once for one problem: one acts, 5 see it decided" ||
    fail "race: $n_act acted, $n_no saw it decided: $(cat "$T/race.log")"

# The fleet guard, from the status data.
status_dat web 4 2
: >"$T/cmds"
eh --nagios-host h2 CRITICAL SOFT 2 127.0.0.1 web
if logged "blocked: CRITICAL SOFT attempt 2, restart web on h2: widespread failure: 2 of 4 'web' services are not OK" &&
    ! logged acting &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h2;web;2;heal;fleet guard: widespread failure: 2 of 4 'web' services are not OK (--max-unhealthy 25%: at most 1). Not restarting web on h2." "$T/cmds"; then
    pass "2 of 4 not OK: no heal, a page naming the guard"
else
    fail "widespread: $(cat "$T/log") / $(cat "$T/cmds")"
fi
: >"$T/cmds"
eh --nagios-host h2 CRITICAL HARD 3 127.0.0.1 web
logged "already decided for this problem: paged: widespread failure" && [ ! -s "$T/cmds" ] &&
    pass "one page per problem: HARD after the page neither acts nor pages" || fail "second page: $(cat "$T/log") / $(cat "$T/cmds")"
eh --nagios-host h2 OK HARD 1 127.0.0.1 web
eh --max-unhealthy 2 --nagios-host h2 CRITICAL SOFT 2 127.0.0.1 web
logged "acting:" && pass "--max-unhealthy 2 lets 2 of 4 heal" || fail "--max-unhealthy 2: $(cat "$T/log")"
eh --nagios-host h2 OK HARD 1 127.0.0.1 web
status_dat web 1 1
eh --nagios-host h1 CRITICAL SOFT 2 127.0.0.1 web
logged "acting:" && pass "a group of one can heal (never fewer than 1)" || fail "group of one: $(cat "$T/log")"
eh --nagios-host h1 OK HARD 1 127.0.0.1 web
status_dat web 4 0 $(( $(date +%s) - 300 ))
eh --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
# 5m, or 301s when the clock ticked between writing and reading
grep -q -E "Nagios' status file '$T/status.dat' was written (5m|30[0-9]s) ago \(--max-status-age 1m\): is Nagios running\?" "$T/log" && ! logged acting &&
    pass "a stale status file blocks healing and says so" || fail "stale: $(cat "$T/log")"
eh --nagios-host h4 OK HARD 1 127.0.0.1 web
rm -f "$T/status.dat"
eh --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
logged "cannot use Nagios' status data: cannot read Nagios' status file '$T/status.dat': No such file or directory" && ! logged acting &&
    pass "a missing status file blocks healing and says so" || fail "missing: $(cat "$T/log")"
eh --nagios-host h4 OK HARD 1 127.0.0.1 web
head -c 100 /dev/urandom >"$T/status.dat"
eh --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
logged "blocked:" && logged "status file line" && ! logged acting && pass "a garbled status file blocks healing" || fail "garbled: $(cat "$T/log")"
eh --nagios-host h4 OK HARD 1 127.0.0.1 web
# A status file cut after a complete block reads without an error, but lacks members: the
# group is what objects.cache defines, so a member without a state blocks (4 web services, 3
# of them CRITICAL, and the file ends after its info block: read as a group, "1 of 1 not OK").
status_dat web 4 3
sed -i '/^servicestatus {/,$d' "$T/status.dat"
: >"$T/cmds"
eh --state-dir "$T/cut" --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
logged "has no state for 3 of 4 'web' services ('web' on 'h1' and others): cut short, or older than the configuration?" &&
    ! logged acting && grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h4;web;2;heal;fleet guard: Nagios' status file" "$T/cmds" &&
    pass "a status file cut at a block boundary blocks healing and pages" || fail "cut status: $(cat "$T/log") / $(cat "$T/cmds")"
status_dat web 4 0; rm -f "$T/objects.cache"
eh --state-dir "$T/cut2" --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
logged "cannot read the group's members: cannot read Nagios' objects cache '$T/objects.cache': No such file or directory" &&
    ! logged acting && pass "without objects.cache the group is unknown: healing blocked" || fail "no objects.cache: $(cat "$T/log")"
eh --nagios-host h4 OK HARD 1 127.0.0.1 web

# --servicegroup: the group is the members in objects.cache, not the description.
printf 'define servicegroup {\n\tservicegroup_name\tpool\n\tmembers\th1,web,h2,web\n\t}\n' >"$T/groups.cache"
status_dat web 4 2  # h1 and h2 CRITICAL: both of the group's two
eh --servicegroup pool --objects-file "$T/groups.cache" --nagios-host h1 CRITICAL SOFT 2 127.0.0.1 web
logged "widespread failure: 2 of 2 services in group 'pool' are not OK (--max-unhealthy 25%: at most 1)" && ! logged acting &&
    pass "--servicegroup counts the group's members from objects.cache" || fail "servicegroup: $(cat "$T/log")"
eh --nagios-host h1 OK HARD 1 127.0.0.1 web
eh --servicegroup nosuch --objects-file "$T/groups.cache" --nagios-host h1 CRITICAL SOFT 2 127.0.0.1 web
logged "cannot read the group's members: '$T/groups.cache': objects cache: no service group 'nosuch' is defined" && ! logged acting &&
    pass "an unknown --servicegroup blocks healing and says so" || fail "unknown group: $(cat "$T/log")"
eh --nagios-host h1 OK HARD 1 127.0.0.1 web
# h3 is not in the group, yet its own last_time_ok is read: a recovery it missed ends its problem.
mkdir -p "$T/group"
status_dat web 4 0
eh --state-dir "$T/group" --servicegroup pool --objects-file "$T/groups.cache" --nagios-host h3 CRITICAL SOFT 2 127.0.0.1 web
logged "acting: CRITICAL SOFT attempt 2, restart web on h3 (127.0.0.1, certificate name h3; 1 of 3 services in group 'pool' not OK)" ||
    fail "h3 outside the group: $(cat "$T/log")"
sleep 1
LAST_OK=$(date +%s) status_dat web 4 0
eh --state-dir "$T/group" --servicegroup pool --objects-file "$T/groups.cache" --nagios-host h3 CRITICAL SOFT 2 127.0.0.1 web
logged "earlier decision dropped (restart at CRITICAL SOFT 2): Nagios saw web OK at" && logged "acting: CRITICAL SOFT attempt 2" &&
    pass "with --servicegroup, a service outside the group still has its last OK read" ||
    fail "missed recovery with --servicegroup: $(cat "$T/log")"

# The fleet budget across hosts and services, and --dry-run.
status_dat web 4 0
: >"$T/cmds"
eh --state-dir "$T/none/budget" --nagios-host b0 CRITICAL HARD 1 127.0.0.1 web
logged "cannot decide:" && ! logged acting &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;b0;web;2;heal;fleet guard: cannot reach the fleet store (state store '$T/none/budget/event-handler.db': cannot create '$T/none/budget': No such file or directory). Not restarting web on b0." "$T/cmds" &&
    pass "when its state folder cannot be made the handler does not heal, and pages" || fail "no state: $(cat "$T/log") / $(cat "$T/cmds")"
: >"$T/cmds"
for h in h1 h2 h3; do eh --fleet-budget 2/1h --state-dir "$T/budget" --nagios-host "$h" CRITICAL HARD 1 127.0.0.1 web; done
logged "blocked: CRITICAL HARD attempt 1, restart web on h3: fleet budget spent: 2 heals in the last 1h (--fleet-budget 2/1h)" &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h3;web;2;heal;fleet guard: fleet budget spent" "$T/cmds" &&
    pass "--fleet-budget 2/1h: the third heal is blocked and the page names the budget" || fail "budget: $(cat "$T/log") / $(cat "$T/cmds")"
[ "$(stat -c '%a %u' "$T/budget")" = "700 $(id -u)" ] && pass "a missing --state-dir is made, mode 0700, owned by the handler's user" ||
    fail "state dir made as $(stat -c '%a %u' "$T/budget")"
: >"$T/cmds"
eh --dry-run --state-dir "$T/budget" --nagios-host h4 CRITICAL SOFT 2 127.0.0.1 web
logged "dry run: would restart: CRITICAL SOFT attempt 2, restart web on h4" && ! logged acting &&
    grep -q "ADD_SVC_COMMENT;h4;web;1;heal;dry run: would restart web on h4 after CRITICAL SOFT attempt 2 (1 of 4 'web' services not OK). Nothing was done." "$T/cmds" &&
    pass "--dry-run comments what it would do and calls nothing" || fail "dry run: $(cat "$T/log") / $(cat "$T/cmds")"

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
logged "ignored: ';' or a newline" && ! logged acting && pass "';' in a Nagios name cannot inject commands" || fail "nagios name: $(cat "$T/log")"
eh CRITICAL HARD x 127.0.0.1 web4
logged "ignored: bad attempt" && pass "non-numeric attempt ignored" || fail "attempt: $(cat "$T/log")"

bad=0
for opts in "--bogus" "--max-unhealthy 101%" "--max-unhealthy x" "--fleet-budget 10" "--fleet-budget 0/1h" \
            "--max-status-age soon" "--verb reboot" "--fleet-concurrency 0"; do
    # shellcheck disable=SC2086 # the words of each case
    out=$("$BUILD/heal-event-handler" --log "$T/usage.log" $opts CRITICAL HARD 1 127.0.0.1 web 2>&1); rc=$?
    [ $rc -eq 3 ] && [ -n "$out" ] || { fail "'$opts': exit $rc: $out"; bad=1; }
done
[ $bad = 0 ] && pass "usage errors (unknown option, bad limits, bad verb) exit 3 with a message"

# A heal in flight holds the one slot of --fleet-concurrency 1 (its call hangs on a port that
# never answers). A SOFT attempt then waits for the next attempt, without paging; HARD, the
# last event Nagios sends for the problem, pages.
silent=$(sb_free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(60)' "$silent" &
silent_pid=$!
i=0; until ss -Hltn "sport = :$silent" | grep -q . || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
sed "s/^port = .*/port = $silent/" "$T/ctl.ini" >"$T/silent.ini"
status_dat web 4 0
mkdir -p "$T/concurrency"
"$BUILD/heal-event-handler" --client-config "$T/silent.ini" --command-file "$T/none.cmd" \
    --state-dir "$T/concurrency" --status-file "$T/status.dat" --objects-file "$T/objects.cache" --log "$T/inflight.log" --timeout 10 \
    --fleet-concurrency 1 --nagios-host h1 CRITICAL HARD 1 127.0.0.1 web &
inflight_pid=$!
i=0; until grep -q "acting: " "$T/inflight.log" 2>/dev/null || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
: >"$T/cmds"
eh --state-dir "$T/concurrency" --fleet-concurrency 1 --nagios-host h2 CRITICAL SOFT 2 127.0.0.1 web
logged "waiting: CRITICAL SOFT attempt 2, restart web on h2: 1 heal already in flight (--fleet-concurrency 1); the next attempt decides" &&
    [ ! -s "$T/cmds" ] && pass "a SOFT attempt over --fleet-concurrency waits for the next attempt, no page" ||
    fail "waiting: $(cat "$T/log") / cmds: $(cat "$T/cmds")"
eh --state-dir "$T/concurrency" --fleet-concurrency 1 --nagios-host h2 CRITICAL HARD 3 127.0.0.1 web
logged "blocked: CRITICAL HARD attempt 3, restart web on h2: 1 heal already in flight (--fleet-concurrency 1)" &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h2;web;2;heal;fleet guard: 1 heal already in flight" "$T/cmds" &&
    pass "at HARD it pages, naming the guard" || fail "HARD over concurrency: $(cat "$T/log") / cmds: $(cat "$T/cmds")"
kill -9 "$inflight_pid" "$silent_pid" 2>/dev/null; wait "$inflight_pid" "$silent_pid" 2>/dev/null

# Nagios' files from its nagios.cfg: used when it is readable; when not, every heal is blocked
# and paged, naming the file (through the command file given, as no other is known).
eh_cfg() { # ARGS... — the handler with Nagios' paths from a nagios.cfg, not from flags
    : >"$T/log"
    exec 4<>"$T/nagios.cmd"
    "$BUILD/heal-event-handler" --client-config "$T/ctl.ini" --state-dir "$T/cfg-state" --log "$T/log" --timeout 2 "$@"
    dd iflag=nonblock bs=65536 <&4 >>"$T/cmds" 2>/dev/null
    exec 4>&-
}
printf '# as Nagios writes it\nlog_file=/nonexistent/nagios.log\ncfg_dir=/nonexistent\n status_file = %s \nobject_cache_file=%s\ncommand_file=%s\n' \
    "$T/status.dat" "$T/objects.cache" "$T/nagios.cmd" >"$T/nagios.cfg"
status_dat web 4 0
: >"$T/cmds"
eh_cfg --nagios-cfg "$T/nagios.cfg" --nagios-host h6 CRITICAL HARD 1 127.0.0.1 web
logged "acting: CRITICAL HARD attempt 1, restart web on h6 (127.0.0.1, certificate name h6; 1 of " &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h6;web;2;heal;heal could not fix web on h6" "$T/cmds" &&
    pass "--nagios-cfg: the status, objects and command files come from nagios.cfg" ||
    fail "--nagios-cfg: $(cat "$T/log") / cmds: $(cat "$T/cmds")"
: >"$T/cmds"
eh_cfg --nagios-cfg "$T/nonesuch.cfg" --command-file "$T/nagios.cmd" --nagios-host h7 CRITICAL HARD 1 127.0.0.1 web
logged "cannot use Nagios' configuration: cannot read Nagios' configuration '$T/nonesuch.cfg': No such file or directory" &&
    ! logged acting &&
    grep -q "SEND_CUSTOM_SVC_NOTIFICATION;h7;web;2;heal;fleet guard: cannot use Nagios' configuration: cannot read Nagios' configuration '$T/nonesuch.cfg'" "$T/cmds" &&
    pass "an unreadable --nagios-cfg blocks the heal and pages, naming the file" ||
    fail "unreadable nagios.cfg: $(cat "$T/log") / cmds: $(cat "$T/cmds")"

# One read per generation of Nagios' files: a second event on the same status.dat (same inode,
# size and time) uses what the first kept (STATE_DIR/nagios-view.db), so bytes changed behind
# the handler's back while size and time stay are not read again; a new file is.
status_dat web 4 0
: >"$T/cmds"
eh --state-dir "$T/gen-state" --nagios-host h1 CRITICAL HARD 1 127.0.0.1 web
logged "acting: CRITICAL HARD attempt 1, restart web on h1" || fail "view cache, first event: $(cat "$T/log")"
touch -r "$T/status.dat" "$T/status.ref"
sed 's/^\tcurrent_state=0/\tcurrent_state=X/' "$T/status.dat" >"$T/status.bad"  # invalid, the same size
cat "$T/status.bad" >"$T/status.dat"  # the same inode
touch -r "$T/status.ref" "$T/status.dat"
eh --state-dir "$T/gen-state" --nagios-host h2 CRITICAL HARD 1 127.0.0.1 web
if logged "acting: CRITICAL HARD attempt 1, restart web on h2 (127.0.0.1, certificate name h2; 1 of 4 'web' services not OK)"; then
    pass "a second event on the same status.dat generation uses the first one's view (not read again)"
else
    fail "view cache, second event: $(cat "$T/log")"
fi
touch "$T/status.dat"  # a new generation: read again, and refused
eh --state-dir "$T/gen-state" --nagios-host h3 CRITICAL HARD 1 127.0.0.1 web
logged "cannot use Nagios' status data" && ! logged "acting:" &&
    pass "a new generation of status.dat is read again (and this one is refused)" ||
    fail "view cache, new generation: $(cat "$T/log")"

# A wide outage: 20 handlers start at once on a status.dat generation nobody has kept (10,000
# services). One reads Nagios' files; the others wait for its turn (STATE_DIR/nagios-view.lock)
# and use the view it kept, instead of each reading the file.
awk 'BEGIN {
    for (i = 1; i <= 10000; i++) printf "define service {\n\thost_name\th%d\n\tservice_description\tweb\n\tcheck_command\tx\n\t}\n\n", i > "'"$T/objects.cache"'"
    printf "info {\n\tcreated=%d\n\tversion=4.4.6\n\t}\n\n", systime()
    for (i = 1; i <= 10000; i++)
        printf "servicestatus {\n\thost_name=h%d\n\tservice_description=web\n\thas_been_checked=1\n\tcurrent_state=%d\n\tlast_time_ok=0\n\tplugin_output=x\n\t}\n\n", i, (i <= 20) ? 2 : 0
}' >"$T/status.dat"
: >"$T/wide.log"
mkdir -p "$T/wide-state"
i=1
while [ $i -le 20 ]; do
    "$BUILD/heal-event-handler" --dry-run --client-config "$T/ctl.ini" --command-file "$T/wide.cmd" \
        --state-dir "$T/wide-state" --status-file "$T/status.dat" --objects-file "$T/objects.cache" \
        --log "$T/wide.log" --timeout 10 --fleet-budget 100/1h --nagios-host "h$i" CRITICAL HARD 1 127.0.0.1 web \
        >/dev/null 2>&1 &
    i=$((i + 1))
done
wait
reads=$(grep -c "reading Nagios' files for this generation" "$T/wide.log")
decided=$(grep -c "dry run: would restart: CRITICAL HARD attempt 1" "$T/wide.log")
if [ "$reads" -eq 1 ] && [ "$decided" -eq 20 ]; then
    pass "a wide outage costs one read: 20 handlers at once on a new generation of 10,000 services, 1 read it, 20 decided"
else
    fail "20 handlers at once: $reads read the files, $decided decided: $(grep -v 'dry run' "$T/wide.log" | tail -5)"
fi
status_dat web 4 0

# A Nagios that does not read its command FIFO must not hang the handler.
rm -f "$T/nagios.cmd"; mkfifo "$T/nagios.cmd"
exec 5<>"$T/nagios.cmd"  # a reader that never reads: the pipe fills
head -c 65536 /dev/zero >"$T/nagios.cmd" 2>/dev/null &
sleep 0.2
status_dat web 4 0
start=$(date +%s)
"$BUILD/heal-event-handler" --client-config "$T/ctl.ini" --command-file "$T/nagios.cmd" --state-dir "$T/state" \
    --status-file "$T/status.dat" --objects-file "$T/objects.cache" --log "$T/log" --timeout 1 --nagios-host h5 CRITICAL HARD 1 127.0.0.1 web
took=$(( $(date +%s) - start ))
exec 5>&-
[ "$took" -le 8 ] && logged "cannot tell the monitoring (Nagios did not read its command file within 5s)" &&
    pass "a command FIFO nobody reads costs at most 5 s ($took s)" || fail "dead FIFO: took $took s: $(cat "$T/log")"
exit $failed
