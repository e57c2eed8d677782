#!/usr/bin/env python3
"""The watch loop's figures (bench.py runs them too): kill -> healthy without the monitoring
round trip, and what watching 200 services every second costs the listener itself.

  kill -> healthy   watch = 200ms, heal_after = 2, a restart that takes 0.2 s; 20 kills.
                    The floor is 2 intervals + the restart's own time. The status reads the
                    process state: a killed worker nobody has reaped yet is a zombie, not alive.
  200 services      watch = 1s each (status: /bin/true): the listener's own CPU (utime+stime,
                    not its children's) and its RSS growth over 30 s.
  watch_check       the same with an in-process HTTP probe instead of a status command (an
                    asyncio HTTP server here answers "UP", HTTP/1.1 keep-alive), 200 and
                    1,000 services, and 200 with watch_reuse = 1 (a new connection each round).
  store held        another process holds the state database (BEGIN EXCLUSIVE) for 4 s while a
                    restart waits for it: the p99 of 100 new mutual-TLS handshakes meanwhile.
"""
import asyncio
import socket
import sqlite3
import ssl
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

KILLS = 20
WATCHED = 200


def _listener(build, src, tmp, services):
    certs = os.path.join(tmp, "certs")
    if not os.path.isdir(certs):
        subprocess.run([os.path.join(src, "scripts/heal-dev-certs"), certs], check=True, stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(tmp, "state"), exist_ok=True)
    ini = os.path.join(tmp, "heal.ini")
    with open(ini, "w") as f:
        f.write("[listener]\nlisten = 127.0.0.1:0\nallow = 127.0.0.1\ncert = certs/server.crt\n"
                "key = certs/server.key\nclient_ca = certs/ca.crt\naudit_log = audit.jsonl\n"
                "state_dir = state\nallow_root = yes\n" + services)
    log = open(os.path.join(tmp, "listener.log"), "w")
    p = subprocess.Popen([os.path.join(build, "heal-listener"), "-c", ini], stderr=log, stdout=log)
    end = time.time() + 20
    while time.time() < end:
        with open(os.path.join(tmp, "listener.log")) as f:
            if "ready: accepting connections" in f.read():
                return p
        time.sleep(0.05)
    p.kill()
    sys.exit("bench: heal-listener did not start: " + open(os.path.join(tmp, "listener.log")).read())


def _alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except (OSError, ValueError):
        return False


def kill_to_healthy(build, src, tmp):
    """Median and spread of kill -> a new worker process, and the floor."""
    pidfile = os.path.join(tmp, "worker.pid")
    script = os.path.join(tmp, "worker")
    with open(script, "w") as f:
        f.write(f"""#!/bin/sh
case "$1" in
status) read -r pid < {pidfile}; read -r _ _ state _ < /proc/$pid/stat 2>/dev/null; [ -n "$state" ] && [ "$state" != Z ] ;;
restart) sleep 0.2; setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $! > {pidfile}.new; mv {pidfile}.new {pidfile} ;;
esac
""")
    os.chmod(script, 0o755)
    subprocess.run([script, "restart"], check=True)
    p = _listener(build, src, tmp, f"[service worker]\nstatus = {script}\nrestart = {script}\n"
                                   "watch = 200ms\nheal_after = 2\nbudget = none\n")
    took = []
    try:
        time.sleep(1)
        for _ in range(KILLS):
            old = int(open(pidfile).read())
            t0 = time.monotonic()
            os.kill(old, signal.SIGKILL)
            while True:
                try:
                    new = int(open(pidfile).read())
                except (OSError, ValueError):
                    new = old
                if new != old and _alive(new):
                    break
                if time.monotonic() - t0 > 10:
                    sys.exit("bench: the watch loop did not heal within 10 s")
                time.sleep(0.002)
            took.append(time.monotonic() - t0)
            time.sleep(0.3)
    finally:
        p.terminate()
        p.wait()
        try:
            os.kill(int(open(pidfile).read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    return took


def _cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().split(")")[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _http_peer():
    """A small HTTP server on a loopback port (in a thread of this process) answering every GET
    with 200 "UP"; returns its port."""
    ready = threading.Event()
    port = []

    async def answer(reader, writer):
        try:  # HTTP/1.1 keep-alive, as most servers: the connection stays until the client closes it
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                close = b"connection: close" in head.lower()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" +
                             (b"Connection: close\r\n" if close else b"") + b"\r\nUP")
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        writer.close()

    async def serve():
        srv = await asyncio.start_server(answer, "127.0.0.1", 0, backlog=1024)
        port.append(srv.sockets[0].getsockname()[1])
        ready.set()
        await srv.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    ready.wait(10)
    return port[0]


def watch_many(build, src, tmp, count=WATCHED, check_port=None, extra=""):
    how = (f"watch_check = http://127.0.0.1:{check_port}/health\nwatch_expect = UP\n{extra}" if check_port
           else "status = /bin/true\n")
    services = "".join(f"[service w{i}]\n{how}restart = /bin/true\nwatch = 1s\n" for i in range(count))
    p = _listener(build, src, tmp, services)
    try:
        time.sleep(5)  # every loop has run a few rounds
        rss0, cpu0, t0 = _rss_kib(p.pid), _cpu_s(p.pid), time.monotonic()
        time.sleep(30)
        cpu = (_cpu_s(p.pid) - cpu0) / (time.monotonic() - t0)
        rss1 = _rss_kib(p.pid)
    finally:
        p.terminate()
        p.wait()
    return cpu, rss0, rss1


def handshakes_while_store_held(build, src, tmp):
    """p50 and p99 (ms) of TLS handshakes to a listener whose store another process holds."""
    p = _listener(build, src, tmp, "[service fix]\nrestart = /bin/true\nbudget = none\n")
    port = None
    with open(os.path.join(tmp, "listener.log")) as f:
        for line in f:
            if "listening on" in line:
                port = int(line.rsplit(":", 1)[1].split()[0])
    certs = os.path.join(tmp, "certs")
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    ctx.load_cert_chain(os.path.join(certs, "client.crt"), os.path.join(certs, "client.key"))
    ctx.check_hostname = False

    def connect():
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        return ctx.wrap_socket(s, server_hostname="localhost")

    try:
        held = sqlite3.connect(os.path.join(tmp, "state", "heal.db"), timeout=5, isolation_level=None)
        held.execute("BEGIN EXCLUSIVE")
        restart = connect()
        restart.sendall(b"HEAL/1 restart fix\n")  # waits for the store
        took = []
        end = time.monotonic() + 3.5
        while time.monotonic() < end and len(took) < 100:
            t0 = time.monotonic()
            c = connect()
            took.append((time.monotonic() - t0) * 1000)
            c.close()
            time.sleep(0.02)
        held.execute("COMMIT")
        held.close()
        restart.settimeout(10)
        restart.recv(4096)
        restart.close()
    finally:
        p.terminate()
        p.wait()
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))], len(took)


