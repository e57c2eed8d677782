#!/usr/bin/env python3
"""make bench-checks: check_worker vs monitoring-plugins' check_http, side by side.

Both run against the same local HTTP endpoint, alternating, N calls each (BENCH_CALLS, default
200). Prints median and p95 wall time per call, max RSS, and the ratio check_worker/check_http.
This measures; it asserts nothing.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

N = int(os.environ.get("BENCH_CALLS", "200"))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
        args = ["-H", "127.0.0.1", "-p", port, "-u", "/ok"]
        times, rss = benchlib.alternate(BUILD, N, [os.path.join(BUILD, "check_worker"), *args],
                                        ["/usr/lib/nagios/plugins/check_http", *args])
    finally:
        server.terminate()
        server.wait()
    print(f"{N} calls each, alternating, against http://127.0.0.1:{port}/ok")
    benchlib.table(("check_worker", "check_http"), times, rss)


if __name__ == "__main__":
    main()
