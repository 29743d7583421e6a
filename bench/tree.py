#!/usr/bin/env python3
"""Whole-tree figures of upkeepd (process tracking, memory sampling), measured on this machine.

  sampling  100 workers (`sleep`) with memory-warn, sampled every 1 s for W seconds, against the
            same 100 without (idle); upkeepd's CPU time (schedstat) per minute for each, and
            the cost of one sample.  The figure for the issue's setting (every 10 s) is
            derived: (sampled - idle) / 10, per minute.
  stop      one worker that starts 50 double-forked daemons ignoring SIGTERM (its main process
            exits on SIGTERM), stop-timeout 2s: the time from `upkeepctl stop` until the 51
            processes are gone.
  memory    a worker with 3 children holding 20, 40 and 60 MiB: upkeepd's memory figure
            against the PSS of the 4 processes summed from /proc/PID/smaps_rollup here, with
            memory-warn 100M (the tree is over it: PSS is read at every sample), and with
            memory-warn 900M (under it: the figure is the tree's RSS, an upper bound of its
            PSS; how far above is printed).

Each in both tracking modes (cgroup v2 where writable, and UPKEEP_CGROUP=off), repeated R
times; medians printed.  With --baseline OLD_BUILD (repeatable), the sampling figure of that build is
measured in the same run (its runs interleaved with ours) and the ratio printed.  Everything runs in a temporary directory; only the processes started
here are signalled.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probes import cpu_ns, instances, query, status, wait_for  # noqa: E402

ESCAPER = r'''
import os, signal, sys, time
for _ in range(50):
    if os.fork() == 0:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(1)
    os.wait()
while True:
    time.sleep(1)
'''

HOLDER = r'''
import os, time
for mb in (20, 40, 60):
    if os.fork() == 0:
        b = b"\x01" * (mb << 20)
        while True:
            time.sleep(1)
b = b"\x01" * (10 << 20)
while True:
    time.sleep(1)
'''


class Upkeepd:
    def __init__(self, build, d, body, mode):
        self.sock = os.path.join(d, "upkeep.sock")
        conf = os.path.join(d, "upkeep.conf")
        with open(conf, "w") as f:
            f.write(f'socket = "{self.sock}"\nlog-dir = "{d}/logs"\n\n{body}')
        env = dict(os.environ)
        env.pop("UPKEEP_CGROUP", None)
        if mode == "fallback":
            env["UPKEEP_CGROUP"] = "off"
        self.log = open(os.path.join(d, "upkeepd.log"), "wb")
        self.proc = subprocess.Popen([f"{build}/upkeepd", "-c", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        wait_for(lambda: os.path.exists(self.sock) and self.answers(), 20, "upkeepd to answer")

    def answers(self):
        try:
            return query(self.sock, {"cmd": "status"}).get("ok")
        except OSError:
            return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def all_running(build, sock, n):
    insts = list(instances(status(build, sock)))
    return len(insts) == n and all(i["state"] == "RUNNING" for i in insts)


def sampling(build, mode, seconds):
    """upkeepd's CPU ms per minute with 100 idle workers, and with them sampled every 1 s."""
    out = {}
    for variant in ("idle", "sampled"):
        keys = '    memory-warn = 900M\n    memory-interval = 1s\n' if variant == "sampled" else ""
        body = "".join(f'worker w{k} {{\n    command = "sleep 100000"\n{keys}}}\n'
                       for k in range(100))
        with tempfile.TemporaryDirectory(prefix="uk-bench-tree-") as d:
            u = Upkeepd(build, d, body, mode)
            try:
                wait_for(lambda: all_running(build, u.sock, 100), 30, "100 workers running")
                time.sleep(2)
                c0, t0 = cpu_ns(u.proc.pid), time.monotonic()
                time.sleep(seconds)
                c1, t1 = cpu_ns(u.proc.pid), time.monotonic()
            finally:
                u.stop()
        out[variant] = (c1 - c0) / 1e6 / ((t1 - t0) / 60)
    return out


