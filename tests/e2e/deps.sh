#!/bin/sh
# A fresh machine: what `make deps` installs runs. heal-deps' check finds a peer that is
# installed but cannot run (a library it only recommends is missing: check_curl without
# liburiparser1 once), and a suite meeting such a peer fails once as a setup error, never as
# one "difference" per compared line.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh"
SB=$(mktemp -d /tmp/heal-e2e-deps.XXXXXX)
trap 'rm -rf "$SB"' EXIT
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=1; }

# 1. Every peer this machine has runs (what `make deps` promises the suites).
if out=$("$SRC/scripts/heal-deps" check 2>&1); then
    pass "deps: every installed peer program runs (heal-deps check)"
else
    fail "deps: heal-deps check: $out"
fi

# 2. A peer that cannot load its library: heal-deps check names it and fails.
mkdir -p "$SB/bin"
cat >"$SB/bin/check_curl" <<'EOF'
#!/bin/sh
echo "check_curl: error while loading shared libraries: liburiparser.so.1: cannot open shared object file: No such file or directory" >&2
exit 127
EOF
chmod +x "$SB/bin/check_curl"
out=$(HEAL_DEPS_PEERS="$SB/bin/check_curl:--version" "$SRC/scripts/heal-deps" check 2>&1); rc=$?
case "$rc:$out" in
    1:*"$SB/bin/check_curl cannot run (exit 127)"*liburiparser.so.1*)
        pass "deps: a peer missing its library fails heal-deps check, named with the loader's message" ;;
    *) fail "deps: a broken peer passed heal-deps check (exit $rc): $out" ;;
esac
printf '#!/bin/sh\necho "check_ok v1"\n' >"$SB/bin/check_ok"; chmod +x "$SB/bin/check_ok"
HEAL_DEPS_PEERS="$SB/bin/check_ok:--version $SB/bin/absent:--version" "$SRC/scripts/heal-deps" check >/dev/null 2>&1 &&
    pass "deps: a peer that runs, or one not installed, passes heal-deps check" ||
    fail "deps: heal-deps check refused a peer that runs"

# 3. check-http-compat with that check_curl: one setup failure, no comparison counted.
if [ -x /usr/lib/nagios/plugins/check_http ]; then
    out=$(HEAL_CHECK_CURL="$SB/bin/check_curl" "$SRC/tests/e2e/check-http-compat.sh" 2>&1); rc=$?
    fails=$(printf '%s\n' "$out" | grep -c '^FAIL ')
    compared=$(printf '%s\n' "$out" | grep -c '^PASS \|differences\|-compat: check_curl [0-9]')
    if [ "$rc" -ne 0 ] && [ "$fails" -eq 1 ] && [ "$compared" -eq 0 ] &&
        printf '%s\n' "$out" | grep -q '^FAIL check_curl-compat setup: .*cannot run (exit 127): .*liburiparser'; then
        pass "deps: check-http-compat with a check_curl that cannot run: one setup FAIL, nothing compared"
    else
        fail "deps: check-http-compat with a broken check_curl (exit $rc, $fails FAIL, $compared compared): $(printf '%s\n' "$out" | head -5)"
    fi
else
    echo "SKIP deps: check_http is not installed (apt-get install monitoring-plugins-basic) — the setup error WAS NOT TESTED"
fi
exit $failed
