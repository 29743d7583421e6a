#!/usr/bin/env python3
"""upkeep beside its peers (supervisord, runit, s6, monit) on the same work in the same run.

  restart    SIGKILL of a RUNNING worker (first delay 0) -> the new process has exec'd
  crash      a worker that exits 1 at once: restarts in the first W seconds and their delays
  startstop  100 workers: launch -> all exec'd; stop signal -> the whole tree is gone
  idle       100 sleeping workers: RSS and PSS summed over the supervisor's own processes
             (runsvdir + one runsv per service, s6-svscan + one s6-supervise per service), and
             their CPU time over the window
  probes     upkeepd with 100 and 1000 probed workers (bench/probes.py); monit with N HTTP checks,
             then with one endpoint that never answers (timeout 4 s): achieved period of the others
  status     `upkeepctl status --json` with 100 workers, wall time; peers' status commands
  logs       bench/logs.py (make bench-logs) when it exists

The worker is build/bench-stamp, which writes "<pid> <CLOCK_MONOTONIC ns>" at exec, so every time
is taken by the process that sees the event.  For runit and s6, ./run is a symbolic link to it
(file and exit status from the environment), so nothing runs between their exec and the stamp.
Supervisors run in the foreground (supervisord -n, runsvdir DIR, s6-svscan DIR, monit -I) in
temporary directories; figures that are timed one at a time alternate the supervisors over several
rounds; every wait has a deadline; only the processes started here, recorded by PID, are signalled.
The peers come from Debian's packages, installed with apt-get when missing.
"""
import argparse
import datetime
import os
import platform
import random
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import probes
from core import stamps  # bench/ is the script's own directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = ["restart", "crash", "startstop", "idle", "status", "probes", "logs"]
PACKAGES = {"supervisord": ("supervisor", "supervisord"), "runit": ("runit", "runsvdir"),
            "s6": ("s6", "s6-svscan"), "monit": ("monit", "monit")}
HZ = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- processes

