#!/bin/sh
# The test runner itself, on fake suites: a suite that crashes after printing its summary is a
# failure, skips are counted, and the last line is always "N passed, N failed, N skipped".
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/heal-runner-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/tests/e2e" "$T/build"
cp "$SRC/tests/run-all" "$T/tests/run-all"
printf '#!/bin/sh\necho "[  PASSED  ] 3 tests."\n' >"$T/build/unit-tests"
# Run as two GoogleTest shards: one test in each; shard 0 prints a clean summary, then dies as a
# crash in a destructor would.
printf '#!/bin/sh\necho "[  PASSED  ] 1 test."\n[ "$GTEST_TOTAL_SHARDS" = 2 ] && [ "$GTEST_SHARD_INDEX" = 0 ] && kill -SEGV $$\nexit 0\n' \
    >"$T/build/integration-tests"
printf '#!/bin/sh\necho "PASS fake: a"\necho "SKIP fake: b"\n' >"$T/tests/e2e/fake.sh"
# deb.sh runs in the background beside the others; its results count all the same.
printf '#!/bin/sh\nsleep 1\necho "PASS deb: in the background"\n' >"$T/tests/e2e/deb.sh"
chmod +x "$T/build/unit-tests" "$T/build/integration-tests" "$T/tests/e2e/fake.sh" "$T/tests/e2e/deb.sh"
out=$(env -u HEAL_SUITES -u HEAL_SHARDS "$T/tests/run-all" "$T/build" 2>&1); rc=$?  # all suites, whatever the caller picked
last=$(printf '%s\n' "$out" | tail -n 1)
# A failed run keeps its logs and says where: that folder is ours to remove.
kept=$(printf '%s\n' "$out" | sed -n 's/^logs: //p')
[ -n "$kept" ] && [ -d "$kept" ] && rm -rf "$kept"
if [ "$last" = "7 passed, 1 failed, 1 skipped" ] && [ $rc -ne 0 ] && [ -n "$kept" ] &&
   printf '%s\n' "$out" | grep -q "^PASS deb: in the background"; then
    echo "PASS test-runner: a crash after the summary fails the run; shards and skips counted; a background suite counts ($last)"
else
    echo "FAIL test-runner: exit $rc, last line '$last'"
    printf '%s\n' "$out"
fi
