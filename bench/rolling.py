#!/usr/bin/env python3
"""Restarts nobody notices: figures of held sockets and rolling restarts, on this machine.

  roll     4 instances of a Python HTTP server, each ready about 1 s after it starts (it
           sleeps 1 s, then answers its health probe), behind one socket upkeepd holds, under
           a client sending requests continuously on 127.0.0.1.  `upkeepctl restart` rolls
           them: reported are the total time and the sum of the four steps (stop + ready of
           each), both from upkeepd's log (millisecond stamps), what the roll adds to them, and
           the failed requests.
  surge    the same roll with rolling { surge = 1 }: a spare instance starts (and is ready)
           first, so capacity never drops; reported are the total and the fewest instances
           RUNNING seen by sampling status during the roll, against the roll without it.
  baseline the same 4 servers as they run today: each binds the port itself (SO_REUSEPORT)
           after its 1 s, and `upkeepctl restart --all-at-once`; its failed requests.
  crash    1 instance behind a held socket, SIGKILLed: connections refused while it restarts
           (they wait in the socket's queue instead), and the longest request meanwhile.

Runs alternate (roll, surge, baseline, crash) REPEAT times; medians are printed.  Everything runs in a
temporary directory on 127.0.0.1; every wait has a deadline; only the processes started here
are signalled.
"""
import argparse
import datetime
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probes import free_ports, instances, status, wait_for  # noqa: E402

N = 4

SERVER = r'''
import os, signal, socket, sys, threading, time
mode, arg, health = sys.argv[1], sys.argv[2], sys.argv[3]
stop = False
def on_term(sig, frm):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
time.sleep(1.0)  # "ready in about 1 s": loading an application
if mode == "held":
    s = socket.socket(fileno=int(arg))
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", int(arg)))
    s.listen(128)
hs = socket.socket(socket.AF_UNIX)
if os.path.exists(health):
    os.unlink(health)
hs.bind(health)
hs.listen()
def serve_health():
    while True:
        c, _ = hs.accept()
        c.recv(4096)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        c.close()
threading.Thread(target=serve_health, daemon=True).start()
s.settimeout(0.2)
while not stop:
    try:
        c, _ = s.accept()
    except (socket.timeout, InterruptedError, BlockingIOError):
        continue
    c.settimeout(5)
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = c.recv(4096)
        if not chunk:
            break
        req += chunk
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c.close()
'''


class Load:
    """One client thread, one request after another: answers, failures, the slowest."""

    def __init__(self, port):
        self.port = port
        self.ok = self.failed = self.refused = 0
        self.slowest = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def one(self):
        s = socket.socket()
        s.settimeout(20)
        t0 = time.monotonic()
        try:
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            good = data.startswith(b"HTTP/1.0 2")
            return ("ok" if good else "failed"), time.monotonic() - t0
        except ConnectionRefusedError:
            time.sleep(0.001)  # as a client retrying at once would
            return "refused", time.monotonic() - t0
        except OSError:
            return "failed", time.monotonic() - t0
        finally:
            s.close()

    def run(self):
        while not self.stop.is_set():
            kind, took = self.one()
            if kind == "ok":
                self.ok += 1
                self.slowest = max(self.slowest, took)
            elif kind == "refused":
                self.refused += 1
            else:
                self.failed += 1

    def finish(self):
        self.stop.set()
        self.thread.join(30)
        return self


def conf(d, port, held, instances_n, surge=0):
    mode, arg = ("held", "{fd:web}") if held else ("own", str(port))
    listen = f'listen web {{ address = "tcp://127.0.0.1:{port}" }}\n' if held else ""
    return (f'log-dir = "{d}/logs"\nsocket = "{d}/upkeep.sock"\n{listen}'
            f'worker py {{\n'
            f'    command = "{sys.executable} {d}/server.py {mode} {arg} {d}/h-%i.sock"\n'
            f'    instances = {instances_n}\n'
            + ('    sockets = { "web" }\n' if held else "") +
            f'    stop-timeout = 10s\n'
            f'    health {{ url = "unix:{d}/h-%i.sock:/health" start-interval = 100ms start-period = 20s '
            f'interval = 5s }}\n'
            f'    rolling {{ ready-timeout = 30s  surge = {surge} }}\n'
            f'}}\n')


def stamp(line):
    return datetime.datetime.fromisoformat(line.split()[0]).timestamp()


