#!/usr/bin/env python3
"""Worker log throughput: one worker (build/bench-lines) writes 500 MB of 100-byte numbered
lines as fast as its stdout is read.

  upkeepd   the worker under upkeepd, output rotated at 50 MB, 5 archives kept (no
            compression): from the start request to the last write (the file's mtime, once
            status says every byte was written), and upkeepd's CPU time (all its threads)
  cat       `bench-lines N | cat > file` in the same directory, from start to cat's exit

  errors    with --errors, also the worker under upkeepd with the application error patterns
            configured (errors { traceback = true json-level = true match = "ERROR|CRITICAL" }:
            every line is scanned on the writer thread), in the same rounds

Rounds alternate between them; the median of each is reported with the ratios and the CPU
seconds upkeepd spends per MB captured.  Every upkeepd round is checked for loss: bytes_written
is exactly the total, no byte dropped, no write error, and the kept files hold a contiguous run
of whole lines that ends with the last line written (only the newest ~300 MB are kept).

    python3 bench/logs.py --build build [--dir /dev/shm] [--rounds 5] [--mb 500] [--errors]

Prints a markdown table for bench/RESULTS.md.  Stdlib only; every wait has a deadline; only the
processes started here are signalled, by pid.
"""
import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from probes import query  # bench/ is the script's own directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = 100
MB = 1000 * 1000
MAX_SIZE = 50 * 1024 * 1024
KEEP = 5
CLK_TCK = os.sysconf("SC_CLK_TCK")


