#!/usr/bin/env python3
"""Core figures of upkeepd, measured on this machine (the side-by-side run against the peers is
a separate benchmark):

  restart latency   SIGKILL of a RUNNING worker (first backoff 0) -> the new process has exec'd
  start 100         upkeepd launched -> all 100 workers have exec'd
  stop 100          SIGTERM to upkeepd -> upkeepd has exited with every worker gone
  idle 100          RSS/PSS of upkeepd and its CPU time over 60 s with 100 sleeping workers

Workers are build/bench-stamp, which writes "<pid> <CLOCK_MONOTONIC ns>" at exec, so each time
is taken by the process that sees the event, not by this script's polling.  Everything runs in a
temporary directory; every wait has a deadline; only processes started here are signalled.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def stamps(path):
    try:
        with open(path) as f:
            return [(int(a), int(b)) for a, b in (l.split() for l in f if l.strip())]
    except FileNotFoundError:
        return []


def write_conf(d, n, stamp_file, build):
    conf = os.path.join(d, "upkeep.conf")
    with open(conf, "w") as f:
        f.write(f'log-dir = "{d}/logs"\nsocket = "{d}/upkeep.sock"\n')
        for k in range(n):
            f.write(f'''worker w{k} {{
    command = "{build}/bench-stamp {stamp_file}"
    start-secs = 0
    stop-timeout = 5s
    restart {{ backoff = 0 jitter = 0% }}
}}
''')
    return conf


def start_daemon(build, conf, d):
    log = open(os.path.join(d, "upkeepd.log"), "w")
    return subprocess.Popen([f"{build}/upkeepd", "-c", conf], stdout=log, stderr=log)


def stop_daemon(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def restart_latency(build, samples):
    with tempfile.TemporaryDirectory(prefix="upkeep-bench-") as d:
        sf = os.path.join(d, "stamps")
        p = start_daemon(build, write_conf(d, 1, sf, build), d)
        try:
            wait_for(lambda: len(stamps(sf)) >= 1, 10, "first start")
            out = []
            for k in range(samples):
                pid, _ = stamps(sf)[-1]
                time.sleep(0.05)  # let the loop go idle, as in production
                t0 = time.monotonic_ns()
                os.kill(pid, signal.SIGKILL)
                wait_for(lambda: len(stamps(sf)) >= k + 2, 10, "restart")
                out.append((stamps(sf)[k + 1][1] - t0) / 1e6)
            return out
        finally:
            stop_daemon(p)


def spawn_floor(build, samples):
    with tempfile.TemporaryDirectory(prefix="upkeep-bench-") as d:
        out = subprocess.run([f"{build}/spawn-floor", f"{build}/bench-stamp",
                              os.path.join(d, "stamp"), str(samples)],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        return [float(x) for x in out.split()]


def start_stop(build, n):
    with tempfile.TemporaryDirectory(prefix="upkeep-bench-") as d:
        sf = os.path.join(d, "stamps")
        conf = write_conf(d, n, sf, build)
        t0 = time.monotonic_ns()
        p = start_daemon(build, conf, d)
        try:
            wait_for(lambda: len(stamps(sf)) >= n, 30, f"{n} starts")
            start_ms = (max(t for _, t in stamps(sf)) - t0) / 1e6
            pids = [pid for pid, _ in stamps(sf)]
            time.sleep(0.5)
            t1 = time.monotonic_ns()
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
            stop_ms = (time.monotonic_ns() - t1) / 1e6
            alive = [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
            if alive:
                raise RuntimeError(f"workers still alive after stop: {alive}")
            return start_ms, stop_ms
        finally:
            stop_daemon(p)


def proc_cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def proc_mem_kib(pid):
    rss = pss = 0
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                rss = int(l.split()[1])
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for l in f:
                if l.startswith("Pss:"):
                    pss = int(l.split()[1])
    except FileNotFoundError:
        pass
    return rss, pss


def idle(build, n, seconds):
    with tempfile.TemporaryDirectory(prefix="upkeep-bench-") as d:
        sf = os.path.join(d, "stamps")
        p = start_daemon(build, write_conf(d, n, sf, build), d)
        try:
            wait_for(lambda: len(stamps(sf)) >= n, 30, f"{n} starts")
            time.sleep(3)  # start-secs timers and the first status settle
            c0 = proc_cpu_ns(p.pid)
            time.sleep(seconds)
            c1 = proc_cpu_ns(p.pid)
            rss, pss = proc_mem_kib(p.pid)
            return rss, pss, (c1 - c0) / 1e6
        finally:
            stop_daemon(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--idle-seconds", type=int, default=60)
    ap.add_argument("--only", choices=["restart", "startstop", "idle"])
    ap.add_argument("--out", help="write a Markdown table here")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    lines = []

    def report(s):
        print(s, flush=True)
        lines.append(s)

    report("| figure | median | min–max | target |")
    report("|---|---|---|---|")
    if a.only in (None, "restart"):
        lat = restart_latency(build, a.samples)
        floor = spawn_floor(build, a.samples)
        report(f"| restart latency (SIGKILL → exec'd, {len(lat)} samples) | "
               f"{statistics.median(lat):.3f} ms | {min(lat):.3f}–{max(lat):.3f} ms | ≤ 1 ms |")
        report(f"| floor: posix_spawn → exec'd, no supervisor ({len(floor)} samples) | "
               f"{statistics.median(floor):.3f} ms | {min(floor):.3f}–{max(floor):.3f} ms | – |")
    if a.only in (None, "startstop"):
        runs = [start_stop(build, 100) for _ in range(a.rounds)]
        st = [r[0] for r in runs]
        sp = [r[1] for r in runs]
        report(f"| start 100 workers ({a.rounds} rounds) | {statistics.median(st):.1f} ms | "
               f"{min(st):.1f}–{max(st):.1f} ms | ≤ 300 ms |")
        report(f"| stop 100 workers ({a.rounds} rounds) | {statistics.median(sp):.1f} ms | "
               f"{min(sp):.1f}–{max(sp):.1f} ms | ≤ 1000 ms |")
    if a.only in (None, "idle"):
        rss, pss, cpu = idle(build, 100, a.idle_seconds)
        report(f"| idle with 100 workers: RSS / PSS | {rss / 1024:.2f} MiB / {pss / 1024:.2f} MiB"
               f" | – | ≤ 4 MiB RSS |")
        report(f"| idle with 100 workers: CPU over {a.idle_seconds} s | {cpu:.3f} ms | – | ≤ 2 ms |")
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
