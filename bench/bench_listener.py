#!/usr/bin/env python3
"""make bench-listener: heal-ctl -> heal-listener vs check_nrpe -> nrpe, side by side.

Both daemons on loopback run a trivial command (/bin/echo; NRPE calls a silent one a failure); the clients are called
sequentially, alternating, N times each (BENCH_CALLS, default 50). heal uses mutual TLS with
verified certificates; NRPE uses its Debian defaults. Measures; asserts nothing.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

N = int(os.environ.get("BENCH_CALLS", "50"))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: nothing listens on {port}")


def main():
    tmp = tempfile.mkdtemp(prefix="heal-bench-listener.")
    subprocess.run([os.path.join(SRC, "scripts/heal-dev-certs"), os.path.join(tmp, "certs")],
                   check=True, stdout=subprocess.DEVNULL)
    heal_port, nrpe_port = free_port(), free_port()
    os.mkdir(os.path.join(tmp, "state"))
    with open(os.path.join(tmp, "heal.ini"), "w") as f:
        f.write(f"[listener]\nlisten = 127.0.0.1:{heal_port}\nallow = 127.0.0.1\n"
                "cert = certs/server.crt\nkey = certs/server.key\nclient_ca = certs/ca.crt\n"
                "audit_log = audit.jsonl\nstate_dir = state\nallow_root = yes\n[service trivial]\nstatus = /bin/echo\n")
    with open(os.path.join(tmp, "nrpe.cfg"), "w") as f:
        f.write(f"server_port={nrpe_port}\nserver_address=127.0.0.1\nallowed_hosts=127.0.0.1\n"
                f"pid_file={tmp}/nrpe.pid\nnrpe_user=nagios\nnrpe_group=nagios\n"
                "dont_blame_nrpe=0\ncommand_timeout=10\ncommand[trivial]=/bin/echo status\n")
    os.chmod(tmp, 0o755)
    procs = [subprocess.Popen([os.path.join(BUILD, "heal-listener"), "-c", os.path.join(tmp, "heal.ini")],
                              stderr=subprocess.DEVNULL),
             subprocess.Popen(["/usr/sbin/nrpe", "-c", os.path.join(tmp, "nrpe.cfg"), "-f"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_port(heal_port)
        wait_port(nrpe_port)
        certs = os.path.join(tmp, "certs")
        heal = [os.path.join(BUILD, "heal-ctl"), "-H", "127.0.0.1", "-p", str(heal_port),
                "--cert", f"{certs}/client.crt", "--key", f"{certs}/client.key",
                "--ca", f"{certs}/ca.crt", "status", "trivial"]
        nrpe = ["/usr/lib/nagios/plugins/check_nrpe", "-H", "127.0.0.1", "-p", str(nrpe_port),
                "-c", "trivial"]
        times, rss = benchlib.alternate(BUILD, N, heal, nrpe)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    print(f"{N} sequential calls each, alternating; the remote command is /bin/echo")
    benchlib.table(("heal-ctl", "check_nrpe"), times, rss)


if __name__ == "__main__":
    main()
