#!/usr/bin/env python3
"""Soak tests of upkeepd: does its memory or its file descriptor count grow over a long run?

  restarts   20 workers that print 40 lines and exit 1 ms later (uk-worker), first backoff 0,
             factor 1, no give-up: upkeepd restarts them as fast as it can.  RSS,
             PSS and open fds of upkeepd are sampled after a warm-up (--warmup restarts) and
             again after half and all of --restarts more, each time with every worker stopped
             for the moment (stop all, sample, start all); restarts are counted from status
             --json.  Pass: RSS grew by less than 64 KiB over the second half (a leak grows
             with every restart; the allocator's high-water mark settles in the first half)
             and the fd count is the same at all three samples.
  probes     --workers uk-worker HTTP workers, each probed every second and printing a log line
             every --line-interval ms, for --minutes; RSS, PSS and fds sampled every
             --sample-every s.  Pass: after the warm-up (--warmup-s) RSS grows by less than
             64 KiB beyond what the workers logged meanwhile (the log rings' first pass touches
             their pages, see soak_probes), the descriptors other than sockets do not move at
             all and the sockets (probe connections) stay within one per worker; no restart.

    python3 bench/soak.py --build build [--only restarts|probes] [--minutes 30] [--out FILE]

Everything runs in a temporary directory; only processes started here are signalled (by pid).
The result is a Markdown table (also written to --out) for bench/RESULTS.md.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

from probes import free_ports, query  # bench/ is the script's own directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RSS_LIMIT_KIB = 64
TRIM_KIB = 16  # TRIM_BYTES of daemon/logwriter.c


def instances(sock):
    return [i for w in query(sock, {"cmd": "status"})["workers"] for i in w["instances"]]


def total_restarts(sock):
    return sum(i["restarts"] for i in instances(sock))


def fd_counts(pid):
    """(open descriptors, of which sockets) of pid, from one listing: probe connections and
    the control connection of our own status query come and go, so both counts must be taken
    from the same look."""
    n = socks = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            socks += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
            n += 1
        except OSError:
            pass  # closed since the listing
    return n, socks


def sample(pid):
    """(RSS KiB, PSS KiB, open fds) of pid."""
    rss = pss = 0
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                rss = int(ln.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for ln in f:
            if ln.startswith("Pss:"):
                pss = int(ln.split()[1])
    return rss, pss, len(os.listdir(f"/proc/{pid}/fd"))


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


class Daemon:
    def __init__(self, build, d, conf_text, wrapper=()):
        self.sock = os.path.join(d, "upkeep.sock")
        conf = os.path.join(d, "upkeep.conf")
        with open(conf, "w") as f:
            f.write(f'log-dir = "{d}/logs"\nsocket = "{self.sock}"\n' + conf_text)
        self.log = open(os.path.join(d, "upkeepd.log"), "wb")
        self.proc = subprocess.Popen(list(wrapper) + [f"{build}/upkeepd", "-c", conf],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is None and
                 query(self.sock, {"cmd": "status"}, timeout=2)["ok"], 60, "upkeepd to answer")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        self.log.close()
        return rc


def quiet_sample(dm):
    """Stop every worker, sample upkeepd with nothing in flight (no child's pidfd or pipes
    open), start them again."""
    query(dm.sock, {"cmd": "stop", "name": "all"}, timeout=60)
    wait_for(lambda: all(i["state"] in ("STOPPED", "EXITED", "FATAL")
                         for i in instances(dm.sock)), 60, "every worker stopped", interval=0.2)
    time.sleep(1)  # the writer thread closes what the stopped workers left
    s = sample(dm.proc.pid)
    query(dm.sock, {"cmd": "start", "name": "all"}, timeout=60)
    return s


def soak_restarts(build, n_workers, restarts, warmup, report):
    # Each worker's output goes through a ring of buffer-size bytes whose positions only grow,
    # so RSS rises until every page of every ring has been written once (20 x 256 KiB with the
    # default size): small rings and 40 lines per run fill them during the warm-up.
    conf = 'log { buffer-size = 16K }\n' + "".join(f'''worker crash{k} {{
    command = "{build}/uk-worker --print 40 --exit-after 1"
    start-secs = 0
    restart {{ backoff = 0 factor = 1 jitter = 0% reset-after = 0 }}
}}
''' for k in range(n_workers))
    with tempfile.TemporaryDirectory(prefix="upkeep-soak-") as d:
        dm = Daemon(build, d, conf)
        try:
            pid = dm.proc.pid
            wait_for(lambda: total_restarts(dm.sock) >= warmup, 600, f"{warmup} restarts",
                     interval=0.5)
            s0 = quiet_sample(dm)
            t0, r0 = time.monotonic(), total_restarts(dm.sock)
            print(f"after warm-up: {r0} restarts, RSS {s0[0]} KiB, PSS {s0[1]} KiB, "
                  f"{s0[2]} fds", flush=True)
            quiet = [(r0, s0)]
            last = t0
            for goal in (restarts // 2, restarts):
                while True:
                    r = total_restarts(dm.sock)
                    if r - r0 >= goal:
                        break
                    if not dm.alive():
                        raise RuntimeError(f"upkeepd exited with {dm.proc.returncode}")
                    if time.monotonic() - last >= 30:
                        last = time.monotonic()
                        s = sample(pid)
                        print(f"  {r - r0} restarts, {(r - r0) / (last - t0):.0f}/s, RSS {s[0]} "
                              f"KiB, PSS {s[1]} KiB, {s[2]} fds", flush=True)
                    time.sleep(1)
                t1, r1 = time.monotonic(), total_restarts(dm.sock)
                quiet.append((r1, quiet_sample(dm)))
                print(f"quiet at {r1} restarts: RSS {quiet[-1][1][0]} KiB, PSS "
                      f"{quiet[-1][1][1]} KiB, {quiet[-1][1][2]} fds", flush=True)
        finally:
            rc = dm.stop()
    (_, s0), (rh, sh), (_, s1) = quiet
    # a leak grows with every restart, so it shows in the second half as much as in the first;
    # what the allocator keeps after its high-water mark shows in the first half only
    ok = s1[0] - sh[0] < RSS_LIMIT_KIB and s0[2] == sh[2] == s1[2] and rc == 0
    report(f"| restarts: {n_workers} crash-looping workers, {r1 - r0} restarts after {r0} of "
           f"warm-up, {t1 - t0:.0f} s ({(r1 - r0) / (t1 - t0):.0f}/s); quiet samples after "
           f"warm-up / at {rh} / at {r1} restarts | {s0[0]} / {sh[0]} / {s1[0]} KiB "
           f"(second half {s1[0] - sh[0]:+d}, whole run {s1[0] - s0[0]:+d}) | "
           f"{s0[1]} / {sh[1]} / {s1[1]} KiB | {s0[2]} / {sh[2]} / {s1[2]} | "
           f"{'pass' if ok else 'FAIL'} (exit {rc}) |")
    return ok


def soak_probes(build, n_workers, minutes, every, warmup_s, line_ms, report):
    ports = free_ports(n_workers)
    conf = "".join(f'''worker web{k} {{
    command = "{build}/uk-worker --http-port {p} --print 1000000000 --print-interval {line_ms}"
    start-secs = 1s
    health {{ url = "http://127.0.0.1:{p}/health" interval = 1s start-interval = 1s timeout = 2s }}
}}
''' for k, p in enumerate(ports))
    samples = []
    with tempfile.TemporaryDirectory(prefix="upkeep-soak-") as d:
        dm = Daemon(build, d, conf)
        try:
            pid = dm.proc.pid
            wait_for(lambda: all(i["state"] == "RUNNING" for i in instances(dm.sock)), 300,
                     f"{n_workers} workers RUNNING", interval=1)
            t0 = time.monotonic()
            end = t0 + minutes * 60
            while True:
                now = time.monotonic()
                insts = instances(dm.sock)
                sent = sum(i["health"]["probes_sent"] for i in insts if i.get("health"))
                running = sum(i["state"] == "RUNNING" for i in insts)
                restarts = sum(i["restarts"] for i in insts)
                logged = sum((i.get("output") or {}).get("bytes_written", 0) for i in insts)
                s = sample(pid)
                n_fds, socks = fd_counts(pid)
                s = (s[0], s[1], n_fds)
                samples.append((now - t0, *s, sent, running, restarts, socks, logged))
                print(f"  {now - t0:5.0f} s: RSS {s[0]} KiB, PSS {s[1]} KiB, {s[2]} fds "
                      f"({socks} sockets), "
                      f"{sent} probes, {running} running, {restarts} restarts", flush=True)
                if now >= end or not dm.alive():
                    break
                time.sleep(min(every, max(0.0, end - time.monotonic())))
        finally:
            rc = dm.stop()
    after = [s for s in samples if s[0] >= warmup_s] or samples[-1:]
    rss = [s[1] for s in after]
    fds = [s[3] for s in after]
    # sockets are the probe connections (at most one per worker, kept alive between probes)
    # and a few of upkeepd's own (control socket, curl's socketpair): judged apart from the
    # descriptors that must not move at all
    socks = [s[7] for s in after]
    others = [f - k for f, k in zip(fds, socks)]
    pss = [s[2] for s in after]
    dt = samples[-1][0] - samples[0][0]
    rate = (samples[-1][4] - samples[0][4]) / dt if dt else 0
    # Each worker's output passes through a ring whose positions only grow (logwriter.c): every
    # 4 KiB its worker logs touches a new page, and a ring that pauses gives its pages back once
    # TRIM_KIB went through it.  So RSS moves in a band of workers x (TRIM_KIB + a page), and the
    # second half of the run must not go above the first.
    logged_kib = (after[-1][8] - after[0][8]) // 1024
    band = n_workers * (TRIM_KIB + 4)
    half = len(rss) // 2
    ok = max(rss) - min(rss) <= band + RSS_LIMIT_KIB and \
        max(rss[half:]) <= max(rss[:half]) + RSS_LIMIT_KIB and max(others) == min(others) and \
        max(socks) <= n_workers + 8 and rc == 0 and samples[-1][6] == 0
    report(f"| probes: {n_workers} HTTP workers, 1 s probes ({rate:.0f}/s), a log line per "
           f"worker every {line_ms} ms, {dt / 60:.1f} min, {len(after)} samples after "
           f"{warmup_s} s | {min(rss)}–{max(rss)} KiB (max−min {max(rss) - min(rss)}, band "
           f"{band}; highest {max(rss[:half])} in the first half, {max(rss[half:])} in the "
           f"second; the workers logged {logged_kib} KiB) | "
           f"{min(pss)}–{max(pss)} KiB | {min(fds)}–{max(fds)} ({min(others)}–{max(others)} "
           f"without the probes' sockets) | "
           f"{'pass' if ok else 'FAIL'} (exit {rc}, {samples[-1][6]} restarts) |")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=["restarts", "probes"])
    ap.add_argument("--restarts", type=int, default=100000)
    ap.add_argument("--restart-workers", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=1000, help="restarts before the first sample")
    ap.add_argument("--workers", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--sample-every", type=float, default=30)
    ap.add_argument("--warmup-s", type=float, default=60,
                    help="probes: samples before this are not judged")
    ap.add_argument("--line-interval", type=int, default=1000,
                    help="probes: ms between a worker's log lines")
    ap.add_argument("--out", help="write the Markdown table here too")
    a = ap.parse_args()
    build = a.build if os.path.isabs(a.build) else os.path.join(ROOT, a.build)
    lines = []

    def report(s):
        print(s, flush=True)
        lines.append(s)

    cmd = "python3 bench/soak.py " + " ".join(sys.argv[1:])
    header = ["", f"`{cmd}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs)", "",
              "| soak | upkeepd RSS | PSS | fds | result |", "|---|---|---|---|---|"]
    ok = True
    results = []
    if a.only in (None, "restarts"):
        ok &= soak_restarts(build, a.restart_workers, a.restarts, a.warmup, results.append)
    if a.only in (None, "probes"):
        ok &= soak_probes(build, a.workers, a.minutes, a.sample_every, a.warmup_s,
                          a.line_interval, results.append)
    for ln in header + results:
        report(ln)
    if a.out:
        with open(a.out, "a") as f:
            f.write("\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