def run(row, build, src):
    tmp = tempfile.mkdtemp(prefix="heal-bench-watch.")
    try:
        took = kill_to_healthy(build, src, tmp)
        floor = 2 * 0.2 + 0.2
        med = statistics.median(took)
        goal_met = med <= 1.0 and med <= 1.2 * floor
        row(f"watch: kill -> healthy, median of {KILLS} (200ms x 2, restart 0.2 s)",
            f"{med:.2f} s (min {min(took):.2f}, max {max(took):.2f})", f"floor {floor:.2f} s",
            "<= 1.0 s and <= 1.2x floor", f"met ({med / floor:.2f}x floor)" if goal_met
            else f"NOT met ({med / floor:.2f}x floor)")
        shutil.rmtree(os.path.join(tmp, "state"))
        cpu, rss0, rss1 = watch_many(build, src, tmp)
        row(f"watch: listener CPU watching {WATCHED} services at 1s (its own, not the scripts')",
            f"{cpu * 100:.2f}% of a core", "", "<= 1%", "met" if cpu <= 0.01 else f"NOT met ({cpu * 100:.2f}%)")
        row(f"watch: listener RSS growth over 30 s of that", f"{(rss1 - rss0) / 1024:+.2f} MiB (at {rss1 / 1024:.1f} MiB)",
            "", "<= 2 MiB", "met" if rss1 - rss0 <= 2048 else "NOT met")
        shutil.rmtree(os.path.join(tmp, "state"))
        p50, p99, n = handshakes_while_store_held(build, src, tmp)
        row(f"listener: TLS handshake while another process holds the store 4 s ({n} handshakes)",
            f"p99 {p99:.1f} ms", f"p50 {p50:.1f} ms", "<= 50 ms", "met" if p99 <= 50 else f"NOT met ({p99:.1f} ms)")
        port = _http_peer()
        for count, goal, reuse in ((WATCHED, 0.01, ""), (5 * WATCHED, 0.05, ""), (WATCHED, None, "watch_reuse = 1\n")):
            shutil.rmtree(os.path.join(tmp, "state"))
            cpu, rss0, rss1 = watch_many(build, src, tmp, count, port, reuse)
            row(f"watch: listener CPU watching {count} services at 1s with watch_check (HTTP, in-process"
                + (", a new connection each round)" if reuse else ")"),
                f"{cpu * 100:.2f}% of a core", f"RSS {rss1 / 1024:.1f} MiB ({(rss1 - rss0) / 1024:+.2f} over 30 s)",
                f"<= {goal * 100:.0f}%" if goal else "reported",
                ("met" if cpu <= goal else f"NOT met ({cpu * 100:.2f}%)") if goal else "")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    rows = []
    here = os.path.dirname(os.path.abspath(__file__))
    run(lambda *r: rows.append(r), os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build"), os.path.dirname(here))
    for r in rows:
        print(" | ".join(str(x) for x in r))
