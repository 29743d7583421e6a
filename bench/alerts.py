#!/usr/bin/env python3
"""Alert-burst figure of upkeepd, measured on this machine.

  burst   100 workers (build/uk-worker serving /health on 127.0.0.1) probed every 1 s, and a
          webhook sink whose endpoint accepts connections and never answers.  After a quiet
          baseline, 10 more workers crash once each and their warnings repeat every 10 ms until
          at least 1000 alerts were offered to the dead sink.  Reported: the probe period of the
          100 (median and worst) before and during the burst, upkeepd's RSS before and after,
          and what the sink did with the alerts (queued, failed, dropped).

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probes import free_ports, instances, rss_kib, status, wait_for  # noqa: E402

N, NOISY, ALERTS, QUEUE = 100, 10, 1000, 100


def ctl(build, sock, *args):
    r = subprocess.run([f"{build}/upkeepctl", "-s", sock, *args], capture_output=True, text=True,
                       timeout=30)
    return r.stdout


def sink(build, sock):
    return {s["name"]: s for s in json.loads(ctl(build, sock, "alerts", "--json"))["sinks"]}["dead"]


def offered(s):
    return s["queued"] + s["sent"] + s["failed"] + s["dropped"]


def answered(build, sock):
    return {i["name"]: i["health"]["probes_answered"] for i in instances(status(build, sock))
            if i["name"].startswith("w")}


def periods(build, sock, seconds):
    before, t0 = answered(build, sock), time.monotonic()
    time.sleep(seconds)
    after, t1 = answered(build, sock), time.monotonic()
    return [(t1 - t0) / (after[k] - before[k]) for k in after if after[k] > before[k]], \
        [k for k in after if after[k] == before[k]]


def run(build, seconds):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(4096)  # the kernel accepts, nobody ever reads or answers
    with tempfile.TemporaryDirectory(prefix="upkeep-bench-") as d:
        sock = os.path.join(d, "upkeep.sock")
        conf = os.path.join(d, "upkeep.conf")
        with open(conf, "w") as f:
            f.write(f'''log-dir = "{d}/logs"
socket = "{sock}"
alerts {{ rule warning {{ event = restart count = 1 within = 1h }} repeat = 10ms }}
notify dead {{ type = webhook url = "http://127.0.0.1:{dead.getsockname()[1]}/x" timeout = 3s queue = {QUEUE} }}
''')
            for k, port in enumerate(free_ports(N)):
                f.write(f'''worker w{k} {{
    command = "{build}/uk-worker --http-port {port}"
    health {{ url = "http://127.0.0.1:{port}/health" interval = 1s timeout = 4s failures = 1000 }}
}}
''')
            for k in range(NOISY):
                f.write(f'''worker noisy{k} {{
    command = "sh -c 'exit 1'"
    autostart = false
    start-secs = 0
    restart {{ backoff = 1h max-delay = 1h jitter = 0% }}
}}
''')
        log = open(os.path.join(d, "upkeepd.log"), "w")
        p = subprocess.Popen([f"{build}/upkeepd", "-c", conf], stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
        try:
            def up():
                if p.poll() is not None:
                    raise RuntimeError(f"upkeepd exited: {open(log.name).read()[-2000:]}")
                return os.path.exists(sock) and \
                    sum(i["state"] == "RUNNING" for i in instances(status(build, sock))) == N
            wait_for(up, 120, f"{N} workers RUNNING")
            time.sleep(3)
            base, _ = periods(build, sock, seconds)
            rss0 = rss_kib(p.pid)
            s0 = sink(build, sock)
            for k in range(NOISY):
                ctl(build, sock, "start", f"noisy{k}")
            t0 = time.monotonic()
            burst, silent = periods(build, sock, seconds)
            wait_for(lambda: offered(sink(build, sock)) - offered(s0) >= ALERTS, 60,
                     f"{ALERTS} alerts offered to the dead sink")
            t_burst = time.monotonic() - t0
            rss1 = rss_kib(p.pid)
            s1 = sink(build, sock)
            # bounded, not just small: three times as many alerts later, no more memory
            wait_for(lambda: offered(sink(build, sock)) - offered(s0) >= 3 * ALERTS, 120,
                     f"{3 * ALERTS} alerts offered to the dead sink")
            rss3 = rss_kib(p.pid)
            return {
                "base_median": statistics.median(base), "base_max": max(base),
                "burst_median": statistics.median(burst), "burst_max": max(burst),
                "silent": silent, "rss0": rss0, "rss1": rss1, "rss3": rss3, "sink": s1,
                "alerts": offered(s1) - offered(s0), "burst_s": t_burst,
            }
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            dead.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=10, help="length of each period measurement")
    ap.add_argument("--out")
    a = ap.parse_args()
    r = run(os.path.abspath(a.build), a.seconds)
    s = r["sink"]
    change = 100.0 * (r["burst_median"] - r["base_median"]) / r["base_median"]
    lines = [
        "| alert burst to a dead webhook | before | during | target |",
        "|---|---|---|---|",
        f"| probe period of {N} workers, median (max) | {r['base_median']:.3f} s "
        f"({r['base_max']:.3f} s) | {r['burst_median']:.3f} s ({r['burst_max']:.3f} s), "
        f"{change:+.1f} % | within 5 % |",
        f"| upkeepd RSS | {r['rss0'] / 1024:.2f} MiB | {r['rss1'] / 1024:.2f} MiB "
        f"({(r['rss1'] - r['rss0'])} KiB more); after {3 * ALERTS} alerts "
        f"{r['rss3'] / 1024:.2f} MiB | bounded by the queue ({QUEUE}) |",
        f"| alerts offered to the sink | | {r['alerts']} in {r['burst_s']:.1f} s: "
        f"{s['queued']} queued, {s['failed']} failed, {s['dropped']} dropped | ≥ {ALERTS} |",
    ]
    if r["silent"]:
        lines.append(f"| workers never probed during the burst | | {len(r['silent'])} | 0 |")
    print("\n".join(lines))
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
