#!/bin/sh
# The fuzz regression run of `make test`: every target on its seed corpus and what earlier
# runs found, then 1 s of fuzzing each (ASan + UBSan): a smoke test beside the replay, which is
# the regression; `make fuzz FUZZ_SECONDS=N` fuzzes for real.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FZ=${HEAL_FUZZ_BUILD:-$SRC/build-fuzz}
if ! ls "$FZ"/fuzz_* >/dev/null 2>&1; then
    echo "SKIP fuzz: no fuzz targets in $FZ (clang and libclang-rt-14-dev missing?) — NOT FUZZED"
    exit 0
fi
exec "$SRC/tests/fuzz/run" "$FZ" "${HEAL_FUZZ_SECONDS:-1}"
