#!/bin/sh
# heal's own Prometheus alert rules (etc/prometheus/heal-rules.yml): Debian's promtool checks
# them and runs their unit tests (tests/prometheus/heal-rules.test.yml, Prometheus' own rule
# test format). That the rules read only metrics heal-listener exports is checked against a
# live /metrics by the integration suite (MetricsTest). Prints PASS/FAIL/SKIP lines.
set -u
SRC=${HEAL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v promtool >/dev/null 2>&1; then
    echo "SKIP prometheus-rules: promtool is not installed (apt-get install prometheus) — heal's alert rules WERE NOT TESTED"
    exit 0
fi
failed=0
if out=$(promtool check rules "$SRC/etc/prometheus/heal-rules.yml" 2>&1); then
    echo "PASS prometheus-rules: promtool check rules: $(printf '%s\n' "$out" | grep -o 'SUCCESS.*')"
else
    echo "FAIL prometheus-rules: promtool check rules: $out"; failed=1
fi
if out=$(promtool test rules "$SRC/tests/prometheus/heal-rules.test.yml" 2>&1); then
    n=$(grep -c 'alertname:' "$SRC/tests/prometheus/heal-rules.test.yml")
    echo "PASS prometheus-rules: promtool test rules: $n evaluations of 6 alerts, each firing when it must and not before"
else
    echo "FAIL prometheus-rules: promtool test rules: $out"; failed=1
fi
# The rules file must not be tested against a copy: a rule changed without its test fails.
if grep -q '^  - \.\./\.\./etc/prometheus/heal-rules\.yml$' "$SRC/tests/prometheus/heal-rules.test.yml"; then
    echo "PASS prometheus-rules: the tests load the shipped etc/prometheus/heal-rules.yml"
else
    echo "FAIL prometheus-rules: tests/prometheus/heal-rules.test.yml does not load etc/prometheus/heal-rules.yml"; failed=1
fi
exit $failed
