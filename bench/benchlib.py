"""Shared by the bench scripts: run two commands alternately and print a comparison table."""
import os
import statistics
import subprocess
import sys


def alternate(build, n, a, b):
    """Runs argv lists a and b alternately n times each through build/run-alternating (a tiny C
    runner, so ru_maxrss is the tool's own). Returns ({'A': [ms...], 'B': [...]}, {'A': kib, ...})."""
    runner = os.path.join(build, "run-alternating")
    subprocess.run([runner, "3", "--", *a, "--", *b], check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([runner, str(n), "--", *a, "--", *b], check=True,
                         capture_output=True, text=True).stdout
    times, rss = {"A": [], "B": []}, {"A": 0, "B": 0}
    for line in out.splitlines():
        which, ms, kib, rc = line.split()
        if rc != "0":
            sys.exit(f"bench: {(a if which == 'A' else b)[0]} exited {rc}")
        times[which].append(float(ms))
        rss[which] = max(rss[which], int(kib))
    return times, rss


def p95(xs):
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def table(names, times, rss):
    """names = (name_a, name_b); prints median, p95, total, max RSS and the ratio a/b."""
    print(f"{'tool':<14}{'median ms':>11}{'p95 ms':>9}{'total s':>9}{'max RSS KiB':>13}")
    for key, name in zip("AB", names):
        t = times[key]
        print(f"{name:<14}{statistics.median(t):>11.3f}{p95(t):>9.3f}{sum(t) / 1000:>9.3f}{rss[key]:>13}")
    a, b = times["A"], times["B"]
    print(f"{'ratio':<14}{statistics.median(a) / statistics.median(b):>10.2f}x{p95(a) / p95(b):>8.2f}x"
          f"{sum(a) / sum(b):>8.2f}x{rss['A'] / rss['B']:>12.2f}x")
