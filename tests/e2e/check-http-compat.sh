#!/bin/sh
# check_worker as a drop-in for check_http: the same command lines through Debian's check_http
# (monitoring-plugins-basic) and check_worker, against the fixture servers of the integration
# tests (tests/fixtures/worker_server.py). Each line must give the same exit code, except the
# deliberate differences listed in the table (and in check_worker(1)), where check_worker's own
# code is asserted, so the list stays true.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
CHECK_HTTP=/usr/lib/nagios/plugins/check_http
PATH=$PATH:/usr/lib/nagios/plugins  # where Debian puts check_http
sb_e2e_setup check-http-compat check_http monitoring-plugins-basic
failed=0
pass() { echo "PASS check_http-compat: $1"; }
fail() { echo "FAIL check_http-compat: $1"; failed=1; }

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

# want | check_worker's extra options | the command line both get
# want: "same", or "N why": a deliberate difference, check_worker exits N.
# check_http never verifies a certificate; check_worker is given --insecure or --ca where
# verification is not what the line compares.
cases() {
cat <<T
same||-H 127.0.0.1 -p $HTTP -u /ok
same||-H 127.0.0.1 -p $HTTP -u /notfound
same||-H 127.0.0.1 -p $HTTP -u /fail
same||-H 127.0.0.1 -p $HTTP -u /ok -s 'worker ready'
same||-H 127.0.0.1 -p $HTTP -u /ok -s 'not there'
same||-H 127.0.0.1 -p $HTTP -u /lines -r '^OK\$'
same||-H 127.0.0.1 -p $HTTP -u /lines -r '^workers: [0-9]+\$'
same||-H 127.0.0.1 -p $HTTP -u /lines -r '^DOWN\$'
same||-H 127.0.0.1 -p $HTTP -u /lines -R '^ok\$'
same||-H 127.0.0.1 -p $HTTP -u /lines -l -r '^OK\$'
same||-H 127.0.0.1 -p $HTTP -u /lines --invert-regex -r 'DOWN'
same||-H 127.0.0.1 -p $HTTP -u /lines --invert-regex -r 'OK'
same||-H 127.0.0.1 -p $HTTP -u /ok -d 'Content-Type: text/plain'
same||-H 127.0.0.1 -p $HTTP -u /ok -d 'X-Missing'
same||-H 127.0.0.1 -p $HTTP -u /ok -e 200
same||-H 127.0.0.1 -p $HTTP -u /ok -e 'HTTP/1.1 200'
same||-H 127.0.0.1 -p $HTTP -u /notfound -e 404,503
same||-H 127.0.0.1 -p $HTTP -u /ok -e 404
same||-H 127.0.0.1 -p $HTTP -u /redirect
same||-H 127.0.0.1 -p $HTTP -u /redirect -f follow -s 'worker ready'
same||-H 127.0.0.1 -p $HTTP -u /redirect -f critical
same||-H 127.0.0.1 -p $HTTP -u /redirect -f warning
same||-H 127.0.0.1 -p $HTTP -u /see-other -f follow
same||-H 127.0.0.1 -p $HTTP -u /loop -f follow
same||-H 127.0.0.1 -p $HTTP -u /ok -m 100
same||-H 127.0.0.1 -p $HTTP -u /ok -m 5000
same||-H 127.0.0.1 -p $HTTP -u /ok -m 10:100
same||-H 127.0.0.1 -p $HTTP -u /ok -m 100:5000
same||-H 127.0.0.1 -p $HTTP -u /slow?ms=2500 -t 1
same||-H 127.0.0.1 -p $HTTP -u /slow?ms=300 -w 0.1 -c 5
same||-H 127.0.0.1 -p $HTTP -u /slow?ms=300 -w 0.1 -c 0.2
same||-H 127.0.0.1 -p $HTTP -u /auth
same||-H 127.0.0.1 -p $HTTP -u /auth -a user:pass
same||-H 127.0.0.1 -p $HTTP -u /echo -P 'a=b' -s 'POST /echo'
same||-H 127.0.0.1 -p $HTTP -u /echo -j PUT -P '{}' -T application/json -s 'Content-Type: application/json'
same||-H 127.0.0.1 -p $HTTP -u /echo -k 'X-Probe: yes' -s 'X-Probe: yes'
same||-H 127.0.0.1 -p $HTTP -u /echo -A 'probe/1.0' -s 'probe/1.0'
same||-H 127.0.0.1 -p $HTTP -u /ok -j HEAD
same||-H 127.0.0.1 -p $HTTP -u /ok -N
same||-H 127.0.0.1 -p $HTTP -u /dated?age=7200 -M 1h
same||-H 127.0.0.1 -p $HTTP -u /dated?age=7200 -M 3h
same||-H 127.0.0.1 -p $HTTP -u /bare-lf -s 'bare ok'
same||-H 127.0.0.1 -p $HTTP -u /headers-at-close
same||-H 127.0.0.1 -p $HTTP -u /not-http
2 conflicting Content-Length headers are refused (RFC 9112 6.3), never guessed||-H 127.0.0.1 -p $HTTP -u /twice-length
2 headers over 64 KiB are refused||-H 127.0.0.1 -p $HTTP -u /huge-headers
same||-H 127.0.0.1:$HTTP -u /echo-headers -s 'Host: 127.0.0.1:$HTTP'
same||-H web.example:8080 -I 127.0.0.1 -p $HTTP -u /echo-headers -s 'Host: web.example:8080'
same||-H 127.0.0.1 -p $CLOSED -u /ok
same||-H 127.0.0.1 -p $HTTP -u /health/nested-up -s '"status": "UP"'
2 check_worker verifies the server certificate (check_http never does)||-H localhost -S -p $HTTPS -u /ok
same|--insecure|-H localhost -S -p $HTTPS -u /ok
same|--ca $C/ca.crt|-H localhost --ssl=1.2 --sni -p $HTTPS -u /ok -s 'worker ready'
same|--ca $SB/short/ca.crt|-H localhost -S -p $SHORT -u /ok -C 3
same|--ca $SB/short/ca.crt|-H localhost -S -p $SHORT -u /ok -C 30
same|--ca $SB/short/ca.crt|-H localhost -S -p $SHORT -u /ok -C 30,10
same|--insecure|-H localhost -S -p $EXPIRED -u /ok -C 30,7
2 a certificate not valid yet is CRITICAL (check_http reads only its end date)|--insecure|-H localhost -S -p $FUTURE -u /ok -C 7
same|--ca $C/ca.crt|-H localhost -S -p $MTLS -u /ok -J $C/client.crt -K $C/client.key
same|--ca $C/ca.crt|-H localhost -p $MTLS -u /ok -J $C/client.crt -K $C/client.key
same|--ca $C/ca.crt|-H localhost -S -p $MTLS -u /ok
T
}

n=0
cases >"$SB/cases"
while IFS='|' read -r want extra line; do
    n=$((n + 1))
    eval "set -- $line"
    "$CHECK_HTTP" -t 5 "$@" >"$SB/http.out" 2>&1; http=$?
    eval "set -- $extra $line"
    "$BUILD/check_worker" -t 5 "$@" >"$SB/worker.out" 2>&1; worker=$?
    what="${extra:+[+$extra] }$line"
    case $want in
        same)
            [ "$http" = "$worker" ] && pass "same exit $worker: $what" ||
                fail "check_http $http, check_worker $worker: $what
  check_http:   $(head -1 "$SB/http.out")
  check_worker: $(head -1 "$SB/worker.out")" ;;
        *)
            code=${want%% *} why=${want#* }
            [ "$worker" = "$code" ] && [ "$http" != "$worker" ] &&
                pass "deliberate: check_http $http, check_worker $worker ($why): $what" ||
                fail "deliberate difference no longer holds (check_http $http, check_worker $worker, want $code: $why): $what
  check_http:   $(head -1 "$SB/http.out")
  check_worker: $(head -1 "$SB/worker.out")" ;;
    esac
done <"$SB/cases"
[ "$n" -ge 60 ] || fail "only $n cases ran"
exit $failed
