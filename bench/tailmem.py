#!/usr/bin/env python3
"""Memory of the crash context: upkeepd's RSS with 1000 instances that each printed 8 KB of
output (so every tail ring is full), with `log { tail = 20 }` (the default) and with
`tail = 0`, in the same run; the difference is what the tail buffers cost.

    python3 bench/tailmem.py --build build [--instances 1000] [--rounds 3]

Each round starts a upkeepd for each setting, waits until every instance is RUNNING and its
output written, reads VmRSS from /proc, and stops it.  Medians are reported.  Stdlib only;
every wait has a deadline; only the processes started here are signalled, by pid.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from probes import query  # bench/ is the script's own directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PER_INSTANCE = 8000  # bytes each instance prints: twice a tail ring


def wait_for(pred, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
        except (OSError, ValueError, KeyError):
            v = None
        if v:
            return v
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def run(build, d, n, tail):
    logdir = os.path.join(d, "logs")
    sock = os.path.join(d, "upkeep.sock")
    shutil.rmtree(logdir, ignore_errors=True)
    conf = os.path.join(d, "upkeep.conf")
    # 80 lines of 100 bytes, then sleep: each instance's ring holds its last 4 KiB
    cmd = ("sh -c 'i=0; while [ $i -lt 80 ]; do printf \\\"%099d\\\\n\\\" $i; i=$((i+1)); "
           "done; exec sleep 600'")
    with open(conf, "w") as f:
        f.write(f'log-dir = "{logdir}"\nsocket = "{sock}"\n'
                f'log {{ buffer-size = 16K  max-line = 1K  tail = {tail} }}\n'
                f'worker w {{\n    command = "{cmd}"\n    instances = {n}\n'
                f'    start-secs = 0\n}}\n')
    out = open(os.path.join(d, "upkeepd.log"), "w")
    p = subprocess.Popen([os.path.join(build, "upkeepd"), "-c", conf], stdout=out,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        wait_for(lambda: query(sock, {"cmd": "status"}).get("ok"), 20, "upkeepd")

        def written():
            st = query(sock, {"cmd": "status"}, timeout=30)
            inst = st["workers"][0]["instances"]
            return all(i["state"] == "RUNNING" and
                       i["output"]["bytes_written"] >= PER_INSTANCE for i in inst)
        wait_for(written, 300, "every instance running, its output written", interval=0.5)
        time.sleep(0.5)
        return rss_kib(p.pid)
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
                raise RuntimeError("upkeepd did not exit within 60s of SIGTERM")
        out.close()
        shutil.rmtree(logdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build) if not os.path.isabs(args.build)
                            else args.build)
    d = tempfile.mkdtemp(prefix="upkeep-bench-tail-")
    on, off = [], []
    try:
        for r in range(args.rounds):
            off.append(run(build, d, args.instances, 0))
            on.append(run(build, d, args.instances, 20))
            print(f"round {r + 1}: RSS tail = 0 {off[-1] / 1024:.1f} MiB, tail = 20 "
                  f"{on[-1] / 1024:.1f} MiB", flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    mon, moff = statistics.median(on), statistics.median(off)
    diff = (mon - moff) / 1024
    print()
    print(f"| crash context, {args.instances} instances, every tail ring full | median of "
          f"{args.rounds} |")
    print("|---|---|")
    print(f"| upkeepd RSS, tail = 0 | {moff / 1024:.1f} MiB |")
    print(f"| upkeepd RSS, tail = 20 | {mon / 1024:.1f} MiB |")
    print(f"| tail buffers | {diff:.1f} MiB ({diff * 1024 / args.instances:.1f} KiB per "
          f"instance) |")
    ok = diff <= 8.0
    print(f"\ntarget (<= 8 MiB for the tail buffers): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