def wait_for(pred, timeout, what, step=0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def proc_stat(pid):
    """(state, ppid, utime+stime ticks) or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[11]) + int(rest[12])


def gone(pid):
    """A process is gone once it has exited (a zombie waiting for its parent counts as gone)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    st = proc_stat(pid)
    return st is None or st[0] in ("Z", "X")


def descendants(root):
    kids = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            st = proc_stat(int(e))
            if st:
                kids.setdefault(st[1], []).append(int(e))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def cpu_ns(pid):
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def mem_kib(pid):
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    rss = int(l.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for l in f:
                if l.startswith("Pss:"):
                    pss = int(l.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return rss, pss


def become_subreaper():
    """Orphans (monit's workers, runsv once runsvdir has gone) become our children, so a killed
    one is reaped at once by gone() rather than lingering as a zombie that monit sees."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:      # PR_SET_CHILD_SUBREAPER
        print("warning: cannot become a child subreaper", file=sys.stderr)


def kill_pids(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- supervisors

class Sup:
    """One supervisor with its workers in its own temporary directory.

    Workers: (name, stamp file, exit code or None).  Everything this instance starts is recorded
    by PID (the root, its descendants as seen at every snapshot, the workers from their stamps)
    and only those PIDs are ever signalled."""
    name = "?"
    stop_sig = signal.SIGTERM

    def __init__(self, build, d, workers, restart_now=True):
        self.build, self.d, self.workers, self.restart_now = build, d, workers, restart_now
        self.stamp = f"{build}/bench-stamp"
        self.proc = None
        self.known = set()
        self.log = os.path.join(d, f"{self.name}.out")
        self.configure()

    def argv(self):
        raise NotImplementedError

    def env(self):
        return dict(os.environ)

    def configure(self):
        pass

    def start(self):
        log = open(self.log, "a")
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     env=self.env(), cwd=self.d)
        log.close()
        self.known.add(self.proc.pid)
        return self.proc

    def worker_pids(self):
        pids = set()
        for _, sf, _ in self.workers:
            pids.update(p for p, _ in stamps(sf))
        return pids

    def snapshot(self):
        if self.proc:
            self.known.update(descendants(self.proc.pid))
        self.known.update(self.worker_pids())

    def own_pids(self):
        """The supervisor's own processes: its tree without the workers."""
        workers = self.worker_pids()
        return [self.proc.pid] + [p for p in descendants(self.proc.pid) if p not in workers]

    def stop(self, timeout=90):
        """Graceful stop; returns the seconds until every recorded process was gone."""
        self.snapshot()
        t0 = time.monotonic()
        try:
            self.proc.send_signal(self.stop_sig)
        except ProcessLookupError:
            pass
        self.after_stop_signal()
        pids = sorted(self.known)
        try:
            wait_for(lambda: all(gone(p) for p in pids), timeout, f"{self.name} to stop", 0.002)
        finally:
            self.cleanup()
        return time.monotonic() - t0

    def after_stop_signal(self):
        pass

    def cleanup(self):
        """SIGKILL whatever recorded process is left, by PID, and reap our child."""
        if not self.proc:
            return
        self.snapshot()
        left = [p for p in self.known if not gone(p)]
        kill_pids(left, signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for p in left:
            try:
                wait_for(lambda: gone(p), 5, f"pid {p}", 0.01)
            except RuntimeError:
                print(f"warning: {self.name}: pid {p} survived SIGKILL", file=sys.stderr)

    def status_cmd(self):
        return None


class Upkeep(Sup):
    name = "upkeep"

    def configure(self):
        self.conf = os.path.join(self.d, "upkeep.conf")
        self.sock = os.path.join(self.d, "upkeep.sock")
        with open(self.conf, "w") as f:
            f.write(f'log-dir = "{self.d}/logs"\nsocket = "{self.sock}"\n')
            for name, sf, code in self.workers:
                cmd = f"{self.stamp} {sf}" + (f" {code}" if code is not None else "")
                restart = "restart { backoff = 0 jitter = 0% }" if self.restart_now else ""
                f.write(f'worker {name} {{\n    command = "{cmd}"\n    start-secs = 0\n'
                        f'    stop-timeout = 5s\n    {restart}\n}}\n')

    def argv(self):
        return [f"{self.build}/upkeepd", "-c", self.conf]

    def status_cmd(self):
        return [f"{self.build}/upkeepctl", "-s", self.sock, "status", "--json"]


class Supervisord(Sup):
    name = "supervisord"

    def configure(self):
        self.conf = os.path.join(self.d, "supervisord.conf")
        os.makedirs(os.path.join(self.d, "logs"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(f"""[supervisord]
nodaemon=true
logfile={self.d}/supervisord.log
pidfile={self.d}/supervisord.pid
childlogdir={self.d}/logs
user=root

[unix_http_server]
file={self.d}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.d}/supervisor.sock
""")
            for name, sf, code in self.workers:
                cmd = f"{self.stamp} {sf}" + (f" {code}" if code is not None else "")
                f.write(f"\n[program:{name}]\ncommand={cmd}\nautorestart=true\n")
                if self.restart_now:
                    f.write("startsecs=0\n")

    def argv(self):
        return ["supervisord", "-n", "-c", self.conf]

    def status_cmd(self):
        return ["supervisorctl", "-c", self.conf, "status"]


class ServiceDirs(Sup):
    """runit and s6: one service directory per worker, ./run a link to bench-stamp."""
    scandir = "sv"

    def configure(self):
        self.scan = os.path.join(self.d, self.scandir)
        os.makedirs(self.scan, exist_ok=True)
        files = {sf for _, sf, _ in self.workers}
        codes = {code for _, _, code in self.workers}
        assert len(files) == 1 and len(codes) == 1, "one stamp file and exit status per scan dir"
        self.stamp_file, self.code = files.pop(), codes.pop()
        for name, _, _ in self.workers:
            sd = os.path.join(self.scan, name)
            os.makedirs(sd, exist_ok=True)
            os.symlink(self.stamp, os.path.join(sd, "run"))

    def env(self):
        e = dict(os.environ, BENCH_STAMP=self.stamp_file)
        if self.code is not None:
            e["BENCH_EXIT"] = str(self.code)
        return e


class Runit(ServiceDirs):
    name = "runit"
    stop_sig = signal.SIGHUP   # runsvdir: TERM every runsv (which stops its service), then exit

    def argv(self):
        return ["runsvdir", self.scan]

    def status_cmd(self):
        return ["sv", "status"] + [os.path.join(self.scan, n) for n, _, _ in self.workers]


class S6(ServiceDirs):
    """s6-supervise waits 1 s between two spawns unless the service had been *ready* for 1 s:
    the worker tells it with s6's readiness protocol (a newline on notification-fd)."""
    name = "s6"
    scandir = "scan"

    def configure(self):
        super().configure()
        for name, _, _ in self.workers:
            with open(os.path.join(self.scan, name, "notification-fd"), "w") as f:
                f.write("3\n")

    def env(self):
        return dict(super().env(), BENCH_NOTIFY_FD="3")

    def argv(self):
        return ["s6-svscan", self.scan]


class Monit(Sup):
    name = "monit"

    def configure(self):
        self.conf = os.path.join(self.d, "monitrc")
        with open(self.conf, "w") as f:
            f.write(f"""set daemon 1
set logfile {self.d}/monit.log
set pidfile {self.d}/monit.pid
set idfile {self.d}/monit.id
set statefile {self.d}/monit.state
set httpd unixsocket {self.d}/monit.sock
    allow localhost
""")
            for name, sf, code in self.workers:
                cmd = f"{self.stamp} {sf}" + (f" {code}" if code is not None else "")
                # monit waits for its start program to exit: setsid -f forks the worker off
                f.write(f'\ncheck process {name} matching "^{cmd}$"\n'
                        f'    start program = "/usr/bin/setsid -f {cmd}"\n'
                        f'    stop program = "/bin/true"\n')
            self.extra(f)
        os.chmod(self.conf, 0o600)

    def extra(self, f):
        pass

    def argv(self):
        return ["monit", "-I", "-c", self.conf]

    def after_stop_signal(self):
        # the workers are not monit's descendants (setsid -f) and its stop program is a no-op
        kill_pids(self.worker_pids(), signal.SIGTERM)

    def status_cmd(self):
        return ["monit", "-c", self.conf, "status"]


PEERS = {"upkeep": Upkeep, "supervisord": Supervisord, "runit": Runit, "s6": S6, "monit": Monit}


def workers(d, n, code=None):
    sf = os.path.join(d, "stamps")
    return [(f"w{k}", sf, code) for k in range(n)]


class Run:
    """A supervisor started in a fresh temporary directory, stopped and cleaned up on exit."""

    def __init__(self, cls, build, n, code=None, restart_now=True):
        self.cls, self.build, self.n, self.code, self.restart_now = cls, build, n, code, restart_now

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix=f"upkeep-peers-{self.cls.name}-")
        d = self.tmp.name
        self.sup = self.cls(self.build, d, workers(d, self.n, self.code), self.restart_now)
        self.sf = os.path.join(d, "stamps")
        return self.sup

    def __exit__(self, *exc):
        try:
            if self.sup.proc and self.sup.proc.poll() is None:
                try:
                    self.sup.stop(timeout=60)
                except RuntimeError as e:
                    print(f"warning: {e}", file=sys.stderr)
            self.sup.cleanup()
        finally:
            self.tmp.cleanup()


# ---------------------------------------------------------------- figures

def fmt_ms(v):
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 else f"{v:.3f}"


def summary(vals):
    return statistics.median(vals), min(vals), max(vals)


def ratio(u, p):
    if not p:
        return "–"
    r = u / p
    return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def fig_restart(a, sups):
    """Alternate the supervisors: each round starts each one fresh and takes its share of the
    samples.  A kill comes `gap` s after the previous exec, so runsv's and s6-supervise's 1 s
    floor (waived for a service up longer than that) does not apply."""
    per_round = -(-a.samples // a.rounds)
    res = {s: [] for s in sups}
    for rnd in range(a.rounds):
        for s in sups:
            with Run(PEERS[s], a.build, 1) as sup:
                sf = sup.workers[0][1]
                sup.start()
                wait_for(lambda: stamps(sf), 15, f"{s}: first start")
                for k in range(per_round):
                    pid, t_exec = stamps(sf)[-1]
                    # wait until the worker has run `gap` seconds
                    # the polling ones (supervisord, monit) are killed at a random phase of their
                    # 1 s cycle, so their figure is the average case, not a lucky or unlucky one
                    phase = random.uniform(0, 1.0) if s in ("supervisord", "monit") else 0
                    # runsv and s6-supervise wait 1 s before a respawn unless the service has run
                    # (s6: been ready) that long, and monit checks a started process in its next
                    # cycle: they get `gap`; upkeepd and supervisord 0.3 s of quiet
                    gap = a.gap if s in ("runit", "s6", "monit") else 0.3
                    delay = (t_exec / 1e9 + gap + phase -
                             time.clock_gettime(time.CLOCK_MONOTONIC))
                    if delay > 0:
                        time.sleep(delay)
                    n = len(stamps(sf))
                    t0 = time.monotonic_ns()
                    os.kill(pid, signal.SIGKILL)
                    # reap the killed worker when it is ours (monit's, through the subreaper)
                    wait_for(lambda: (gone(pid), len(stamps(sf)) > n)[1], 15, f"{s}: restart")
                    res[s].append((stamps(sf)[n][1] - t0) / 1e6)
                    gone(pid)
        print(f"  restart round {rnd + 1}/{a.rounds}: " +
              ", ".join(f"{s} {statistics.median(res[s]):.2f} ms" for s in sups), flush=True)
    def spawn_floor(*mode):
        stamp = os.path.join(tempfile.gettempdir(), f"upkeep-floor-{os.getpid()}")
        out = subprocess.run([f"{a.build}/spawn-floor", f"{a.build}/bench-stamp", stamp,
                              str(a.samples), *mode], capture_output=True, text=True,
                             timeout=120, check=True).stdout
        try:
            os.unlink(stamp)
        except FileNotFoundError:
            pass
        return [float(x) for x in out.split()]
    floor, respawn = spawn_floor(), spawn_floor("respawn")
    u = statistics.median(res["upkeep"]) if "upkeep" in res else None
    out = [f"SIGKILL of a RUNNING worker → the new process has exec'd (stamp written at exec); "
           f"{a.rounds} rounds alternating the supervisors, {per_round} kills each per round, "
           f"a kill 0.3 s after the previous exec (runit, s6 and monit: {a.gap:.1f} s, past the "
           f"1 s respawn floor of the first two and monit's check of the started process; "
           f"supervisord and monit, which poll "
           f"every second: plus a random 0–1 s, so the kill falls at any phase of their cycle; "
           f"monit starts the worker through `setsid -f`, since it waits for its start program to "
           f"exit; s6: the worker signals readiness on notification-fd, which waives "
           f"s6-supervise's 1 s floor).  Target: upkeep's median ≤ ⅓ of s6's.",
           "", "| supervisor | samples | median | min–max | upkeep / peer |", "|---|---|---|---|---|"]
    for s in sups:
        m, lo, hi = summary(res[s])
        out.append(f"| {s} | {len(res[s])} | {fmt_ms(m)} ms | {fmt_ms(lo)}–{fmt_ms(hi)} ms | "
                   f"{ratio(u, m) if u is not None and s != 'upkeep' else '–'} |")
    m, lo, hi = summary(floor)
    out.append(f"| floor: posix_spawn → exec'd, no supervisor | {len(floor)} | {fmt_ms(m)} ms | "
               f"{fmt_ms(lo)}–{fmt_ms(hi)} ms | – |")
    rm, lo, hi = summary(respawn)
    out.append(f"| floor: SIGKILL → pidfd readable → reap → posix_spawn → exec'd, no supervisor "
               f"(bench/spawn-floor.c) | {len(respawn)} | {fmt_ms(rm)} ms | "
               f"{fmt_ms(lo)}–{fmt_ms(hi)} ms | – |")
    if u is not None and "s6" in res:
        s6 = statistics.median(res["s6"])
        out += ["", f"upkeep / s6 = {u / s6:.2f}: target ≤ 0.33 "
                    f"{'met' if u <= s6 / 3 else 'NOT met'}.  The second floor is the least any "
                    f"supervisor can take here: {rm / s6:.2f} of s6's median; upkeepd adds "
                    f"{u - rm:.2f} ms to it (its reap, logging, one loop iteration and the clone "
                    f"of its own spawn)."]
    return out


def expected_delays(n, base=1.0, factor=2.0, cap=300.0):
    return [min(base * factor ** k, cap) for k in range(n)]


def fig_crash(a, sups):
    """All supervisors at once (they sleep between restarts): each has one worker that exits 1
    at once; upkeep with its default restart section (backoff 1 s, factor 2, jitter 10 %),
    supervisord with its defaults (startsecs 1, startretries 3), runit and s6 as they are, monit
    without a restart limit."""
    runs = [Run(PEERS[s], a.build, 1, code=1, restart_now=False) for s in sups]
    started = {}
    try:
        for r in runs:
            sup = r.__enter__()
            sup.start()
            started[r.cls.name] = (r, sup)
        time.sleep(a.crash_seconds + 1.5)
        st = {}
        for s, (r, sup) in started.items():
            cmd = sup.status_cmd()
            if cmd and s == "supervisord":
                st[s] = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        res, logs = {}, {}
        for s, (r, sup) in started.items():
            if s == "monit":
                try:
                    logs[s] = open(os.path.join(sup.d, "monit.log")).read()
                except OSError:
                    pass
            ts = sorted(t for _, t in stamps(r.sf))
            if not ts:
                res[s] = (0, [])
                continue
            ts = [t for t in ts if t - ts[0] <= a.crash_seconds * 1e9]
            res[s] = (len(ts) - 1, [(b - x) / 1e9 for x, b in zip(ts, ts[1:])])
    finally:
        for r in runs:
            if hasattr(r, "sup"):
                r.__exit__(None, None, None)
    out = [f"A worker that exits 1 at once, all supervisors running side by side for "
           f"{a.crash_seconds} s: restarts after the first start, and the delays between "
           f"consecutive execs.  upkeep: default `restart` section (backoff 1 s, factor 2, "
           f"jitter 10 %); supervisord: defaults (startsecs 1, startretries 3); runit, s6: "
           f"as they are; monit: `set daemon 1`, no restart limit.",
           "", f"| supervisor | restarts in {a.crash_seconds} s | delays (s) | end state |",
           "|---|---|---|---|"]
    for s in sups:
        n, dl = res[s]
        shown = " ".join(f"{x:.2f}" for x in dl[:8]) + (" …" if len(dl) > 8 else "")
        if len(dl) > 8:
            shown += f" (median {statistics.median(dl):.3f})"
        end = "–"
        if s == "supervisord" and s in st:
            end = " ".join(st[s].split()[1:2]) or "?"
        if s == "monit" and s in logs:
            end = (f"{logs[s].count('failed to start')} × \"failed to start\" "
                   f"(it waits 30 s for the process to appear)")
        if s == "upkeep":
            exp = expected_delays(len(dl))
            ok = all(0.9 * e - 0.005 <= x <= 1.1 * e + 0.05 for x, e in zip(dl, exp))
            end = (f"curve {' '.join(f'{e:g}' for e in exp)} ±10 %: "
                   f"{'followed' if ok else 'NOT followed'}")
        out.append(f"| {s} | {n} | {shown or '–'} | {end} |")
    return out


def fig_startstop(a, sups, n=100):
    res = {s: ([], []) for s in sups}
    for rnd in range(a.rounds):
        for s in sups:
            with Run(PEERS[s], a.build, n) as sup:
                sf = sup.workers[0][1]
                t0 = time.monotonic_ns()
                sup.start()
                wait_for(lambda: len(stamps(sf)) >= n, 60, f"{s}: {n} starts")
                res[s][0].append((max(t for _, t in stamps(sf)) - t0) / 1e6)
                time.sleep(1.0)
                res[s][1].append(sup.stop(timeout=120) * 1e3)
        print(f"  start/stop round {rnd + 1}/{a.rounds}: " +
              ", ".join(f"{s} {res[s][0][-1]:.0f}/{res[s][1][-1]:.0f} ms" for s in sups),
              flush=True)
    out = [f"{n} workers: launch of the supervisor → all {n} have exec'd; its stop signal "
           f"(upkeepd, supervisord, s6-svscan: SIGTERM; runsvdir: SIGHUP) → the supervisor and every "
           f"worker have exited.  {a.rounds} rounds alternating the supervisors.  "
           f"Targets: ≤ 300 ms / ≤ 1000 ms.", "",
           "| supervisor | start: median | min–max | upkeep / peer | stop: median | min–max | "
           "upkeep / peer |", "|---|---|---|---|---|---|---|"]
    us = statistics.median(res["upkeep"][0]) if "upkeep" in res else None
    up = statistics.median(res["upkeep"][1]) if "upkeep" in res else None
    for s in sups:
        m1, l1, h1 = summary(res[s][0])
        m2, l2, h2 = summary(res[s][1])
        r1 = ratio(us, m1) if us is not None and s != "upkeep" else "–"
        r2 = ratio(up, m2) if up is not None and s != "upkeep" else "–"
        out.append(f"| {s} | {fmt_ms(m1)} ms | {fmt_ms(l1)}–{fmt_ms(h1)} ms | {r1} | "
                   f"{fmt_ms(m2)} ms | {fmt_ms(l2)}–{fmt_ms(h2)} ms | {r2} |")
    return out


def time_cmd(cmd, samples, ok_codes=(0, 3)):
    out = []
    for _ in range(samples):
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        out.append((time.monotonic() - t0) * 1e3)
        if r.returncode not in ok_codes:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}")
    return out


def fig_idle_status(a, sups, do_idle, do_status, n=100):
    """All supervisors at once, each with n sleeping workers: their own processes' memory and
    their CPU over the window; then the status commands against the same running sets."""
    runs = [Run(PEERS[s], a.build, n) for s in sups]
    idle, status = {}, {}
    try:
        started = []
        for r in runs:
            sup = r.__enter__()
            sup.start()
            started.append(sup)
        for sup in started:
            sf = sup.workers[0][1]
            wait_for(lambda: len(stamps(sf)) >= n, 60, f"{sup.name}: {n} starts")
        time.sleep(3)
        if do_idle:
            own = {sup.name: sup.own_pids() for sup in started}
            c0 = {s: sum(cpu_ns(p) for p in own[s]) for s in own}
            time.sleep(a.idle_seconds)
            c1 = {s: sum(cpu_ns(p) for p in own[s]) for s in own}
            for s in own:
                mem = [mem_kib(p) for p in own[s]]
                idle[s] = (len(own[s]), sum(m[0] for m in mem) / 1024,
                           sum(m[1] for m in mem) / 1024, (c1[s] - c0[s]) / 1e6)
        if do_status:
            for sup in started:
                cmd = sup.status_cmd()
                if cmd:
                    k = a.status_samples if sup.name != "supervisord" else min(a.status_samples, 10)
                    shown = " ".join(["sv", "status", "DIR/*"] if sup.name == "runit" else
                                     [os.path.basename(cmd[0])] +
                                     ["…" if "/" in x else x for x in cmd[1:]])
                    status[sup.name] = (shown, time_cmd(cmd, k))
            status["floor"] = ("/bin/true", time_cmd(["/bin/true"], a.status_samples))
    finally:
        for r in runs:
            if hasattr(r, "sup"):
                r.__exit__(None, None, None)
    out = []
    if do_idle:
        out += [f"All supervisors side by side, each with {n} workers that sleep; after 3 s of "
                f"settling, the supervisor's own processes (its process tree without the "
                f"workers) over {a.idle_seconds} s: CPU time (schedstat), then RSS and PSS "
                f"summed.  Targets: ≤ 4 MiB RSS, ≤ 2 ms CPU.", "",
                "| supervisor | own processes | RSS | PSS | CPU over "
                f"{a.idle_seconds} s | upkeep / peer (RSS, CPU) |", "|---|---|---|---|---|---|"]
        u = idle.get("upkeep")
        for s in sups:
            if s not in idle:
                continue
            k, rss, pss, cpu = idle[s]
            r = (f"{ratio(u[1], rss)}, {ratio(u[3], cpu) if u[3] > 0 and cpu > 0 else '–'}"
                 if u and s != "upkeep" else "–")
            out.append(f"| {s} | {k} | {rss:.2f} MiB | {pss:.2f} MiB | {cpu:.2f} ms | {r} |")
    return out, status


def status_table(a, status, monit_status):
    out = [f"Wall time of one status command run from this script (fork, exec, query, exit; "
           f"`/bin/true` run the same way is the floor), "
           f"{n_workers_status} workers (monit: {a.monit_checks} checks).  Target: upkeepctl ≤ 2 ms "
           f"median.", "", "| command | samples | median | min–max | upkeep / peer |",
           "|---|---|---|---|---|"]
    allst = dict(status)
    if monit_status:
        allst["monit"] = monit_status
    u = statistics.median(allst["upkeep"][1]) if "upkeep" in allst else None
    if "floor" in allst:
        allst["floor"] = allst.pop("floor")
    for s, (cmd, vals) in allst.items():
        m, lo, hi = summary(vals)
        if s == "floor":
            out.append(f"| floor: `/bin/true` | {len(vals)} | {fmt_ms(m)} ms | {fmt_ms(lo)}–"
                       f"{fmt_ms(hi)} ms | – |")
            continue
        out.append(f"| `{cmd}` ({s}) | {len(vals)} | {fmt_ms(m)} ms | {fmt_ms(lo)}–{fmt_ms(hi)} ms"
                   f" | {ratio(u, m) if u is not None and s != 'upkeep' else '–'} |")
    return out


n_workers_status = 100


class HealthServers:
    """N HTTP endpoints on 127.0.0.1 served from one thread; every request's arrival time is
    recorded per port; a port in `stalled` accepts and reads but never answers."""

    def __init__(self, n):
        self.sel = selectors.DefaultSelector()
        self.ports, self.hits, self.stalled = [], {}, set()
        self.held = []
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            s.setblocking(False)
            port = s.getsockname()[1]
            self.ports.append(port)
            self.hits[port] = []
            self.sel.register(s, selectors.EVENT_READ, ("listen", port))
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            for key, _ in self.sel.select(0.2):
                kind, port = key.data
                if kind == "listen":
                    try:
                        c, _ = key.fileobj.accept()
                    except BlockingIOError:
                        continue
                    c.setblocking(False)
                    self.sel.register(c, selectors.EVENT_READ, ("conn", port))
                    continue
                c = key.fileobj
                try:
                    data = c.recv(4096)
                except (BlockingIOError, ConnectionError):
                    data = b""
                if not data or b"\r\n\r\n" not in data:
                    if not data:
                        self.sel.unregister(c)
                        c.close()
                    continue
                self.hits[port].append(time.monotonic())
                if port in self.stalled:
                    continue          # stays registered; closed when the client gives up
                body = b'{"status":"healthy"}'
                try:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                except OSError:
                    pass
                self.sel.unregister(c)
                c.close()

    def close(self):
        self.stop = True
        self.t.join(timeout=5)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()


class MonitHTTP(Monit):
    def configure(self):
        self.workers = []
        super().configure()

    def extra(self, f):
        for k, port in enumerate(self.http_ports):
            f.write(f'\ncheck host h{k} with address 127.0.0.1\n'
                    f'    if failed port {port} protocol http request "/health" '
                    f'timeout 4 seconds then alert\n')


def monit_probes(a, seconds, stall):
    hs = HealthServers(a.monit_checks)
    if stall:
        hs.stalled.add(hs.ports[0])
    tmp = tempfile.TemporaryDirectory(prefix="upkeep-peers-monit-")
    MonitHTTP.http_ports = hs.ports
    sup = MonitHTTP(a.build, tmp.name, [], True)
    status = None
    try:
        sup.start()
        wait_for(lambda: all(hs.hits[p] for p in hs.ports[1:]), 60, "monit's first checks", 0.05)
        time.sleep(3)
        t0, c0 = time.monotonic(), cpu_ns(sup.proc.pid)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), cpu_ns(sup.proc.pid)
        rss = mem_kib(sup.proc.pid)[0] / 1024
        periods = []
        for p in hs.ports[1 if stall else 0:]:
            h = [t for t in hs.hits[p] if t0 - 6 <= t <= t1]
            if len(h) >= 2:
                periods.append((h[-1] - h[0]) / (len(h) - 1))
        stalled_hits = len([t for t in hs.hits[hs.ports[0]] if t0 <= t <= t1]) if stall else None
        if not stall:
            status = ("monit -c … status", time_cmd(sup.status_cmd(), a.status_samples, (0, 1)))
        return {"cpu_pct": 100 * (c1 - c0) / 1e9 / (t1 - t0), "rss_mib": rss,
                "period_median": statistics.median(periods) if periods else float("nan"),
                "period_max": max(periods) if periods else float("nan"),
                "stalled_answers": stalled_hits}, status
    finally:
        try:
            sup.stop(timeout=30)
        except RuntimeError as e:
            print(f"warning: {e}", file=sys.stderr)
        sup.cleanup()
        hs.close()
        tmp.cleanup()


def fig_probes(a, sups):
    rows = []
    s = a.probe_seconds
    if "upkeep" in sups:
        rows.append(("upkeep", "100 workers, probe every 1 s", probes.run(a.build, 100, s),
                     "≤ 1 % CPU"))
        print(f"  probes: {rows[-1]}", flush=True)
        if not a.quick:
            rows.append(("upkeep", "1000 workers, probe every 1 s", probes.run(a.build, 1000, s),
                         "≤ 5 % CPU, ≤ 16 MiB"))
            print(f"  probes: {rows[-1]}", flush=True)
        r = probes.run(a.build, 100, s, stall=True)
        rows.append(("upkeep", f"100 workers, one probe stalled 4 s (it answered "
                               f"{r['stalled_answers']} times)", r, "others keep 1 s"))
        print(f"  probes: {rows[-1]}", flush=True)
    monit_status = None
    if "monit" in sups:
        r, monit_status = monit_probes(a, s, False)
        rows.append(("monit", f"{a.monit_checks} HTTP checks, `set daemon 1`", r, "–"))
        print(f"  probes: {rows[-1]}", flush=True)
        r, _ = monit_probes(a, max(s, 20), True)
        rows.append(("monit", f"{a.monit_checks} HTTP checks, one endpoint never answers "
                              f"(timeout 4 s; it was asked {r['stalled_answers']} times)", r, "–"))
        print(f"  probes: {rows[-1]}", flush=True)
    out = [f"upkeepd: bench/probes.py (uk-worker endpoints, `interval = 1s timeout = 4s`, period "
           f"from `probes_answered`), {s} s windows.  monit: `check host` HTTP tests against "
           f"endpoints served by this script (period from the requests they received), "
           f"{s} s window (20 s at least with the stalled endpoint).  CPU is % of one core.", "",
           "| supervisor | figure | CPU | RSS | achieved period median (max) | target |",
           "|---|---|---|---|---|---|"]
    for who, label, r, target in rows:
        out.append(f"| {who} | {label} | {r['cpu_pct']:.2f} % | {r['rss_mib']:.1f} MiB | "
                   f"{r['period_median']:.3f} s ({r['period_max']:.3f} s) | {target} |")
    return out, monit_status


def fig_logs(a):
    if not os.path.exists(os.path.join(ROOT, "bench", "logs.py")):
        return ["bench/logs.py is not in this tree yet: `make bench` runs `make bench-logs` "
                "here once it exists."]
    if subprocess.run(["make", "-C", ROOT, "-n", "bench-logs"], capture_output=True).returncode:
        return ["bench/logs.py exists but the Makefile has no `bench-logs` target yet."]
    r = subprocess.run(["make", "-C", ROOT, "-s", "bench-logs"] +
                       ([f"B={os.path.relpath(a.build, ROOT)}"] if a.build else []),
                       capture_output=True, text=True, timeout=900)
    print(r.stdout, flush=True)
    lines = r.stdout.strip().split("\n")
    # its summary: the last table and what follows it
    k = len(lines)
    while k > 0 and not lines[k - 1].startswith("|"):
        k -= 1
    while k > 0 and lines[k - 1].startswith("|"):
        k -= 1
    out = ["`make bench-logs` (bench/logs.py), run by `make bench`; its log of rounds:", "", "```"]
    out += [l for l in lines[:k] if l.strip() and not l.startswith("|")] + ["```", ""]
    out += lines[k:] if k < len(lines) else ["(no table in its output)"]
    if r.returncode:
        out += ["", f"(`make bench-logs` exited with status {r.returncode}: "
                    f"it does so when a target is missed)"]
    return out


# ---------------------------------------------------------------- machine and report

def ensure_peers(sups):
    """apt-get install the Debian packages of the peers asked for that are missing."""
    missing = [PACKAGES[s][0] for s in sups if s in PACKAGES and not shutil.which(PACKAGES[s][1])]
    if missing:
        print(f"installing {' '.join(missing)} (apt-get)", flush=True)
        pre = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(pre + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] +
                       missing, check=True, env=env, timeout=600)
    for s in sups:
        if s in PACKAGES and not shutil.which(PACKAGES[s][1]):
            raise SystemExit(f"{s}: {PACKAGES[s][1]} is still missing")


def pkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def machine():
    model, cores = "?", os.cpu_count()
    with open("/proc/cpuinfo") as f:
        for l in f:
            if l.startswith("model name"):
                model = l.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for l in f:
            if l.startswith("MemTotal:"):
                mem = f"{int(l.split()[1]) / 1024 / 1024:.1f} GiB"
    try:
        deb = open("/etc/debian_version").read().strip()
    except OSError:
        deb = "?"
    nproc = len([e for e in os.listdir("/proc") if e.isdigit()])
    load = open("/proc/loadavg").read().split()[:3]
    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return [f"- CPU: {model}, {cores} cores; memory {mem}",
            f"- Kernel: {platform.uname().system} {platform.uname().release} "
            f"({platform.uname().machine}); Debian {deb}; {cc}",
            f"- Peers (Debian packages): supervisor {pkg_version('supervisor')}, runit "
            f"{pkg_version('runit')}, s6 {pkg_version('s6')}, monit {pkg_version('monit')}",
            f"- At the start of this run: {nproc} processes on the host, load average "
            f"{' '.join(load)}"]


HEADER = """# Benchmarks: upkeep beside supervisord, runit, s6 and monit

Regenerated by `make bench` (bench/peers.py; `make bench BENCH_ONLY=restart` and so on reruns one
figure and replaces only its section).  Every figure runs upkeep and the peers on the same work in
the same run: the worker is build/bench-stamp, which writes its CLOCK_MONOTONIC time at exec, so
times are taken by the process that sees the event; supervisors run in the foreground in temporary
directories on 127.0.0.1 and are stopped by PID.
"""

TITLES = {"restart": "Restart latency", "crash": "Crash loop", "startstop": "Start / stop 100 workers",
          "idle": "Idle with 100 sleeping workers", "status": "Status query",
          "probes": "Health probes", "logs": "Log capture"}


KEPT = "<!-- kept: written by hand or by other tools; make bench leaves it as it is -->"


def write_results(path, sections, a, argv, took):
    old = open(path).read() if os.path.exists(path) else ""
    parts = [HEADER, "## Machine", ""] + machine() + [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
        f"{' (--quick: fewer samples, shorter windows)' if a.quick else ''}; "
        f"this run took {took / 60:.1f} min", "",
        "## Commands", "", "```sh", "make bench                      # every figure, about 10 minutes (15 at most)",
        "make bench BENCH_ONLY=restart   # one figure: restart crash startstop idle status probes logs",
        "make bench BENCH_QUICK=1        # fewer rounds and shorter windows, about 5 minutes",
        f"# this file's last run: python3 bench/{os.path.basename(argv[0])} "
        f"{' '.join(argv[1:])}".rstrip(), "```", ""]
    for fig in FIGURES:
        begin, end = f"<!-- figure:{fig} -->", f"<!-- /figure:{fig} -->"
        if fig in sections:
            body = "\n".join(sections[fig])
        else:
            m = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), old, re.S)
            body = m.group(1) if m else "(not measured yet)"
        parts += [f"## {TITLES[fig]}", "", begin, body, end, ""]
    # what follows KEPT (the reliability figures of make fuzz, valgrind and soak, the notes on
    # targets) is not this script's: carried over as it is
    k = old.find(KEPT)
    if k >= 0:
        parts.append(old[k:].rstrip("\n"))
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", help="comma-separated figures: " + " ".join(FIGURES))
    ap.add_argument("--peers", default="upkeep,supervisord,runit,s6,monit")
    ap.add_argument("--quick", action="store_true", help="fewer samples, shorter windows")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--samples", type=int, help="restart latency samples per supervisor")
    ap.add_argument("--gap", type=float, default=1.1,
                    help="runit, s6: s between an exec and the next kill (their floor is 1 s)")
    ap.add_argument("--crash-seconds", type=int)
    ap.add_argument("--idle-seconds", type=int)
    ap.add_argument("--probe-seconds", type=int)
    ap.add_argument("--status-samples", type=int, default=30)
    ap.add_argument("--monit-checks", type=int, default=100)
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    ap.add_argument("--no-results", action="store_true", help="print only, leave RESULTS.md")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    q = a.quick
    a.rounds = a.rounds or (1 if q else 3)
    a.samples = a.samples or (10 if q else 30)
    a.crash_seconds = a.crash_seconds or (20 if q else 60)
    a.idle_seconds = a.idle_seconds or (10 if q else 60)
    a.probe_seconds = a.probe_seconds or (10 if q else 15)
    figs = a.only.split(",") if a.only else FIGURES
    for f in figs:
        if f not in FIGURES:
            ap.error(f"unknown figure {f!r}; one of {' '.join(FIGURES)}")
    peers = a.peers.split(",")
    for p in peers:
        if p not in PEERS:
            ap.error(f"unknown supervisor {p!r}")
    ensure_peers(peers)
    become_subreaper()
    t_start = time.monotonic()
    sections = {}
    last = [t_start]

    def section(fig, lines):
        sections[fig] = lines
        now = time.monotonic()
        print(f"\n## {TITLES[fig]} ({now - last[0]:.0f} s)\n\n" + "\n".join(lines) + "\n",
              flush=True)
        last[0] = now

    if "restart" in figs:
        section("restart", fig_restart(a, [p for p in peers]))
    if "crash" in figs:
        section("crash", fig_crash(a, peers))
    if "startstop" in figs:
        section("startstop", fig_startstop(a, [p for p in peers if p != "monit"]))
    status = {}
    if "idle" in figs or "status" in figs:
        idle, status = fig_idle_status(a, [p for p in peers if p != "monit"], "idle" in figs,
                                       "status" in figs)
        if "idle" in figs:
            section("idle", idle)
    monit_status = None
    if "probes" in figs:
        lines, monit_status = fig_probes(a, peers)
        section("probes", lines)
    if "status" in figs:
        if monit_status is None and "monit" in peers:
            _, monit_status = monit_probes(a, 3, False)
        section("status", status_table(a, status, monit_status))
    if "logs" in figs:
        section("logs", fig_logs(a))
    took = time.monotonic() - t_start
    print(f"bench/peers.py: {', '.join(figs)} in {took:.0f} s", flush=True)
    if not a.no_results:
        write_results(a.results, sections, a, sys.argv, took)
        print(f"wrote {a.results}")


if __name__ == "__main__":
    sys.exit(main())