def stop_time(build, mode):
    with tempfile.TemporaryDirectory(prefix="uk-bench-tree-") as d:
        script = os.path.join(d, "escaper.py")
        with open(script, "w") as f:
            f.write(ESCAPER)
        u = Upkeepd(build, d, f'worker esc {{\n    command = "python3 {script}"\n'
                              '    stop-timeout = 2s\n    start-secs = 0\n}\n', mode)
        try:
            def fifty():
                i = next(instances(status(build, u.sock)))
                return i["pids"] if len(i["pids"]) == 51 else None
            pids = wait_for(fifty, 30, "51 processes of esc")
            t0 = time.monotonic()
            subprocess.run([f"{build}/upkeepctl", "-s", u.sock, "stop", "esc"],
                           capture_output=True, timeout=30)
            while any(alive(p) for p in pids):
                if time.monotonic() - t0 > 10:
                    raise RuntimeError("escapees still alive 10 s after stop")
                time.sleep(0.001)
            return time.monotonic() - t0
        finally:
            u.stop()


def pss(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += sum(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("Pss:"))
        except OSError:
            pass
    return total


def memory_figure(build, mode, warn="100M"):
    with tempfile.TemporaryDirectory(prefix="uk-bench-tree-") as d:
        script = os.path.join(d, "holder.py")
        with open(script, "w") as f:
            f.write(HOLDER)
        u = Upkeepd(build, d, f'worker mem {{\n    command = "python3 {script}"\n'
                              f'    memory-warn = {warn}\n    memory-interval = 200ms\n}}\n', mode)
        try:
            def sampled():
                i = next(instances(status(build, u.sock)))
                # under memory-warn, once the start is over, the figure is the RSS
                want = "rss" if warn == "900M" else "pss"
                return i if len(i["pids"]) == 4 and i["memory"]["bytes"] and \
                    i["memory"]["bytes"] > 120 << 20 and \
                    i["memory"].get("measure", want) == want else None
            wait_for(sampled, 30, "a sample of the 4 processes")
            time.sleep(0.5)
            i = next(instances(status(build, u.sock)))
            return i["memory"]["bytes"], pss(i["pids"]), i["memory"].get("measure")
        finally:
            u.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--baseline", action="append", default=[],
                    help="an older build to measure the sampling figure against (repeatable)")
    ap.add_argument("--only", choices=("sampling", "stop", "memory"), help="one figure")
    ap.add_argument("--mode", choices=("cgroup", "fallback"), help="one tracking mode")
    ap.add_argument("--seconds", type=float, default=10, help="sampling window W")
    ap.add_argument("--repeat", type=int, default=3, help="R")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    bases = [os.path.abspath(b) for b in a.baseline]
    med = statistics.median
    for mode in [a.mode] if a.mode else ("cgroup", "fallback"):
        if a.only in (None, "sampling"):
            builds = bases + [build]
            runs = {b: [] for b in builds}
            for _ in range(a.repeat):
                for b in builds:
                    runs[b].append(sampling(b, mode, a.seconds))
            added = {}
            for b in builds:
                rs = runs[b]
                idle, sampled = med(r["idle"] for r in rs), med(r["sampled"] for r in rs)
                added[b] = (sampled - idle) / 10
                print(f"{mode:8} {b}: idle {idle:.1f} ms CPU/min, 100 workers "
                      f"sampled every 1 s {sampled:.1f} ms CPU/min "
                      f"({(sampled - idle) / 6000 * 1000:.1f} us per sample); "
                      f"every 10 s: +{added[b]:.1f} ms CPU/min over idle")
            for b in bases:
                if added[b] > 0:
                    print(f"{mode:8} sampling cost {build} / {b}: {added[build] / added[b]:.3f}")
        if a.only in (None, "stop"):
            stops = [stop_time(build, mode) for _ in range(a.repeat)]
            print(f"{mode:8} stop of a worker with 50 escaped daemons: median "
                  f"{med(stops) * 1000:.1f} ms, worst {max(stops) * 1000:.1f} ms "
                  f"(stop-timeout 2000 ms)")
        if a.only in (None, "memory"):
            for warn in ("100M", "900M"):
                figs = [memory_figure(build, mode, warn) for _ in range(a.repeat)]
                diffs = [(u - p) / p * 100 for u, p, _ in figs]
                print(f"{mode:8} memory figure (memory-warn {warn}, measure "
                      f"{'/'.join(sorted(set(str(m) for _, _, m in figs)))}) vs smaps_rollup "
                      f"summed here: median difference {med(diffs):+.2f} % (upkeepd "
                      f"{med(u for u, _, _ in figs) / 2**20:.1f} MiB, script "
                      f"{med(p for _, p, _ in figs) / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
