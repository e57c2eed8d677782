#!/usr/bin/env python3
"""make bench: every figure of heal beside its anchor, in one run, as one table.

Anchors: Debian's nrpe daemon and check_nrpe (mutual TLS with the same certificates as heal)
and monitoring-plugins' check_http. Measures, and says which goals are met; asserts nothing.

  instructions per call   callgrind, client side: heal-ctl status vs check_nrpe
  listener per request    callgrind on heal-listener over 20 requests; the handshake's share
  round trip              sequential median, alternating (BENCH_CALLS, default 50 each)
  200-way burst           200 client processes at once on one service (status is single-flight)
  500 clients/services    500 TLS connections at once, each on its own service (a 0.2 s script):
                          when does each reply arrive?
  listener RSS            idle, with 500 open TLS connections, and after the burst
  check_worker            vs check_http: time, max RSS, instructions
  watch loop              kill -> healthy without the monitoring round trip; the listener's CPU
                          and RSS watching 200 services every second (watch_bench.py)
"""
import asyncio
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import watch_bench  # noqa: E402

N = int(os.environ.get("BENCH_CALLS", "50"))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NRPE, CHECK_NRPE = "/usr/sbin/nrpe", "/usr/lib/nagios/plugins/check_nrpe"
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
MANY = 500

rows = []  # (figure, heal, anchor, goal, met)


def row(figure, heal, anchor, goal="", met=None):
    rows.append((figure, heal, anchor, goal, met))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: nothing listens on {port}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def instructions(argv):
    """Instructions one run of argv executes (callgrind), its output discarded."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                         capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", out.stderr)
    return int(m.group(1)) if m else 0


def cpu_ms(pid):
    """CPU time of the process itself (user + system, children excluded), in ms."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))


