#!/bin/sh
# Docs ship with the code: every man page passes mandoc's lint (style level), and every binary
# answers --version and --help, showing its defaults.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HEAL_BUILD:-$SRC/build}
if ! command -v mandoc >/dev/null 2>&1; then
    echo "SKIP docs: mandoc is not installed (apt-get install mandoc) — man pages WERE NOT LINTED"
    exit 0
fi
for page in "$SRC"/man/*.[0-9]; do
    if out=$(mandoc -Tlint -W style "$page" 2>&1) && [ -z "$out" ]; then
        echo "PASS docs: $(basename "$page") is lint-clean"
    else
        echo "FAIL docs: $(basename "$page"): $out"
    fi
done
# One version: debian/changelog's first line, every --version and every man page's .TH.
version=$("$SRC/scripts/heal-version")
for page in "$SRC"/man/*.[0-9]; do
    if head -1 "$page" | grep -qF "\"heal $version\""; then
        echo "PASS docs: $(basename "$page") says heal $version, as debian/changelog does"
    else
        echo "FAIL docs: $(basename "$page"): '$(head -1 "$page")' is not heal $version (debian/changelog)"
    fi
done
for bin in "$BUILD/heal-listener" "$BUILD/heal-ctl" "$BUILD/check_worker" "$BUILD/check_heal" "$BUILD/heal-event-handler" \
           "$BUILD/heal-alert-receiver"; do
    name=$(basename "$bin")
    v=$("$bin" --version 2>&1); rc=$?
    case $v in "$name $version") [ $rc -eq 0 ] && ok=1 || ok=0 ;; *) ok=0 ;; esac
    if [ $ok = 1 ] && "$bin" --help >/dev/null 2>&1; then
        echo "PASS docs: $name --version says '$v'"
    else
        echo "FAIL docs: $name --version: exit $rc: $v"
    fi
done
# Defaults are visible: each --help names the default of options that have one (a sample each).
for pair in "$BUILD/heal-listener|(default /etc/heal/heal.ini)" "$BUILD/heal-ctl|(default localhost)" \
            "$BUILD/heal-ctl|(default 5669)" "$BUILD/check_worker|(default 10)" \
            "$BUILD/heal-event-handler|(default /var/lib/heal-event-handler)" \
            "$BUILD/heal-event-handler|(default /etc/nagios4/nagios.cfg)" \
            "$BUILD/heal-event-handler|(default restart)" "$BUILD/heal-event-handler|(default 25%)"; do
    bin=${pair%%|*} text=${pair#*|}
    if "$bin" --help 2>&1 | grep -qF -- "$text"; then
        echo "PASS docs: $(basename "$bin") --help shows '$text'"
    else
        echo "FAIL docs: $(basename "$bin") --help does not show '$text'"
    fi
done
# Every key heal-listener knows is in heal.ini(5): the lists come from the binary's own error
# for an unknown key, so a key added without its documentation fails here.
T=$(mktemp -d /tmp/heal-docs-keys.XXXXXX)
keys_documented() { # PAGE CONFIG-FILE-NAME SECTION BINARY CHECK-OPTION
    printf '[%s]\nno_such_key = 1\n' "$3" >"$T/$2"
    keys=$("$BUILD/$4" "$5" -c "$T/$2" 2>&1 | sed -n 's/.*(known: \([^)]*\)).*/\1/p' | tr -d ',')
    missing=""
    for key in $keys; do
        # a heading of its own (.B key) or one of several (.BR start ", " stop ...)
        grep -qE "^\.BR? (.* )?\"?$key( |\$)" "$SRC/man/$1" || missing="$missing $key"
    done
    page="${1%.*}(${1##*.})"
    if [ -n "$keys" ] && [ -z "$missing" ]; then
        echo "PASS docs: $page documents every key of [$3] ($(echo $keys | wc -w))"
    else
        echo "FAIL docs: $page lacks [$3] keys:${missing:- (no key list from $4)}"
    fi
}
for section in "listener" "service web" "client ops"; do
    keys_documented heal.ini.5 heal.ini "$section" heal-listener --check-config
done
# The same for heal-alert-receiver's receiver.ini and its man page.
for section in "receiver" "route r"; do
    keys_documented heal-alert-receiver.8 receiver.ini "$section" heal-alert-receiver --check
done
rm -rf "$T"
# What the deployment files must say (each once got it wrong): systemctl stop lets actions finish
# (KillMode=mixed); with the sudo drop-in, sudo can gain root (NoNewPrivileges=no and the setuid,
# setgid capabilities); log rotation signals the main process only.
check_file() { # FILE TEXT WHY
    if grep -qF -- "$2" "$SRC/$1"; then echo "PASS docs: $1 has '$2' ($3)"; else echo "FAIL docs: $1 lacks '$2' ($3)"; fi
}
check_file etc/systemd/heal-listener.service "KillMode=mixed" "stop lets running actions finish"
check_file etc/systemd/heal-listener.service.d/sudo.conf "NoNewPrivileges=no" "sudo must gain root"
check_file etc/systemd/heal-listener.service.d/sudo.conf "CAP_SETUID CAP_SETGID" "sudo changes uid and gid"
check_file etc/logrotate.d/heal "--kill-whom=main" "HUP to the listener, not to scripts and their daemons"
# The systemd units (and the sudo drop-in) as shipped, with the binary paths of this build:
# systemd-analyze verify accepts them, and `systemd-analyze security` scores each (printed; a
# unit above its bound fails: a hardening line dropped by mistake shows).
if command -v systemd-analyze >/dev/null 2>&1; then
    T=$(mktemp -d /tmp/heal-docs.XXXXXX)
    for unit in heal-listener:3.0 heal-alert-receiver:2.0; do
        name=${unit%%:*} bound=${unit#*:}
        sed "s|/usr/sbin/$name|$BUILD/$name|g" "$SRC/etc/systemd/$name.service" >"$T/$name.service"
        [ ! -d "$SRC/etc/systemd/$name.service.d" ] || cp -r "$SRC/etc/systemd/$name.service.d" "$T/"
        if out=$(systemd-analyze verify --man=no "$T/$name.service" 2>&1); then
            echo "PASS docs: systemd-analyze verify accepts etc/systemd/$name.service"
        else
            echo "FAIL docs: systemd-analyze verify $name.service: $out"
        fi
        score=$(systemd-analyze security --offline=true "$T/$name.service" 2>/dev/null |
                sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
        if [ -n "$score" ] && awk -v s="$score" -v b="$bound" 'BEGIN { exit !(s <= b) }'; then
            echo "PASS docs: systemd-analyze security: $name.service exposure $score (bound $bound; what is left out and why is in the unit)"
        else
            echo "FAIL docs: systemd-analyze security: $name.service exposure '${score:-none}', bound $bound"
        fi
    done
    rm -rf "$T"
else
    echo "SKIP docs: systemd-analyze is not installed — the systemd unit WAS NOT VERIFIED"
fi
