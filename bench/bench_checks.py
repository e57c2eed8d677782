#!/usr/bin/env python3
"""make bench-checks: check_worker vs monitoring-plugins' check_http, side by side.

Runs both against the same local HTTP endpoint, alternating, N calls each, and prints the
median and p95 wall time per call, the largest max RSS, and the ratio check_worker/check_http.
This measures; it asserts nothing.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

N = int(os.environ.get("BENCH_CALLS", "200"))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"


def main():
    tmp = tempfile.mkdtemp(prefix="heal-bench.")
    for name in ("main", "other", "wrongname", "short"):
        subprocess.run([os.path.join(SRC, "scripts/heal-dev-certs"), os.path.join(tmp, name)],
                       check=True, stdout=subprocess.DEVNULL)
    ports_file = os.path.join(tmp, "ports.json")
    server = subprocess.Popen([sys.executable, os.path.join(SRC, "tests/fixtures/worker_server.py"),
                               tmp, ports_file])
    try:
        while not os.path.exists(ports_file):
            time.sleep(0.05)
        port = str(json.load(open(ports_file))["http"])
        tools = {
            "check_worker": [os.path.join(BUILD, "check_worker"), "-H", "127.0.0.1", "-p", port, "-u", "/ok"],
            "check_http": [CHECK_HTTP, "-H", "127.0.0.1", "-p", port, "-u", "/ok"],
        }
        runner = os.path.join(BUILD, "run-alternating")
        a, b = tools.values()
        subprocess.run([runner, "5", "--", *a, "--", *b], check=True, stdout=subprocess.DEVNULL)  # warm
        out = subprocess.run([runner, str(N), "--", *a, "--", *b], check=True,
                             capture_output=True, text=True).stdout
        times = {k: [] for k in tools}
        rss = {k: 0 for k in tools}
        for line in out.splitlines():
            which, ms, kib, rc = line.split()
            name = "check_worker" if which == "A" else "check_http"
            if rc != "0":
                sys.exit(f"bench: {name} exited {rc}")
            times[name].append(float(ms))
            rss[name] = max(rss[name], int(kib))
    finally:
        server.terminate()
        server.wait()

    def p95(xs):
        return sorted(xs)[int(len(xs) * 0.95) - 1]

    print(f"{N} calls each, alternating, against http://127.0.0.1:{port}/ok")
    print(f"{'tool':<14}{'median ms':>11}{'p95 ms':>9}{'max RSS KiB':>13}")
    for name in tools:
        print(f"{name:<14}{statistics.median(times[name]):>11.3f}{p95(times[name]):>9.3f}{rss[name]:>13}")
    cw, ch = "check_worker", "check_http"
    print(f"{'ratio':<14}{statistics.median(times[cw]) / statistics.median(times[ch]):>10.2f}x"
          f"{p95(times[cw]) / p95(times[ch]):>8.2f}x{rss[cw] / rss[ch]:>12.2f}x")


if __name__ == "__main__":
    main()