class Upkeepd:
    def __init__(self, build, d, text):
        self.build, self.d = build, d
        with open(f"{d}/upkeep.conf", "w") as f:
            f.write(text)
        self.log = open(f"{d}/upkeepd.log", "w")
        self.p = subprocess.Popen([f"{build}/upkeepd", "-c", f"{d}/upkeep.conf"],
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        self.sock = f"{d}/upkeep.sock"
        wait_for(lambda: os.path.exists(self.sock) and self.running(), 30, "every instance up")

    def running(self):
        if self.p.poll() is not None:
            raise RuntimeError(f"upkeepd exited: {self.output()[-500:]}")
        try:
            insts = list(instances(status(self.build, self.sock)))
        except Exception:
            return None
        return insts if insts and all(i["state"] == "RUNNING" for i in insts) else None

    def output(self):
        with open(f"{self.d}/upkeepd.log") as f:
            return f.read()

    def ctl(self, *args):
        return subprocess.run([f"{self.build}/upkeepctl", "-s", self.sock, *args],
                              capture_output=True, text=True, timeout=60)

    def close(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(30)
        self.log.close()


def replaced(u, before):
    insts = u.running()
    return insts if insts and all(i["pid"] != before[i["name"]] for i in insts) else None


def fewest_running(u, deadline):
    """Sample status until the roll is done: the fewest instances RUNNING seen."""
    least = N + 1
    while "rolling restart done" not in u.output():
        if time.monotonic() > deadline:
            raise RuntimeError("the roll did not end in time")
        try:
            insts = list(instances(status(u.build, u.sock)))
        except Exception:
            continue
        least = min(least, sum(i["state"] == "RUNNING" for i in insts))
        time.sleep(0.02)  # a sample every 20 ms: the states last 1 s each
    return least


def roll_once(build, d, port, surge=0):
    u = Upkeepd(build, d, conf(d, port, True, N, surge))
    try:
        before = {i["name"]: i["pid"] for i in u.running()}
        load = Load(port)
        time.sleep(0.5)
        u.ctl("restart", "py")
        load.least = fewest_running(u, time.monotonic() + 60)
        wait_for(lambda: replaced(u, before), 30, "every instance replaced")
        time.sleep(0.3)
        load.finish()
        lines = u.output().splitlines()
        # from upkeepd's own log: the command taken to the last replacement ready
        total = stamp(next(ln for ln in lines if "rolling restart done" in ln)) - \
            stamp(next(ln for ln in lines if "rolling restart of" in ln))
        steps = 0.0
        for k in range(N):
            begin = next(stamp(ln) for ln in lines if f"py:{k}: rolling restart {k + 1}/{N}" in ln)
            ready = next(stamp(ln) for ln in lines if f"py:{k}: STARTING -> RUNNING" in ln
                         and stamp(ln) >= begin)
            steps += ready - begin
        return total, steps, load
    finally:
        u.close()


def baseline_once(build, d, port):
    u = Upkeepd(build, d, conf(d, port, False, N))
    try:
        before = {i["name"]: i["pid"] for i in u.running()}
        load = Load(port)
        time.sleep(0.5)
        t0 = time.monotonic()
        u.ctl("restart", "py", "--all-at-once")
        wait_for(lambda: replaced(u, before), 60, "every instance replaced")
        total = time.monotonic() - t0
        time.sleep(0.3)
        load.finish()
        return total, load
    finally:
        u.close()


def crash_once(build, d, port):
    u = Upkeepd(build, d, conf(d, port, True, 1))
    try:
        pid = u.running()[0]["pid"]
        load = Load(port)
        time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: replaced(u, {"py": pid}), 30, "the instance restarted")
        time.sleep(0.3)
        load.finish()
        return load
    finally:
        u.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    rolls, surges, bases, crashes = [], [], [], []
    for r in range(a.repeat):
        for kind in ("roll", "surge", "baseline", "crash"):
            with tempfile.TemporaryDirectory(prefix=f"uk-bench-{kind}-") as d:
                with open(f"{d}/server.py", "w") as f:
                    f.write(SERVER)
                port = free_ports(1)[0]
                if kind == "roll":
                    rolls.append(roll_once(build, d, port))
                elif kind == "surge":
                    surges.append(roll_once(build, d, port, surge=1))
                elif kind == "baseline":
                    bases.append(baseline_once(build, d, port))
                else:
                    crashes.append(crash_once(build, d, port))
        print(f"run {r + 1}/{a.repeat} done", file=sys.stderr, flush=True)
    med = statistics.median
    total, steps = med(x[0] for x in rolls), med(x[1] for x in rolls)
    print(f"rolling restart of {N} instances, each ready in about 1 s, behind a held socket:")
    print(f"  total {total:.3f} s; the {N} steps (stop + ready) {steps:.3f} s; added by the roll "
          f"{(total - steps) * 1000:.0f} ms (median of {len(rolls)})")
    print(f"  requests: served {med(x[2].ok for x in rolls):.0f}, failed "
          f"{max(x[2].failed + x[2].refused for x in rolls)} (worst run), slowest "
          f"{max(x[2].slowest for x in rolls) * 1000:.0f} ms")
    print(f"  fewest instances RUNNING during the roll: {min(x[2].least for x in rolls)}")
    st = med(x[0] for x in surges)
    print(f"the same roll with surge = 1 (a spare instance first):")
    print(f"  total {st:.3f} s ({st / total:.2f} x the roll without); fewest instances RUNNING "
          f"during it: {min(x[2].least for x in surges)} of {N}; requests: served "
          f"{med(x[2].ok for x in surges):.0f}, failed "
          f"{max(x[2].failed + x[2].refused for x in surges)} (worst run)")
    print(f"baseline, today: {N} servers binding the port themselves (SO_REUSEPORT), "
          f"restart --all-at-once:")
    print(f"  total {med(x[0] for x in bases):.3f} s; requests: served "
          f"{med(x[1].ok for x in bases):.0f}, refused {med(x[1].refused for x in bases):.0f}, "
          f"other failures {med(x[1].failed for x in bases):.0f} (medians)")
    print("crash of the only instance behind a held socket (SIGKILL, restarted, ready in ~1 s):")
    print(f"  connections refused {max(x.refused for x in crashes)}, cut "
          f"{max(x.failed for x in crashes)} (worst run: at most the one request the killed "
          f"process had accepted); served "
          f"{med(x.ok for x in crashes):.0f}; slowest request "
          f"{med(x.slowest for x in crashes) * 1000:.0f} ms (median): it waited in the queue")


if __name__ == "__main__":
    main()
