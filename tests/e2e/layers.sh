#!/bin/sh
# The layout tells the architecture (issue 29): includes name their directory and never point
# up (scripts/heal-layers), the Alertmanager receiver links no Nagios code, and no function on
# the decision path is over 60 lines. Each rule is also shown to catch a planted breach.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HEAL_BUILD:-$SRC/build}
T=$(mktemp -d /tmp/heal-e2e-layers.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; }

# 1. The tree keeps the rules.
if out=$("$SRC/scripts/heal-layers" "$SRC" 2>&1); then
    pass "layers: every include names its directory, none points up"
else
    fail "layers: $out"
fi

# 2. A breach is caught: fleet/ including a Nagios header, and a header named without its folder.
mkdir -p "$T/src"
cp -r "$SRC/common" "$SRC/fleet" "$SRC/handler" "$SRC/receiver" "$T/src/"
printf '#include "handler/status_file.hpp"\n' >>"$T/src/fleet/guard.hpp"
printf '#include "heal_alerts.hpp"\n' >>"$T/src/receiver/pages.cpp"
out=$("$SRC/scripts/heal-layers" "$T/src" 2>&1); rc=$?
case $rc:$out in
    1:*'fleet/guard.hpp:'*'#include "handler/status_file.hpp": fleet may include only fleet common'*'receiver/pages.cpp:'*'does not name its directory'*)
        pass "layers: a planted upward include and a bare one are caught (exit 1, both named)" ;;
    *) fail "layers: planted breaches not caught (exit $rc): $out" ;;
esac

# 3. The receiver links the decision core, not the Nagios sources (the event handler does: the
#    check can tell).
if ! command -v nm >/dev/null 2>&1; then
    echo "SKIP layers: nm (binutils) is not installed — the receiver's symbols WERE NOT CHECKED"
else
    r=$(nm -C "$BUILD/heal-alert-receiver" 2>&1 | grep -c 'heal::nagios::\|heal::icinga2::\|heal::handler::')
    h=$(nm -C "$BUILD/heal-event-handler" 2>&1 | grep -c 'heal::nagios::')
    f=$(nm -C "$BUILD/heal-alert-receiver" 2>&1 | grep -c 'heal::fleet::')
    if [ "$r" -eq 0 ] && [ "$h" -gt 0 ] && [ "$f" -gt 0 ]; then
        pass "layers: heal-alert-receiver links no Nagios or Icinga 2 code ($f fleet symbols; the event handler has $h Nagios ones)"
    else
        fail "layers: heal-alert-receiver has $r Nagios/Icinga 2/handler symbols, $f fleet ones (event handler: $h Nagios)"
    fi
fi

# 4. No function of the decision path over 60 lines (a definition starts at column 0 and ends
#    with the first "}" at column 0 after it).
long_functions() { # files...
    awk 'FNR == 1 { start = 0 }
         start == 0 && /^[A-Za-z].*[)] (const )?(try )?\{$|^[A-Za-z].*[)] (const )?(override )?(try )?\{$/ { start = FNR; name = $0; next }
         start > 0 && /^\}/ { if (FNR - start - 1 > 60) printf "%s:%d: %d lines: %s\n", FILENAME, start, FNR - start - 1, name; start = 0 }' "$@"
}
files="$SRC/fleet/claim.cpp $SRC/fleet/guard.cpp $SRC/fleet/heal_call.cpp $SRC/handler/event_handler.cpp $SRC/receiver/heal_alerts.cpp"
out=$(long_functions $files)
if [ -z "$out" ]; then
    pass "layers: no function of the decision path (fleet/, event_handler.cpp, heal_alerts.cpp) is over 60 lines"
else
    fail "layers: functions over 60 lines: $out"
fi
{ echo 'int long_one(int x) {'; i=0; while [ $i -lt 61 ]; do echo '    x += 1;'; i=$((i + 1)); done; echo '    return x;'; echo '}'; } >"$T/long.cpp"
case $(long_functions "$T/long.cpp") in
    *"long.cpp:1: 62 lines: int long_one(int x) {"*) pass "layers: the length check catches a planted 62-line function" ;;
    *) fail "layers: the length check missed a planted 62-line function: $(long_functions "$T/long.cpp")" ;;
esac
