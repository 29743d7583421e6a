#!/usr/bin/env python3
"""Health-probe figures of upkeepd, measured on this machine.

  probes N      N workers (build/uk-worker serving /health on 127.0.0.1), each probed every 1 s:
                upkeepd's CPU (% of one core, from /proc/PID/schedstat), its RSS, and the
                achieved probe period (from probes_answered in `upkeepctl status --json`)
  stalled       100 workers, one of which accepts the probe and never answers (4 s timeout):
                the achieved period of the 99 others

Everything runs in a temporary directory on 127.0.0.1; every wait has a deadline; only the
processes started here are signalled.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def query(sock, req, timeout=10):
    """One request on upkeepd's control socket, and its answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("connection closed")
            buf += chunk
    finally:
        s.close()
    return json.loads(buf[:buf.index(b"\n")])


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def status(build, sock):
    out = subprocess.run([f"{build}/upkeepctl", "-s", sock, "status", "--json"],
                         capture_output=True, text=True, timeout=30).stdout
    return json.loads(out)


def instances(st):
    for w in st["workers"]:
        for i in w["instances"]:
            yield i


def cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    return 0


def run(build, n, seconds, stall=False):
    with tempfile.TemporaryDirectory(prefix="upkeep-bench-") as d:
        sock = os.path.join(d, "upkeep.sock")
        ports = free_ports(n)
        conf = os.path.join(d, "upkeep.conf")
        with open(conf, "w") as f:
            f.write(f'log-dir = "{d}/logs"\nsocket = "{sock}"\n')
            for k, port in enumerate(ports):
                hf = os.path.join(d, f"health{k}")
                f.write(f'''worker w{k} {{
    command = "{build}/uk-worker --http-port {port} --health-file {hf}"
    stop-timeout = 5s
    health {{ url = "http://127.0.0.1:{port}/health" interval = 1s timeout = 4s failures = 1000 }}
}}
''')
        log = open(os.path.join(d, "upkeepd.log"), "w")
        p = subprocess.Popen([f"{build}/upkeepd", "-c", conf], stdout=log, stderr=log)
        try:
            wait_for(lambda: os.path.exists(sock) and
                     all(i["state"] == "RUNNING" for i in instances(status(build, sock))),
                     120, f"{n} workers RUNNING")
            if stall:
                with open(os.path.join(d, "health0"), "w") as f:
                    f.write("hang\n")
            time.sleep(3)
            before = {i["name"]: i["health"]["probes_answered"] for i in instances(status(build, sock))}
            c0, t0 = cpu_ns(p.pid), time.monotonic()
            time.sleep(seconds)
            c1, t1 = cpu_ns(p.pid), time.monotonic()
            after = {i["name"]: i["health"]["probes_answered"] for i in instances(status(build, sock))}
            rss = rss_kib(p.pid)
            periods = [(t1 - t0) / (after[k] - before[k]) for k in after
                       if k != "w0" or not stall if after[k] > before[k]]
            stalled_answers = after["w0"] - before["w0"] if stall else None
            return {
                "cpu_pct": 100.0 * (c1 - c0) / 1e9 / (t1 - t0),
                "rss_mib": rss / 1024,
                "period_median": statistics.median(periods),
                "period_max": max(periods),
                "stalled_answers": stalled_answers,
            }
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--only", choices=["100", "1000", "stalled"])
    ap.add_argument("--out")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    lines = ["| figure | upkeepd CPU | RSS | probe period median (max) | target |",
             "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)

    def report(label, r, target):
        s = (f"| {label} | {r['cpu_pct']:.2f} % | {r['rss_mib']:.1f} MiB | "
             f"{r['period_median']:.3f} s ({r['period_max']:.3f} s) | {target} |")
        print(s, flush=True)
        lines.append(s)

    if a.only in (None, "100"):
        report("100 workers, probe every 1 s", run(build, 100, a.seconds), "≤ 1 % CPU")
    if a.only in (None, "1000"):
        report("1000 workers, probe every 1 s", run(build, 1000, a.seconds),
               "≤ 5 % CPU, ≤ 16 MiB")
    if a.only in (None, "stalled"):
        r = run(build, 100, a.seconds, stall=True)
        report(f"100 workers, one probe stalled 4 s (it answered {r['stalled_answers']} times)",
               r, "others keep 1 s")
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
