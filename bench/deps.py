#!/usr/bin/env python3
"""Dependency figures of upkeepd (`after`, `ready = notify`, `ready = fd:N`), measured here.

  notify  a worker `ready = notify` (build/bench-stamp: stamps CLOCK_MONOTONIC, then sends
          READY=1 at once) and a worker `after` it (bench-stamp, stamping at its exec).  Each
          round stops both and starts them again.  Reported: from the READY=1 sent to the
          dependent exec'd, median and worst (the stamps share CLOCK_MONOTONIC with nothing in
          between but upkeepd).  Target: median <= 2 ms.
  chain   20 workers, each `after` the previous, all `ready = fd:3` (bench-stamp writes its
          line to fd 3 at once), against one worker alone, in the same run: from the start
          request (`upkeepctl start`, stamped before it runs) to the exec of the last of the 20,
          and to the exec of the single one.  Target: chain <= 20 x single + 50 ms.

Everything runs in a temporary directory; every wait has a deadline; only the upkeepd started
here is signalled.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CHAIN = 20


def ctl(build, sock, *args):
    return subprocess.run([f"{build}/upkeepctl", "-s", sock, *args], capture_output=True,
                          text=True, timeout=30)


def states(build, sock):
    r = ctl(build, sock, "status", "--json")
    out = {}
    for w in json.loads(r.stdout)["workers"]:
        for i in w["instances"]:
            out[i["name"]] = i["state"]
    return out


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)  # polling with upkeepctl costs CPU the figures would share
    sys.exit(f"timed out waiting for {what}")


def stamps(path):
    try:
        with open(path) as f:
            return [int(ln.split()[1]) for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def worker(name, stamp_bin, env, **keys):
    lines = [f"worker {name} {{", f"    command = {q(stamp_bin)}",
             "    environment = {" + ", ".join(q(e) for e in env) + "}"]
    lines += [f"    {k.replace('_', '-')} = {v}" for k, v in keys.items()]
    return "\n".join(lines + ["}", ""])


class Upkeepd:
    def __init__(self, build, tmp, name, body):
        self.build, self.sock = build, os.path.join(tmp, f"{name}.sock")
        conf = os.path.join(tmp, f"{name}.conf")
        with open(conf, "w") as f:
            f.write(f"socket = {q(self.sock)}\nlog-dir = {q(os.path.join(tmp, 'logs'))}\n"
                    f"log-level = warning\n{body}")
        self.log = open(os.path.join(tmp, f"{name}.log"), "w")
        self.proc = subprocess.Popen([f"{build}/upkeepd", "-c", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.sock) and ctl(build, self.sock, "status").returncode
                 in (0, 3), 10, "upkeepd to answer")

    def all_in(self, names, state):
        return wait_for(lambda: all(states(self.build, self.sock).get(n) == state
                                    for n in names), 20, f"{names} {state}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def notify_rounds(build, tmp, rounds):
    sa, sb = os.path.join(tmp, "a.stamps"), os.path.join(tmp, "b.stamps")
    stamp = f"{build}/bench-stamp"
    d = Upkeepd(build, tmp, "notify",
                worker("a", stamp, [f"BENCH_STAMP={sa}", "BENCH_SD_NOTIFY=1"], ready="notify",
                       autostart="false") +
                worker("b", stamp, [f"BENCH_STAMP={sb}"], after='{ "a" }', start_secs=0,
                       autostart="false"))
    lat = []
    try:
        for _ in range(rounds):
            ctl(build, d.sock, "start", "all")
            d.all_in(["a", "b"], "RUNNING")
            lat.append((stamps(sb)[-1] - stamps(sa)[-1]) / 1e6)
            ctl(build, d.sock, "stop", "all")
            d.all_in(["a", "b"], "STOPPED")
    finally:
        d.stop()
    return lat


def chain_rounds(build, tmp, rounds):
    stamp = f"{build}/bench-stamp"
    body = worker("solo", stamp, [f"BENCH_STAMP={tmp}/solo.stamps"], start_secs=0,
                  autostart="false")
    for k in range(CHAIN):
        after = f'{{ "c{k - 1}" }}' if k else "{}"
        body += worker(f"c{k}", stamp, [f"BENCH_STAMP={tmp}/c{k}.stamps", "BENCH_NOTIFY_FD=3"],
                       ready="fd:3", after=after, autostart="false")
    names = [f"c{k}" for k in range(CHAIN)]
    d = Upkeepd(build, tmp, "chain", body)
    single, chain = [], []
    try:
        for _ in range(rounds):
            t0 = time.monotonic_ns()
            ctl(build, d.sock, "start", "solo")
            d.all_in(["solo"], "RUNNING")
            single.append((stamps(f"{tmp}/solo.stamps")[-1] - t0) / 1e6)
            ctl(build, d.sock, "stop", "solo")
            d.all_in(["solo"], "STOPPED")

            t0 = time.monotonic_ns()
            ctl(build, d.sock, "start", "all")  # solo too, which starts beside c0
            d.all_in(names, "RUNNING")
            chain.append((stamps(f"{tmp}/c{CHAIN - 1}.stamps")[-1] - t0) / 1e6)
            ctl(build, d.sock, "stop", "all")
            d.all_in(names + ["solo"], "STOPPED")
    finally:
        d.stop()
    return single, chain


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="uk-bench-deps-") as tmp:
        lat = notify_rounds(a.build, tmp, a.rounds)
        single, chain = chain_rounds(a.build, tmp, max(5, a.rounds // 3))
    med = statistics.median(lat)
    print(f"notify: READY=1 sent -> dependent exec'd: median {med:.3f} ms, worst "
          f"{max(lat):.3f} ms over {len(lat)} rounds (target <= 2 ms: "
          f"{'ok' if med <= 2 else 'MISSED'})")
    s, c = statistics.median(single), statistics.median(chain)
    print(f"chain: start request -> exec of worker {CHAIN} of a ready = fd:3 chain: median "
          f"{c:.2f} ms; one worker alone: median {s:.2f} ms; chain / single = {c / s:.2f} "
          f"(target <= {CHAIN} x single + 50 ms = {CHAIN * s + 50:.1f} ms: "
          f"{'ok' if c <= CHAIN * s + 50 else 'MISSED'}); per link {(c - s) / (CHAIN - 1):.3f} ms")


if __name__ == "__main__":
    main()
