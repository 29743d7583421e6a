#!/usr/bin/env python3
"""Metrics listener figures of upkeepd, measured on this machine.

  scrape  N idle workers (build/uk-worker; N = 100 and 1000), metrics { listen } on 127.0.0.1:
          the wall time of GET /metrics over one keep-alive connection (median and 90th
          percentile of --rounds scrapes), against the baseline measured in the same run: one
          `status` request on the control socket, the other full read of the same workers.
  idle    upkeepd's CPU time (schedstat) over --idle seconds without a scrape, with the listener
          and, as the baseline, without a metrics section: the listener must add nothing.
  rss     upkeepd's RSS with the listener (before any scrape and after the scrapes) minus its
          RSS with the same workers and no metrics section.

Everything runs in a temporary directory on 127.0.0.1; every wait has a deadline; only the
processes started here are signalled.
"""
import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probes import cpu_ns, free_ports, instances, query, rss_kib, wait_for  # noqa: E402


def start(build, d, n, listen):
    conf = os.path.join(d, "upkeep.conf")
    sock = os.path.join(d, "upkeep.sock")
    with open(conf, "w") as f:
        f.write(f'log-dir = "{d}/logs"\nsocket = "{sock}"\nlog-level = warning\n')
        f.write(f'worker w {{\n    command = "{build}/uk-worker"\n    instances = {n}\n}}\n')
        if listen:
            f.write(f'metrics {{\n    listen = "{listen}"\n}}\n')
    p = subprocess.Popen([f"{build}/upkeepd", "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "upkeepd.log"), "w"))

    def all_running():
        try:
            st = query(sock, {"cmd": "status"})
        except OSError:
            return False
        return st.get("ok") and all(i["state"] == "RUNNING" for i in instances(st))
    wait_for(all_running, 60 + n / 10, f"{n} workers RUNNING")
    return p, sock


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(60)


def settle_rss(pid):
    """RSS once it stopped moving (at most 5 s)."""
    last, end = rss_kib(pid), time.monotonic() + 5
    while time.monotonic() < end:
        time.sleep(0.5)
        now = rss_kib(pid)
        if now == last:
            break
        last = now
    return last


def idle_cpu_ms(pid, seconds):
    before = cpu_ns(pid)
    time.sleep(seconds)
    return (cpu_ns(pid) - before) / 1e6


def scrape_times(port, rounds):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, size = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read()
        times.append(time.perf_counter() - t0)
        if r.status != 200:
            raise RuntimeError(f"GET /metrics: {r.status}")
        size = len(body)
    c.close()
    return times, size


def status_times(sock, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        query(sock, {"cmd": "status"})
        times.append(time.perf_counter() - t0)
    return times


def ms(x):
    return f"{x * 1000:.2f} ms"


def run(build, n, rounds, idle):
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory(prefix="uk-bench-metrics-") as d:
        base_dir, lis_dir = os.path.join(d, "base"), os.path.join(d, "listen")
        os.makedirs(base_dir)
        os.makedirs(lis_dir)
        p, sock = start(build, base_dir, n, None)
        try:
            base_rss = settle_rss(p.pid)
            base_cpu = idle_cpu_ms(p.pid, idle)
        finally:
            stop(p)
        p, sock = start(build, lis_dir, n, f"127.0.0.1:{port}")
        try:
            lis_rss = settle_rss(p.pid)
            lis_cpu = idle_cpu_ms(p.pid, idle)
            scrape_times(port, 3)  # warm up
            sc, size = scrape_times(port, rounds)
            st = status_times(sock, rounds)
            after_rss = settle_rss(p.pid)
        finally:
            stop(p)
    smed, stmed = statistics.median(sc), statistics.median(st)
    print(f"{n} workers: GET /metrics ({size // 1024} KiB) median {ms(smed)}, "
          f"p90 {ms(statistics.quantiles(sc, n=10)[-1])}; status on the control socket "
          f"median {ms(stmed)} (scrape/status {smed / stmed:.2f})")
    print(f"{n} workers: idle CPU over {idle:.0f} s: {lis_cpu:.1f} ms with the listener, "
          f"{base_cpu:.1f} ms without")
    print(f"{n} workers: RSS {base_rss} KiB without metrics, {lis_rss} KiB with the listener "
          f"(+{lis_rss - base_rss} KiB), {after_rss} KiB after {rounds + 3} scrapes "
          f"(+{after_rss - base_rss} KiB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--workers", default="100,1000", help="comma-separated worker counts")
    ap.add_argument("--rounds", type=int, default=50, help="scrapes per worker count")
    ap.add_argument("--idle", type=float, default=5, help="seconds of idle CPU measured")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    for n in (int(x) for x in a.workers.split(",")):
        run(build, n, a.rounds, a.idle)


if __name__ == "__main__":
    main()
