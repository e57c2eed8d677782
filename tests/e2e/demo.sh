#!/bin/sh
# `make demo` as a newcomer runs it: it says it builds first, shows one line per build step (never
# a compiler command line), and the loop heals the worker.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/scripts/heal-sandbox.sh" && sb_own_network "$0" "$@"  # its own loopback
BUILD=${HEAL_BUILD:-$SRC/build}
pass() { echo "PASS demo: $1"; }
fail() { echo "FAIL demo: $1"; }
if ! command -v nagios4 >/dev/null 2>&1; then
    echo "SKIP demo: nagios4 is not installed (apt-get install nagios4-core) — make demo WAS NOT TESTED"
    exit 0
fi
T=$(mktemp -d /tmp/heal-demo-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

# The quiet build, on one object of a fresh build folder.
make -s -C "$SRC" --no-print-directory B="$T/b" V=0 "$T/b/common/text.o" >"$T/step" 2>&1
if [ "$(cat "$T/step")" = "  CXX  common/text.cpp" ]; then
    pass "V=0 builds with one line per step ('  CXX  common/text.cpp')"
else
    fail "V=0 printed: $(cat "$T/step")"
fi

# The demo itself, on this build.
make -C "$SRC" --no-print-directory B="$BUILD" demo >"$T/out" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q "^healed in .* s with nobody touching anything" "$T/out"; then
    pass "make demo heals the worker: $(grep '^healed in' "$T/out")"
else
    fail "make demo exit $rc: $(tail -5 "$T/out")"
fi
if grep -q "^heal demo: building first, on [0-9]* cores" "$T/out"; then
    pass "make demo says up front that it builds first"
else
    fail "make demo does not say it builds first: $(head -3 "$T/out")"
fi
if grep -Eq "(^|[ /])(g\+\+|c\+\+|clang\+\+|cc|ar) .*(-c|-o|rcs) " "$T/out"; then
    fail "make demo printed compiler command lines: $(grep -E '(g\+\+|ar rcs)' "$T/out" | head -2)"
else
    pass "make demo printed no compiler command lines"
fi
# Status text is cut at a word ("... Connection refused" or "... 127.0.0.1:NNNN: ..."), never
# inside one ("Connecti").
crit=$(grep "Nagios: worker CRITICAL SOFT 1" "$T/out" | head -n 1)
case $crit in
    *" ..."|*"Connection refused") pass "make demo cuts status text at a word: ${crit#*] }" ;;
    *) fail "make demo cuts status text inside a word: $crit" ;;
esac
