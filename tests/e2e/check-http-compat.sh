#!/bin/sh
# check_worker as a drop-in for check_http and check_curl: the same command lines through
# Debian's check_http (monitoring-plugins-basic), check_curl (monitoring-plugins-standard) and
# check_worker, against the fixture servers of the integration tests
# (tests/fixtures/worker_server.py). Each line must give the same exit code, except the
# differences listed in the table (and in check_worker(1)), where check_worker's own code is
# asserted and the other's must differ, so the list stays true.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
# HEAL_CHECK_HTTP and HEAL_CHECK_CURL replace Debian's programs (tests/e2e/deps.sh gives a
# broken one).
CHECK_HTTP=${HEAL_CHECK_HTTP:-/usr/lib/nagios/plugins/check_http}
PATH=$PATH:$(dirname "$CHECK_HTTP")  # where Debian puts check_http
sb_e2e_setup check-http-compat "$(basename "$CHECK_HTTP")" monitoring-plugins-basic
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=1; }
CHECK_CURL=${HEAL_CHECK_CURL:-/usr/lib/nagios/plugins/check_curl}
[ -x "$CHECK_CURL" ] ||
    echo "SKIP check_curl-compat: check_curl is not installed (apt-get install monitoring-plugins-standard) — check_curl WAS NOT COMPARED"
# A peer that cannot run compares nothing: one setup failure, not a "difference" per line.
sb_peer_runs check_http-compat "$CHECK_HTTP" --version || exit 1
[ ! -x "$CHECK_CURL" ] || sb_peer_runs check_curl-compat "$CHECK_CURL" --version || exit 1

for d in main other wrongname short; do
    case $d in
        wrongname) "$SRC/scripts/heal-dev-certs" --san DNS:other.example "$SB/$d" >/dev/null ;;
        short) "$SRC/scripts/heal-dev-certs" --days 5 "$SB/$d" >/dev/null ;;
        *) "$SRC/scripts/heal-dev-certs" "$SB/$d" >/dev/null ;;
    esac
done
"$SRC/tests/fixtures/mint-client-certs" "$SB/main" >/dev/null
python3 "$SRC/tests/fixtures/worker_server.py" "$SB" "$SB/ports.json" >"$SB/server.log" 2>&1 &
SB_PIDS="${SB_PIDS:-} $!"
i=0
while [ ! -s "$SB/ports.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$SB/ports.json" "$1"; }
HTTP=$(port http) HTTPS=$(port https) SHORT=$(port https_short) EXPIRED=$(port https_expired)
FUTURE=$(port https_future) MTLS=$(port https_mtls)
CLOSED=$(sb_free_port)
C=$SB/main

