#!/usr/bin/env python3
"""heal-event-handler at fleet scale (make bench): a status.dat and objects.cache of 10,000 hosts x
20 services, built from the blocks Debian's nagios4 wrote (tests/fixtures/nagios4), and the
handler's CPU time and peak RSS per event: a new problem, a problem already decided, and 1,000
handler runs (new problems on as many services) against one unchanged status.dat.

usage: handler_scale.py BUILD_DIR [HOSTS] [SERVICES] [RUNS]"""
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blocks(text, kind):
    return re.findall(r"^" + kind + r" \{\n.*?^\t\}\n", text, re.S | re.M)


def generate(folder, hosts, services):
    status = open(os.path.join(SRC, "tests/fixtures/nagios4/status.dat")).read()
    svc = blocks(status, "servicestatus")[0]
    head = status[: status.index("hoststatus {")]
    head = re.sub(r"created=\d+", "created=%d" % int(time.time()), head)
    host_block = blocks(status, "hoststatus")[0]
    t0 = time.time()
    with open(os.path.join(folder, "status.dat"), "w") as out, \
            open(os.path.join(folder, "objects.cache"), "w") as objects:
        out.write(head)
        for h in range(hosts):
            name = "web%05d" % h
            out.write(re.sub(r"host_name=.*", "host_name=" + name, host_block))
            for s in range(services):
                desc = "svc%02d" % s
                block = re.sub(r"host_name=.*", "host_name=" + name, svc, count=1)
                block = re.sub(r"service_description=.*", "service_description=" + desc, block, count=1)
                block = re.sub(r"current_state=\d", "current_state=0", block, count=1)
                block = re.sub(r"has_been_checked=\d", "has_been_checked=1", block, count=1)
                out.write(block)
                objects.write("define service {\n\thost_name\t%s\n\tservice_description\t%s\n"
                              "\tcheck_command\tcheck_worker\n\t}\n\n" % (name, desc))
    size = os.path.getsize(os.path.join(folder, "status.dat"))
    return size, time.time() - t0


def run(build, folder, host, service, state_dir, state="CRITICAL", kind="HARD", attempt="1"):
    """One handler run; returns (CPU seconds, peak RSS KiB) of that process alone."""
    argv = [os.path.join(build, "heal-event-handler"), "--dry-run",
            "--status-file", os.path.join(folder, "status.dat"),
            "--objects-file", os.path.join(folder, "objects.cache"),
            "--command-file", os.path.join(folder, "nagios.cmd"),
            "--state-dir", state_dir, "--log", os.path.join(folder, "handler.log"),
            "--max-status-age", "1h", "--fleet-budget", "100000/1h",
            "--nagios-host", host, state, kind, attempt, "127.0.0.1", service]
    # Exit 1 is expected: the command file is no FIFO here, nobody reads it.
    child = subprocess.Popen(argv)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main():
    build = sys.argv[1]
    hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    services = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    with tempfile.TemporaryDirectory(prefix="heal-bench-handler.") as folder:
        size, took = generate(folder, hosts, services)
        open(os.path.join(folder, "nagios.cmd"), "w").close()
        print("status.dat: %d hosts x %d services, %.0f MB (generated in %.0f s)" % (
            hosts, services, size / 1e6, took))
        state = os.path.join(folder, "state")
        cpu, rss = run(build, folder, "web00000", "svc00", state)
        print("new problem (first of its status.dat): %6.1f ms CPU, peak RSS %5.1f MiB" % (cpu * 1000, rss / 1024))
        cpu, rss = run(build, folder, "web00000", "svc00", state)
        print("already decided:                       %6.1f ms CPU, peak RSS %5.1f MiB" % (cpu * 1000, rss / 1024))
        n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
        cpus, rsss = [], []
        for i in range(n):
            c, r = run(build, folder, "web%05d" % (i % hosts), "svc%02d" % (1 + i // hosts % (services - 1)),
                       state)
            cpus.append(c)
            rsss.append(r)
        print("%d new problems, one status.dat:     %6.1f ms CPU per event (mean; the first %.0f ms, "
              "the slowest of the rest %.0f ms), peak RSS %5.1f MiB mean, %5.1f MiB max" % (
                  n, sum(cpus) / n * 1000, cpus[0] * 1000, max(cpus[1:] or [0]) * 1000,
                  sum(rsss) / n / 1024, max(rsss) / 1024))
        print("goal: <= 50 ms and <= 16 MiB per event, amortized over the %d" % n)
        wide_outage(build, folder, hosts, services)
    store_decisions(build)


def store_decisions(build, n=500):
    """A decision through the fleet store: SQLite beside PostgreSQL on loopback (TLS), each as a
    decider makes it (open, claim, record the end); PostgreSQL in a throwaway cluster."""
    sandbox = os.path.join(SRC, "scripts", "heal-pg-sandbox")
    with tempfile.TemporaryDirectory(prefix="heal-bench-store.") as folder:
        if subprocess.run([sandbox, "start", folder], stdout=subprocess.DEVNULL).returncode != 0:
            print("fleet store decisions: PostgreSQL could not be started (apt-get install postgresql-15): NOT MEASURED")
            return
        try:
            subprocess.run([os.path.join(build, "store-bench"), os.path.join(folder, "sqlite"),
                            os.path.join(folder, "heal.conninfo"), str(n)])
        finally:
            subprocess.run([sandbox, "stop", folder], stdout=subprocess.DEVNULL)


def wide_outage(build, folder, hosts, services, handlers=100):
    """A wide outage: `handlers` started at once on a new generation of status.dat (the same
    bytes, a new mtime: no handler has kept its view). One reads it, the others wait for its
    view (nagios-view.lock); goal: total CPU <= 2x one read, every decision within the timeout."""
    status = os.path.join(folder, "status.dat")
    state = os.path.join(folder, "wide-state")
    os.utime(status)  # a new generation
    one, _ = run(build, folder, "web00000", "svc19", os.path.join(folder, "one-state"))  # one read alone
    os.utime(status, (time.time() + 1, time.time() + 1))  # and another, for the crowd
    t0 = time.time()
    children = []
    for i in range(handlers):
        argv = [os.path.join(build, "heal-event-handler"), "--dry-run",
                "--status-file", status, "--objects-file", os.path.join(folder, "objects.cache"),
                "--command-file", os.path.join(folder, "nagios.cmd"), "--state-dir", state,
                "--log", os.path.join(folder, "wide.log"), "--max-status-age", "1h",
                "--nagios-host", "web%05d" % (i % hosts), "CRITICAL", "HARD", "1", "127.0.0.1", "svc18"]
        children.append(subprocess.Popen(argv))
    total, slowest = 0.0, 0.0
    for child in children:
        _, _, usage = os.wait4(child.pid, 0)
        child.returncode = 0
        total += usage.ru_utime + usage.ru_stime
        slowest = max(slowest, time.time() - t0)
    reads = sum(1 for line in open(os.path.join(folder, "wide.log")) if "reading Nagios' files" in line)
    print("wide outage: %d handlers at once on a new status.dat: %.0f ms CPU in all (one read alone: %.0f ms; "
          "%.1fx), %d read the file, the last decided after %.1f s" % (
              handlers, total * 1000, one * 1000, total / one if one else 0, reads, slowest))
    print("goal: total CPU <= 2x one read, every decision within the event handler timeout (25 s)")


if __name__ == "__main__":
    main()