class World:
    """Certificates, heal-listener and nrpe on loopback, both with mutual TLS and the same certs."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="heal-bench.")
        os.chmod(self.tmp, 0o755)  # nrpe drops to the nagios user
        self.certs = os.path.join(self.tmp, "certs")
        subprocess.run([os.path.join(SRC, "scripts/heal-dev-certs"), self.certs], check=True,
                       stdout=subprocess.DEVNULL)
        for f in os.listdir(self.certs):  # the nagios user must read the throwaway keys
            os.chmod(os.path.join(self.certs, f), 0o644)
        self.short = os.path.join(self.tmp, "short")
        with open(self.short, "w") as f:
            f.write("#!/bin/sh\nsleep 0.2\necho OK\n")
        os.chmod(self.short, 0o755)
        os.mkdir(os.path.join(self.tmp, "state"))
        self.heal_port, self.nrpe_port = free_port(), free_port()
        with open(os.path.join(self.tmp, "heal.ini"), "w") as f:
            f.write(f"[listener]\nlisten = 127.0.0.1:{self.heal_port}\nallow = 127.0.0.1\n"
                    "cert = certs/server.crt\nkey = certs/server.key\nclient_ca = certs/ca.crt\n"
                    "audit_log = audit.jsonl\nstate_dir = state\nallow_root = yes\n"
                    f"max_connections = {MANY + 100}\nmax_per_source = {MANY + 100}\n"
                    "[service trivial]\nstatus = /bin/echo\n")
            for i in range(MANY):
                f.write(f"[service s{i}]\nstatus = {self.short}\n")
        with open(os.path.join(self.tmp, "nrpe.cfg"), "w") as f:
            f.write(f"server_port={self.nrpe_port}\nserver_address=127.0.0.1\nallowed_hosts=127.0.0.1\n"
                    f"pid_file={self.tmp}/nrpe.pid\nnrpe_user=nagios\nnrpe_group=nagios\n"
                    "dont_blame_nrpe=0\ncommand_timeout=10\nssl_version=TLSv1.2+\nssl_use_adh=0\n"
                    f"ssl_cacert_file={self.certs}/ca.crt\nssl_cert_file={self.certs}/server.crt\n"
                    f"ssl_privatekey_file={self.certs}/server.key\nssl_client_certs=2\n"
                    "command[trivial]=/bin/echo status\n")
        self.listener = subprocess.Popen(
            [os.path.join(BUILD, "heal-listener"), "-c", os.path.join(self.tmp, "heal.ini")],
            stderr=subprocess.DEVNULL, preexec_fn=raise_nofile)
        self.nrpe = subprocess.Popen([NRPE, "-c", os.path.join(self.tmp, "nrpe.cfg"), "-f"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.heal_port)
        wait_port(self.nrpe_port)

    def ctl(self, service="trivial", port=None):
        c = self.certs
        return [os.path.join(BUILD, "heal-ctl"), "-H", "127.0.0.1", "-p", str(port or self.heal_port),
                "--cert", f"{c}/client.crt", "--key", f"{c}/client.key", "--ca", f"{c}/ca.crt",
                "status", service]

    def check_nrpe(self):
        c = self.certs
        return [CHECK_NRPE, "-H", "127.0.0.1", "-p", str(self.nrpe_port), "-S", "TLSv1.2+",
                "-C", f"{c}/client.crt", "-K", f"{c}/client.key", "-A", f"{c}/ca.crt", "-c", "trivial"]

    def stop(self):
        for p in (self.listener, self.nrpe):
            p.terminate()
            p.wait()


def burst(n, argv):
    """n copies of argv at once: (sorted ms per client, failures, wall ms)."""
    out = subprocess.run([os.path.join(BUILD, "run-burst"), str(n), "--", *argv],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    times, failures, wall = [], 0, 0.0
    for line in out:
        a, b = line.split()
        if a == "wall":
            wall = float(b)
        else:
            times.append(float(a))
            failures += b != "0"
    return sorted(times), failures, wall


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def client_context(certs):
    """heal's client side of mutual TLS, from the bench's throwaway certificates."""
    ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
    ctx.load_cert_chain(f"{certs}/client.crt", f"{certs}/client.key")
    return ctx


async def hold_connections(world, n, measure):
    """n TLS connections at once, handshaken and left silent; returns measure(how many are open)
    taken while they are, then closes them without a request."""
    ctx = client_context(world.certs)

    async def one():
        try:
            return await asyncio.open_connection("127.0.0.1", world.heal_port, ssl=ctx,
                                                 server_hostname="localhost")
        except (OSError, ssl.SSLError):
            return None

    opened = [c for c in await asyncio.gather(*(one() for _ in range(n))) if c]
    await asyncio.sleep(0.5)
    value = measure(len(opened))
    for _, w in opened:
        w.close()
    return value


def _client_share(args):
    """One process's share of the clients: services first..first+count, the burst starting at t0
    (time.monotonic is the same clock in every process)."""
    world_certs, port, first, count, t0 = args
    raise_nofile()
    ctx = client_context(world_certs)

    async def one(i):
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
            w.write(f"HEAL/1 status s{i}\n".encode())
            await w.drain()
            line = await asyncio.wait_for(r.readline(), 60)
            w.close()
            return time.monotonic() - t0 if b'"outcome":"ok"' in line else None
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            return None

    async def share():
        while time.monotonic() < t0:
            await asyncio.sleep(0.001)
        return await asyncio.gather(*(one(i) for i in range(first, first + count)))

    return asyncio.run(share())


def spread_clients(w, n, processes=4):
    """n clients at once from `processes` processes (one Python process alone was the bottleneck
    of the burst): seconds from the common start to each reply (None when lost)."""
    import multiprocessing
    t0 = time.monotonic() + 1.0  # every process is up and waiting by then
    share = n // processes
    jobs = [(w.certs, w.heal_port, k * share, share if k < processes - 1 else n - k * share, t0)
            for k in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        parts = pool.map(_client_share, jobs)
    return [x for part in parts for x in part]


def main():
    raise_nofile()
    world = World()
    try:
        run_listener_figures(world)
    finally:
        world.stop()
    run_check_figures()
    watch_bench.run(row, BUILD, SRC)
    print_table()


def run_listener_figures(w):
    # Client instructions per call.
    subprocess.run(w.ctl(), stdout=subprocess.DEVNULL)  # warm: state store, page cache
    heal_i, nrpe_i = instructions(w.ctl()), instructions(w.check_nrpe())
    ratio = heal_i / nrpe_i if nrpe_i else 0
    row("client instructions per status call (callgrind)", f"{heal_i / 1e6:.1f} M", f"{nrpe_i / 1e6:.1f} M",
        "<= 0.85x", f"{ratio:.2f}x" if ratio <= 0.85 else f"NOT met ({ratio:.2f}x)")

    # Listener instructions per request, and the handshake's share.
    listener_instructions(w)

    # Sequential round trip, alternating; the listener's own CPU per request meanwhile.
    cpu0 = cpu_ms(w.listener.pid)
    times, rss = benchlib.alternate(BUILD, N, w.ctl(), w.check_nrpe())
    cpu_before = (cpu_ms(w.listener.pid) - cpu0) / (N + 3)
    heal_med, nrpe_med = statistics.median(times["A"]), statistics.median(times["B"])
    ratio = heal_med / nrpe_med
    row(f"round trip, sequential median ({N} each)", f"{heal_med:.2f} ms", f"{nrpe_med:.2f} ms",
        "<= 0.15x", f"{ratio:.2f}x" if ratio <= 0.15 else f"NOT met ({ratio:.2f}x)")
    row("client max RSS", mib(rss["A"]), mib(rss["B"]))

    # Listener RSS vs the nrpe daemon: right after those requests, and idle (6 s later: after 5 s
    # without a connection the listener sheds the code pages requests faulted in, resident.hpp).
    busy, nrpe_busy = rss_kib(w.listener.pid), rss_kib(w.nrpe.pid)
    row("daemon RSS right after the requests", mib(busy), mib(nrpe_busy), "reported", f"{busy / nrpe_busy:.2f}x")
    time.sleep(6)
    idle = rss_kib(w.listener.pid)
    nrpe_idle = rss_kib(w.nrpe.pid)
    row("daemon RSS, idle (6 s after the requests)", mib(idle), mib(nrpe_idle), "<= 1.0x nrpe",
        "met" if idle <= nrpe_idle else f"NOT met ({idle / nrpe_idle:.2f}x)")

    # 200-way burst on one service, heal and nrpe side by side.
    ht, hf, hw = burst(200, w.ctl())
    nt, nf, nw = burst(200, w.check_nrpe())
    p99 = pct(ht, 0.99)
    row("200-way burst of status: p50 / p99 / failures",
        f"{pct(ht, 0.5):.0f} / {p99:.0f} ms / {hf}", f"{pct(nt, 0.5):.0f} / {pct(nt, 0.99):.0f} ms / {nf}",
        "0 failed, p99 <= 250 ms", "met" if hf == 0 and p99 <= 250 else f"NOT met (p99 {p99:.0f} ms)")

    # 500 open TLS connections, then 500 clients on 500 services.
    held = asyncio.run(hold_connections(w, MANY, lambda n: (n, rss_kib(w.listener.pid))))
    n_open, with_conns = held
    row(f"daemon RSS with {n_open} open TLS connections", mib(with_conns), "", "<= 32 MiB",
        "met" if with_conns <= 32 * 1024 else "NOT met")
    results = spread_clients(w, MANY)
    done = sorted(x for x in results if x is not None)
    lost = len(results) - len(done)
    wall = done[-1] if done else 0
    p50 = pct(done, 0.5) if done else 0
    row(f"{MANY} clients on {MANY} services (0.2 s script): p50 / p99 / wall / lost",
        f"{p50:.2f} / {pct(done, 0.99):.2f} / {wall:.2f} s / {lost}" if done else "all lost", "",
        "p50 clearly below wall, 0 lost",
        "met" if lost == 0 and p50 <= 0.75 * wall else f"NOT met (p50 = {p50 / wall:.0%} of wall)")
    time.sleep(1.0)
    after = rss_kib(w.listener.pid)
    row("daemon RSS after the bursts (1 s later)", mib(after), "", "<= idle + 2 MiB",
        "met" if after <= idle + 2048 else f"NOT met (+{(after - idle) / 1024:.1f} MiB)")
    cpu0 = cpu_ms(w.listener.pid)
    times2, _ = benchlib.alternate(BUILD, N, w.ctl(), w.check_nrpe())
    cpu_after = (cpu_ms(w.listener.pid) - cpu0) / (N + 3)
    med2 = statistics.median(times2["A"])
    row("round trip median after the bursts (wall: noisy)", f"{med2:.2f} ms", f"{statistics.median(times2['B']):.2f} ms",
        "", f"{med2 / heal_med:.2f}x before")
    row("listener CPU per request, before / after the bursts", f"{cpu_before:.2f} / {cpu_after:.2f} ms", "",
        "same after as before", "met" if cpu_after <= cpu_before * 1.15 + 0.2
        else f"NOT met ({cpu_after / cpu_before:.2f}x)")


def listener_instructions(w):
    """heal-listener under callgrind: 20 status requests with collection on, the rest off."""
    port = free_port()
    ini = os.path.join(w.tmp, "heal-cg.ini")
    with open(os.path.join(w.tmp, "heal.ini")) as f:
        text = f.read().replace(f"127.0.0.1:{w.heal_port}", f"127.0.0.1:{port}")
    text = text.replace("state_dir = state", "state_dir = state-cg")
    os.makedirs(os.path.join(w.tmp, "state-cg"), exist_ok=True)
    with open(ini, "w") as f:
        f.write(text)
    out = os.path.join(w.tmp, "callgrind.listener")
    # Valgrind 3.19 lacks pidfd_open(2): bench/pidfd-shim.c stands in for it under valgrind.
    env = dict(os.environ, LD_PRELOAD=os.path.join(BUILD, "pidfd-shim.so"))
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                          os.path.join(BUILD, "heal-listener"), "-c", ini],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_port(port, 120)
        subprocess.run(w.ctl(port=port), stdout=subprocess.DEVNULL)  # warm
        subprocess.run(["callgrind_control", "-i", "on", str(p.pid)], stdout=subprocess.DEVNULL)
        for _ in range(20):
            subprocess.run(w.ctl(port=port), stdout=subprocess.DEVNULL)
        subprocess.run(["callgrind_control", "-i", "off", str(p.pid)], stdout=subprocess.DEVNULL)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True, text=True).stdout

    def inclusive(fn):
        m = re.search(r"^\s*([\d,]+) \([ \d.]+%\)\s+\S*:" + fn + r" ", ann, re.M)
        return int(m.group(1).replace(",", "")) if m else 0

    total = 0
    m = re.search(r"^\s*([\d,]+) \([ \d.]+%\)\s+PROGRAM TOTALS", ann, re.M)
    if m:
        total = int(m.group(1).replace(",", ""))
    hs = inclusive("SSL_do_handshake")
    per = total / 20
    row("listener instructions per status request", f"{per / 1e6:.1f} M",
        "", "reported", f"handshake {hs / total:.0%}" if total else "?")


def run_check_figures():
    tmp = tempfile.mkdtemp(prefix="heal-bench-checks.")
    for name in ("main", "other", "wrongname", "short"):
        subprocess.run([os.path.join(SRC, "scripts/heal-dev-certs"), os.path.join(tmp, name)],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(SRC, "tests/fixtures/mint-client-certs"), os.path.join(tmp, "main")],
                   check=True, stdout=subprocess.DEVNULL)  # the fixture's expired/future servers
    ports_file = os.path.join(tmp, "ports.json")
    server = subprocess.Popen([sys.executable, os.path.join(SRC, "tests/fixtures/worker_server.py"),
                               tmp, ports_file])
    try:
        while not os.path.exists(ports_file):
            time.sleep(0.05)
        import json
        ports = json.load(open(ports_file))
        args = ["-H", "127.0.0.1", "-p", str(ports["http"]), "-u", "/ok"]
        cw, ch = [os.path.join(BUILD, "check_worker"), *args], [CHECK_HTTP, *args]
        times, rss = benchlib.alternate(BUILD, 200, cw, ch)
        ci, hi = instructions(cw), instructions(ch)
        # TLS: check_worker loads OpenSSL for it and verifies the certificate (check_http does not).
        targs = ["-H", "localhost", "-S", "-p", str(ports["https"]), "-u", "/ok"]
        cwt = [os.path.join(BUILD, "check_worker"), *targs, "--ca", os.path.join(tmp, "main", "ca.crt")]
        ttimes, trss = benchlib.alternate(BUILD, 100, cwt, [CHECK_HTTP, *targs])
        # The same without --ca: the system store, as most checks of public names run. Here a
        # hashed folder holding the fixture's CA (SSL_CERT_DIR), no SSL_CERT_FILE, as Nagios
        # starts a plugin.
        store = os.path.join(tmp, "store")
        os.mkdir(store)
        shutil.copy(os.path.join(tmp, "main", "ca.crt"), os.path.join(store, "heal-bench-ca.pem"))
        subprocess.run(["openssl", "rehash", store], check=True)
        saved = dict(os.environ)
        os.environ.pop("SSL_CERT_FILE", None)
        os.environ["SSL_CERT_DIR"] = store
        try:
            stimes, srss = benchlib.alternate(BUILD, 100, [os.path.join(BUILD, "check_worker"), *targs],
                                              [CHECK_HTTP, *targs])
        finally:
            os.environ.clear()
            os.environ.update(saved)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    tw, th = statistics.median(times["A"]), statistics.median(times["B"])
    row("check_worker vs check_http: median time", f"{tw:.2f} ms", f"{th:.2f} ms", "<= 1.0x",
        "met" if tw <= th * 1.02 else f"NOT met ({tw / th:.2f}x)")
    row("check_worker vs check_http: max RSS", mib(rss["A"]), mib(rss["B"]), "<= 1.0x",
        "met" if rss["A"] <= rss["B"] else f"NOT met ({rss['A'] / rss['B']:.2f}x)")
    row("check_worker vs check_http: instructions", f"{ci / 1e6:.2f} M", f"{hi / 1e6:.2f} M")
    tw, th = statistics.median(ttimes["A"]), statistics.median(ttimes["B"])
    row("check_worker -S vs check_http -S: median time", f"{tw:.2f} ms", f"{th:.2f} ms", "<= 1.0x",
        "met" if tw <= th * 1.02 else f"NOT met ({tw / th:.2f}x)")
    row("check_worker -S vs check_http -S: max RSS", mib(trss["A"]), mib(trss["B"]), "<= 1.0x",
        "met" if trss["A"] <= trss["B"] else f"NOT met ({trss['A'] / trss['B']:.2f}x)")
    tw, th = statistics.median(stimes["A"]), statistics.median(stimes["B"])
    row("check_worker -S, system store, vs check_http -S: median time", f"{tw:.2f} ms", f"{th:.2f} ms", "<= 1.0x",
        "met" if tw <= th * 1.02 else f"NOT met ({tw / th:.2f}x)")
    row("check_worker -S, system store, vs check_http -S: max RSS", mib(srss["A"]), mib(srss["B"]), "<= 1.0x",
        "met" if srss["A"] <= srss["B"] else f"NOT met ({srss['A'] / srss['B']:.2f}x)")


def print_table():
    w = [max(len(str(r[i])) for r in rows + [("figure", "heal", "anchor", "goal", "result")]) for i in range(5)]
    head = ("figure", "heal", "anchor", "goal", "result")
    print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |")
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print("| " + " | ".join(str(v if v is not None else "").ljust(w[i]) for i, v in enumerate(r)) + " |")
    goals = [r for r in rows if r[3] and r[3] != "reported"]
    met = sum(1 for r in goals if r[4] and not str(r[4]).startswith("NOT"))
    print(f"\n{met} of {len(goals)} goals met. Anchors: nrpe/check_nrpe with mutual TLS and the same "
          "certificates; check_http. heal-ctl and check_nrpe are separate processes per call.")


if __name__ == "__main__":
    main()
