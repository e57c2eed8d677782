#!/bin/sh
# The Debian packages (make deb, in $BUILD/deb) on a pristine Debian 12: a throwaway root that
# Debian's mmdebstrap builds from the Debian mirror apt uses (cached in $BUILD/deb-root, so a
# second run unpacks it in seconds), the packages installed there with apt-get next to Debian's
# nagios4, then install / upgrade over the previous build with a changed conffile / the whole
# loop with Debian's own nagios.cfg and the shipped heal configuration / remove / reinstall /
# purge: tests/e2e/deb/in-root.sh, run in the root (chroot) in namespaces of its own (mount,
# pid, network), so nothing on this machine is installed, changed or left running.
# Prints PASS/FAIL/SKIP lines.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HEAL_BUILD:-$SRC/build}
. "$SRC/scripts/heal-sandbox.sh"
skip() { echo "SKIP deb: $1 — THE PACKAGES WERE NOT TESTED"; exit 0; }
fail() { echo "FAIL deb: $1"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (chroot, namespaces)"

# The packages of the binaries in $BUILD: built here (dpkg-buildpackage, as `make deb` does, less
# the -dbgsym packages and lintian, which runs below as a test) when they are missing or older
# than a binary. make test leaves it to this suite, which runs in the background: 30 s off its
# critical path. Only the tree's own build/ can be packaged (debian/rules builds there).
set -- "$BUILD"/deb/heal-listener_*.deb
stale=0
if [ ! -e "$1" ]; then stale=1; else
    for bin in heal-listener heal-ctl check_worker check_heal heal-event-handler heal-alert-receiver; do
        [ "$BUILD/$bin" -nt "$1" ] && stale=1
    done
fi
if [ "$stale" = 1 ]; then
    [ "$(cd "$BUILD" && pwd -P)" = "$(cd "$SRC" && pwd -P)/build" ] ||
        skip "no packages of the binaries in $BUILD (make deb builds them in build/deb)"
    command -v dpkg-buildpackage >/dev/null 2>&1 || skip "dpkg-dev is not installed (make deps)"
    start=$(date +%s)
    if DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs" "$SRC/scripts/heal-deb" "$BUILD" --no-lintian >"$BUILD/deb-build.log" 2>&1; then
        echo "PASS deb: dpkg-buildpackage built $(ls "$BUILD"/deb/heal-*.deb | wc -l) packages in $(($(date +%s) - start)) s"
    else
        tail -40 "$BUILD/deb-build.log"
        fail "scripts/heal-deb failed ($BUILD/deb-build.log)"
    fi
fi
command -v mmdebstrap >/dev/null 2>&1 || skip "mmdebstrap is not installed (apt-get install mmdebstrap)"
command -v unshare >/dev/null 2>&1 || skip "unshare (util-linux) is missing"

# lintian, as Debian's archive runs it, failing on errors and warnings.
if command -v lintian >/dev/null 2>&1; then
    out=$(lintian --fail-on error,warning --tag-display-limit 0 "$BUILD"/deb/heal-*.deb 2>&1); rc=$?
    out=$(printf '%s\n' "$out" | grep -v "running with root privileges")
    if [ $rc -eq 0 ]; then
        echo "PASS deb: lintian --fail-on error,warning: clean ($(ls "$BUILD"/deb/heal-*.deb | wc -l) packages)"
    else
        echo "FAIL deb: lintian: $out"
    fi
else
    echo "SKIP deb: lintian is not installed — THE PACKAGES WERE NOT LINTED"
fi

# The root: Debian 12 as mmdebstrap makes it (essential packages and apt), with what the packages
# and Debian's nagios4-core depend on (and recommend) already in, so that a warm run needs no network. The cache
# is named by that list: new dependencies make a new root.
deps=$(for deb in "$BUILD"/deb/heal-*.deb; do dpkg-deb -f "$deb" Depends Recommends | sed 's/^[A-Za-z]*: //'; done | tr ',\n' '\n\n' |
       sed 's/([^)]*)//g; s/|.*//; s/[[:space:]]//g' | grep -v '^heal-' | grep -v '^$' | sort -u | tr '\n' ',')
include="${deps}nagios4-core,monitoring-plugins-basic"
key=$(printf '%s' "$include" | sha256sum | cut -c1-12)
cache=$BUILD/deb-root
tarball=$cache/bookworm-$key.tar
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
    echo "deb: building a Debian 12 root with mmdebstrap (once; cached in $tarball)"
    start=$(date +%s)
    if ! mmdebstrap --variant=apt --format=tar --include="$include" bookworm "$tarball.part" \
            "deb http://deb.debian.org/debian bookworm main" \
            "deb http://deb.debian.org/debian bookworm-updates main" \
            "deb http://deb.debian.org/debian-security bookworm-security main" >"$cache/mmdebstrap.log" 2>&1; then
        tail -20 "$cache/mmdebstrap.log"
        rm -rf "$tarball.part"
        if grep -qiE "could not resolve|failed to fetch|temporary failure|connection" "$cache/mmdebstrap.log"; then
            skip "mmdebstrap could not reach the Debian mirror (see $cache/mmdebstrap.log)"
        fi
        fail "mmdebstrap failed (see $cache/mmdebstrap.log)"
    fi
    mv "$tarball.part" "$tarball"
    # One root is enough: older ones go.
    find "$cache" -name 'bookworm-*.tar' ! -name "bookworm-$key.tar" -delete
    echo "MEASURE deb: mmdebstrap (cold): $(($(date +%s) - start)) s"
fi

SB=$(mktemp -d /tmp/heal-e2e-deb.XXXXXX)
trap 'rm -rf "$SB"' EXIT
trap 'exit 1' INT TERM
ROOT=$SB/root
mkdir "$ROOT"
start=$(date +%s)
tar -xf "$tarball" -C "$ROOT" || fail "cannot unpack $tarball"
echo "MEASURE deb: root unpacked in $(($(date +%s) - start)) s"

# What the test brings into the root: the packages, the "previous build" (the same packages
# labelled one version lower: what an upgrade runs is the maintainer scripts and dpkg's conffile
# handling, which this exercises), throwaway certificates and the test itself.
T=$ROOT/heal-test
mkdir -p "$T/debs" "$T/previous" "$T/certs"
for deb in "$BUILD"/deb/heal-*.deb; do case $deb in *-dbgsym_*) ;; *) cp "$deb" "$T/debs/" ;; esac; done
for deb in "$T"/debs/*.deb; do
    dir=$SB/repack
    rm -rf "$dir"
    dpkg-deb -R "$deb" "$dir"
    version=$(sed -n 's/^Version: //p' "$dir/DEBIAN/control")
    sed -i "s/^Version: .*/Version: $version~previous/" "$dir/DEBIAN/control"
    dpkg-deb --root-owner-group -b "$dir" "$T/previous/" >/dev/null || fail "cannot repack $deb"
done
"$SRC/scripts/heal-dev-certs" --san "DNS:web1,IP:127.0.0.1" --client nagios.example.com "$T/certs" >/dev/null ||
    fail "heal-dev-certs failed"
cp "$SRC/tests/e2e/deb/in-root.sh" "$T/"

# The root in its own mount, pid and network namespaces: its /proc shows only its processes,
# everything it started dies with it, and its loopback is its own.
start=$(date +%s)
unshare --mount --pid --net --fork --kill-child --mount-proc="$ROOT/proc" \
    /bin/sh -c 'ip link set lo up && exec chroot "$1" /bin/sh /heal-test/in-root.sh' sh "$ROOT"
rc=$?
echo "MEASURE deb: in the root: $(($(date +%s) - start)) s"
[ $rc -eq 0 ] || echo "FAIL deb: the test in the root exited $rc"
exit 0