# vs check_http | vs check_curl | check_worker's extra options | the command line all get
# "same", or "N why": a difference, check_worker exits N. (Debian 12's check_curl is 2.3.3.)
# check_http never verifies a certificate; check_worker is given --insecure or --ca where
# verification is not what the line compares.
cases() {
cat <<T
same|same||-H 127.0.0.1 -p $HTTP -u /ok
same|same||-H 127.0.0.1 -p $HTTP -u /notfound
same|same||-H 127.0.0.1 -p $HTTP -u /fail
same|same||-H 127.0.0.1 -p $HTTP -u /ok -s 'worker ready'
same|same||-H 127.0.0.1 -p $HTTP -u /ok -s 'not there'
same|same||-H 127.0.0.1 -p $HTTP -u /lines -r '^OK\$'
same|same||-H 127.0.0.1 -p $HTTP -u /lines -r '^workers: [0-9]+\$'
same|same||-H 127.0.0.1 -p $HTTP -u /lines -r '^DOWN\$'
same|same||-H 127.0.0.1 -p $HTTP -u /lines -R '^ok\$'
same|same||-H 127.0.0.1 -p $HTTP -u /lines -l -r '^OK\$'
same|same||-H 127.0.0.1 -p $HTTP -u /lines --invert-regex -r 'DOWN'
same|same||-H 127.0.0.1 -p $HTTP -u /lines --invert-regex -r 'OK'
same|same||-H 127.0.0.1 -p $HTTP -u /ok -d 'Content-Type: text/plain'
same|same||-H 127.0.0.1 -p $HTTP -u /ok -d 'X-Missing'
same|same||-H 127.0.0.1 -p $HTTP -u /ok -e 200
same|same||-H 127.0.0.1 -p $HTTP -u /ok -e 'HTTP/1.1 200'
same|same||-H 127.0.0.1 -p $HTTP -u /notfound -e 404,503
same|same||-H 127.0.0.1 -p $HTTP -u /ok -e 404
same|same||-H 127.0.0.1 -p $HTTP -u /redirect
same|0 check_curl 2.3.3 loses the port of a relative redirect (connects to port 80)||-H 127.0.0.1 -p $HTTP -u /redirect -f follow -s 'worker ready'
same|same||-H 127.0.0.1 -p $HTTP -u /redirect -f critical
same|same||-H 127.0.0.1 -p $HTTP -u /redirect -f warning
same|0 check_curl 2.3.3 loses the port of a relative redirect (connects to port 80)||-H 127.0.0.1 -p $HTTP -u /see-other -f follow
same|same||-H 127.0.0.1 -p $HTTP -u /loop -f follow
same|same||-H 127.0.0.1 -p $HTTP -u /ok -m 100
same|same||-H 127.0.0.1 -p $HTTP -u /ok -m 5000
same|same||-H 127.0.0.1 -p $HTTP -u /ok -m 10:100
same|same||-H 127.0.0.1 -p $HTTP -u /ok -m 100:5000
same|same||-H 127.0.0.1 -p $HTTP -u /slow?ms=2500 -t 1
same|same||-H 127.0.0.1 -p $HTTP -u /slow?ms=300 -w 0.1 -c 5
same|same||-H 127.0.0.1 -p $HTTP -u /slow?ms=300 -w 0.1 -c 0.2
same|same||-H 127.0.0.1 -p $HTTP -u /auth
same|same||-H 127.0.0.1 -p $HTTP -u /auth -a user:pass
same|same||-H 127.0.0.1 -p $HTTP -u /echo -P 'a=b' -s 'POST /echo'
same|same||-H 127.0.0.1 -p $HTTP -u /echo -j PUT -P '{}' -T application/json -s 'Content-Type: application/json'
same|same||-H 127.0.0.1 -p $HTTP -u /echo -k 'X-Probe: yes' -s 'X-Probe: yes'
same|same||-H 127.0.0.1 -p $HTTP -u /echo -A 'probe/1.0' -s 'probe/1.0'
same|same||-H 127.0.0.1 -p $HTTP -u /ok -j HEAD
same|same||-H 127.0.0.1 -p $HTTP -u /ok -N
same|same||-H 127.0.0.1 -p $HTTP -u /ok -E
same|same||-H 127.0.0.1 -p $HTTP -u /dated?age=7200 -M 1h
same|same||-H 127.0.0.1 -p $HTTP -u /dated?age=7200 -M 3h
same|0 check_curl 2.3.3's status-line parser refuses bare-LF lines, which curl and RFC 9112 accept||-H 127.0.0.1 -p $HTTP -u /bare-lf -s 'bare ok'
same|same||-H 127.0.0.1 -p $HTTP -u /headers-at-close
same|same||-H 127.0.0.1 -p $HTTP -u /not-http
2 conflicting Content-Length headers are refused (RFC 9112 6.3), never guessed|same||-H 127.0.0.1 -p $HTTP -u /twice-length
2 headers over 64 KiB are refused|2 headers over 64 KiB are refused||-H 127.0.0.1 -p $HTTP -u /huge-headers
same|same||-H 127.0.0.1:$HTTP -u /echo-headers -s 'Host: 127.0.0.1:$HTTP'
same|same||-H web.example:8080 -I 127.0.0.1 -p $HTTP -u /echo-headers -s 'Host: web.example:8080'
same|same||-H 127.0.0.1 -p $CLOSED -u /ok
same|same||-H 127.0.0.1 -p $HTTP -u /health/nested-up -s '"status": "UP"'
2 check_worker verifies the server certificate (check_http never does)|2 check_worker verifies the server certificate (check_curl only with -D)||-H localhost -S -p $HTTPS -u /ok
same|same|--insecure|-H localhost -S -p $HTTPS -u /ok
same|same|--ca $C/ca.crt|-H localhost --ssl=1.2 --sni -p $HTTPS -u /ok -s 'worker ready'
same|same|--ca $SB/short/ca.crt|-H localhost -S -p $SHORT -u /ok -C 3
same|same|--ca $SB/short/ca.crt|-H localhost -S -p $SHORT -u /ok -C 30
same|same|--ca $SB/short/ca.crt|-H localhost -S -p $SHORT -u /ok -C 30,10
same|same|--insecure|-H localhost -S -p $EXPIRED -u /ok -C 30,7
2 a certificate not valid yet is CRITICAL (check_http reads only its end date)|2 a certificate not valid yet is CRITICAL (check_curl reads only its end date)|--insecure|-H localhost -S -p $FUTURE -u /ok -C 7
same|same|--ca $C/ca.crt|-H localhost -S -p $MTLS -u /ok -J $C/client.crt -K $C/client.key
same|same|--ca $C/ca.crt|-H localhost -p $MTLS -u /ok -J $C/client.crt -K $C/client.key
same|same|--ca $C/ca.crt|-H localhost -S -p $MTLS -u /ok
T
}

# compare NAME WANT EXIT_OF_NAME WHAT
compare() {
    case $2 in
        same)
            [ "$3" = "$worker" ] && pass "$1-compat: same exit $worker: $4" ||
                fail "$1-compat: $1 $3, check_worker $worker: $4
  $1: $(head -1 "$SB/other.out")
  check_worker: $(head -1 "$SB/worker.out")" ;;
        *)
            code=${2%% *} why=${2#* }
            [ "$worker" = "$code" ] && [ "$3" != "$worker" ] &&
                pass "$1-compat: deliberate: $1 $3, check_worker $worker ($why): $4" ||
                fail "$1-compat: the difference no longer holds ($1 $3, check_worker $worker, want $code: $why): $4
  $1: $(head -1 "$SB/other.out")
  check_worker: $(head -1 "$SB/worker.out")" ;;
    esac
}

# A peer that stops being able to run midway is a setup error too, never a difference.
compare_ran() { # NAME WANT EXIT WHAT
    case $3 in
        126 | 127) fail "$1-compat setup: $1 could not run (exit $3): $(head -1 "$SB/other.out")"
                   exit 1 ;;
    esac
    compare "$@"
}

n=0
cases >"$SB/cases"
while IFS='|' read -r want_http want_curl extra line; do
    n=$((n + 1))
    eval "set -- $extra $line"
    "$BUILD/check_worker" -t 5 "$@" >"$SB/worker.out" 2>&1; worker=$?
    what="${extra:+[+$extra] }$line"
    eval "set -- $line"
    "$CHECK_HTTP" -t 5 "$@" >"$SB/other.out" 2>&1
    compare_ran check_http "$want_http" $? "$what"
    if [ -x "$CHECK_CURL" ]; then
        "$CHECK_CURL" -t 5 "$@" >"$SB/other.out" 2>&1
        compare_ran check_curl "$want_curl" $? "$what"
    fi
done <"$SB/cases"
[ "$n" -ge 60 ] || fail "only $n cases ran"
exit $failed