def wait_for(pred, timeout, what, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
        except (OSError, ValueError):
            v = None
        if v:
            return v
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK  # utime + stime, every thread


def check_kept(logdir, n_lines):
    """The kept files: whole 100-byte lines, contiguous across files, ending with the last."""
    base = os.path.join(logdir, "w", "w.log")
    files = [f"{base}.{k}" for k in range(KEEP, 0, -1) if os.path.exists(f"{base}.{k}")]
    files.append(base)
    expect = None
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        size = len(data)
        if size % LINE or size == 0:
            raise RuntimeError(f"{f}: {size} bytes is not a whole number of lines")
        if size > MAX_SIZE:
            raise RuntimeError(f"{f}: {size} bytes, above max-size {MAX_SIZE}")
        n = size // LINE
        if data[LINE - 1::LINE] != b"\n" * n or data.count(b"\n") != n:
            raise RuntimeError(f"{f}: a line is not 100 bytes long")
        first, last = int(data[:15]), int(data[size - LINE:size - LINE + 15])
        if expect is not None and first != expect:
            raise RuntimeError(f"{f}: starts with line {first}, expected {expect}")
        if last - first + 1 != n:
            raise RuntimeError(f"{f}: lines {first}..{last} but {n} lines")
        # the last digit cycles 0..9 line after line: a lost or repeated line breaks it
        col = data[14::LINE]
        start = first % 10
        cyc = (b"0123456789" * (n // 10 + 2))[start:start + n]
        if col != cyc:
            raise RuntimeError(f"{f}: the line numbers do not follow each other")
        for _ in range(200):
            k = random.randrange(n)
            if int(data[k * LINE:k * LINE + 15]) != first + k:
                raise RuntimeError(f"{f}: line {k} has the wrong number")
        expect = last + 1
        total += size
    if expect != n_lines:
        raise RuntimeError(f"the kept files end with line {expect - 1}, expected {n_lines - 1}")
    return len(files), total


ERRORS = '    errors { traceback = true  json-level = true  match = "ERROR|CRITICAL" }\n'


def run_upkeep(build, d, n_lines, buffer_size, errors=False):
    logdir = os.path.join(d, "logs")
    sock = os.path.join(d, "upkeep.sock")
    shutil.rmtree(logdir, ignore_errors=True)
    conf = os.path.join(d, "upkeep.conf")
    with open(conf, "w") as f:
        f.write(f'log-dir = "{logdir}"\nsocket = "{sock}"\n'
                f'log {{ max-size = {MAX_SIZE // (1024 * 1024)}M  keep = {KEEP}'
                f'{"  buffer-size = " + buffer_size if buffer_size else ""} }}\n'
                f'worker w {{\n    command = "{build}/bench-lines {n_lines}"\n'
                f'    autostart = false\n    start-secs = 0\n'
                f'{ERRORS if errors else ""}'
                f'    restart {{ policy = never }}\n}}\n')
    out = open(os.path.join(d, "upkeepd.log"), "w")
    p = subprocess.Popen([os.path.join(build, "upkeepd"), "-c", conf], stdout=out,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        wait_for(lambda: query(sock, {"cmd": "status"}).get("ok"), 10, "upkeepd")
        total = n_lines * LINE

        def inst():
            return query(sock, {"cmd": "status"})["workers"][0]["instances"][0]
        cpu0 = cpu_seconds(p.pid)
        t0 = time.time_ns()
        ans = query(sock, {"cmd": "start", "name": "w"})
        if not ans.get("ok"):
            raise RuntimeError(f"start w: {ans}")
        # polled slowly, not to steal the CPU being measured: the end is the file's mtime
        o = wait_for(lambda: (lambda i: i["output"] if i["output"]["bytes_written"] >= total
                              else None)(inst()), 120, "every byte written", interval=0.05)
        cpu = cpu_seconds(p.pid) - cpu0
        t = (os.stat(os.path.join(logdir, "w", "w.log")).st_mtime_ns - t0) / 1e9
        if (o["bytes_written"], o["bytes_dropped"], o["write_errors"]) != (total, 0, 0):
            raise RuntimeError(f"output counters {o}, expected {total} bytes written")
        wait_for(lambda: inst()["state"] in ("EXITED", "STOPPED"), 10, "the worker's exit")
        if errors and o.get("app_errors") is None:
            raise RuntimeError("errors { } configured but not in status")
        if errors and (o.get("app_errors") or {}).get("last") is not None:
            raise RuntimeError(f"app errors found in lines that hold none: {o['app_errors']}")
        files, kept = check_kept(logdir, n_lines)
        return t, cpu, files, kept
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
                raise RuntimeError("upkeepd did not exit within 20s of SIGTERM")
        out.close()
        if p.returncode not in (0, None):
            raise RuntimeError(f"upkeepd exited with {p.returncode}")
        shutil.rmtree(logdir, ignore_errors=True)


def run_cat(build, d, n_lines):
    path = os.path.join(d, "cat.out")
    with open(path, "wb") as out:
        t0 = time.monotonic()
        w = subprocess.Popen([os.path.join(build, "bench-lines"), str(n_lines)],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        c = subprocess.Popen(["cat"], stdin=w.stdout, stdout=out)
        w.stdout.close()
        rc = (c.wait(timeout=120), w.wait(timeout=10))
        t = time.monotonic() - t0
    size = os.path.getsize(path)
    os.unlink(path)
    if rc != (0, 0) or size != n_lines * LINE:
        raise RuntimeError(f"writer | cat: exit {rc}, {size} bytes")
    return t


def fs_of(path):
    r = subprocess.run(["df", "--output=fstype,source", path], capture_output=True,
                       text=True)
    parts = r.stdout.splitlines()[-1].split() if r.returncode == 0 else ["?", "?"]
    return f"{parts[0]} ({parts[1]})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--dir", default=None, help="where the files go (default: a temporary "
                    "directory under /var/tmp, on the disk)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mb", type=int, default=500, help="MB (10^6 bytes) per round")
    ap.add_argument("--buffer-size", default=None, help="the log section's buffer-size "
                    "(default: upkeepd's default, 256K)")
    ap.add_argument("--errors", action="store_true", help="also with the application error "
                    "patterns configured (errors { }), in the same rounds")
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build) if not os.path.isabs(args.build)
                            else args.build)
    for b in ("upkeepd", "bench-lines"):
        if not os.access(os.path.join(build, b), os.X_OK):
            sys.exit(f"{build}/{b} missing: run make first")
    d = tempfile.mkdtemp(prefix="upkeep-bench-logs-", dir=args.dir or "/var/tmp")
    n_lines = args.mb * MB // LINE
    where = f"{d} on {fs_of(d)}"
    print(f"# {args.mb} MB of 100-byte lines per round, {args.rounds} rounds, files in {where}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start",
          flush=True)
    up, cat, cpus, upe, cpue = [], [], [], [], []
    try:
        for r in range(args.rounds):
            t, cpu, files, kept = run_upkeep(build, d, n_lines, args.buffer_size)
            up.append(args.mb / t)
            cpus.append(cpu / args.mb)
            tc = run_cat(build, d, n_lines)
            cat.append(args.mb / tc)
            print(f"round {r + 1}: upkeepd {up[-1]:7.0f} MB/s ({t:.2f}s, cpu {cpu:.2f}s, "
                  f"{files} files kept, {kept / MB:.0f} MB, contiguous, last line present)  "
                  f"cat {cat[-1]:7.0f} MB/s ({tc:.2f}s)", flush=True)
            if args.errors:
                t, cpu, files, kept = run_upkeep(build, d, n_lines, args.buffer_size, True)
                upe.append(args.mb / t)
                cpue.append(cpu / args.mb)
                print(f"         with errors {{ }}: {upe[-1]:7.0f} MB/s ({t:.2f}s, cpu "
                      f"{cpu:.2f}s, {files} files kept, contiguous)", flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    mu, mc, mcpu = statistics.median(up), statistics.median(cat), statistics.median(cpus)
    print()
    print(f"| log throughput ({args.mb} MB of 100-byte lines, 50M x 5 rotation, "
          f"{fs_of(args.dir or '/var/tmp')}) | median of {args.rounds} |")
    print("|---|---|")
    print(f"| upkeepd (start -> last byte written) | {mu:.0f} MB/s |")
    print(f"| `bench-lines \\| cat > file` | {mc:.0f} MB/s |")
    print(f"| upkeepd / cat | {mu / mc:.2f}x |")
    print(f"| upkeepd CPU per MB captured | {mcpu * 1000:.2f} ms |")
    print(f"| lines lost | 0 (bytes_written = {args.mb} MB, kept window contiguous) |")
    print(f"| load average at the end (other work on the machine) | "
          f"{os.getloadavg()[0]:.1f} |")
    ok = mu >= 1100 and mu / mc >= 0.7
    print(f"\ntargets (>= 1100 MB/s, >= 0.7x cat): {'met' if ok else 'MISSED'}")
    if args.errors:
        me, mecpu = statistics.median(upe), statistics.median(cpue)
        print()
        print(f"| with errors {{ traceback json-level match = \"ERROR\\|CRITICAL\" }} | "
              f"median of {args.rounds} |")
        print("|---|---|")
        print(f"| upkeepd with errors {{ }} | {me:.0f} MB/s |")
        print(f"| with / without errors {{ }} (same run) | {me / mu:.2f}x |")
        print(f"| with errors {{ }} / cat | {me / mc:.2f}x |")
        print(f"| upkeepd CPU per MB captured, with errors {{ }} | {mecpu * 1000:.2f} ms |")
        oke = me / mu >= 0.8 and me / mc >= 1.0
        print(f"\ntargets with errors {{ }} (>= 0.8x without, >= 1x cat): "
              f"{'met' if oke else 'MISSED'}")
        ok = ok and oke
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
