"""
Worker output and upkeepd's own log (issue 4): rotation that loses nothing, compression,
keep, a full disk, reopen after an external rename, `upkeepctl logs -f` across rotations,
JSON log lines, log-dir = "-", timestamps, stderr marks, split and partial lines.

The writers are a small Python program (WRITER below, written into each test's directory):
numbered lines "seq NNNNNNNN <pad>" at a steady rate with os.write, so every line can be
accounted for: present exactly once, in order, or (overflow = drop) missing only where a
"[upkeep: N bytes of output dropped]" marker says so.
"""
import glob
import gzip
import json
import os
import re
import signal
import subprocess
import time

import __main__ as h

WRITER = r'''
import os, sys, time
mode = sys.argv[1]
fd = 1
if mode in ("lines", "forever"):
    # lines N RATE DONE_FILE | forever RATE
    n = int(sys.argv[2]) if mode == "lines" else 1 << 62
    rate = int(sys.argv[3] if mode == "lines" else sys.argv[2])
    done = sys.argv[4] if mode == "lines" else None
    pad = "x" * 80
    batch = max(1, rate // 100)
    t0 = time.monotonic()
    i = 0
    while i < n:
        k = min(batch, n - i)
        os.write(fd, "".join(f"seq {j:08d} {pad}\n" for j in range(i, i + k)).encode())
        i += k
        d = t0 + i / rate - time.monotonic()
        if d > 0:
            time.sleep(d)
    with open(done + ".tmp", "w") as f:
        f.write(str(i))
    os.rename(done + ".tmp", done)
    while True:
        time.sleep(3600)
elif mode == "shapes":
    # shapes LONG_LEN: a short line, a line on stderr, one overlong line, a last line
    # without its newline, then exit 0
    os.write(1, b"first line\n")
    os.write(2, b"to stderr\n")
    long = "".join(chr(ord("a") + k % 26) for k in range(int(sys.argv[2])))
    os.write(1, long.encode() + b"\n")
    os.write(1, b"partial-tail")
    sys.exit(0)
'''

SEQ = re.compile(r"seq (\d{8}) x{80}")
MARK = re.compile(r"\[upkeep: (\d+) bytes of output dropped\]")
LINE_BYTES = 94  # "seq NNNNNNNN " + 80 x + "\n"
ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:[+-]\d\d:\d\d|Z)"


def wb(name, command, log=None, **keys):
    """h.worker_block with a `log { ... }` section when log is given."""
    block = h.worker_block(name, command, **keys)
    if log:
        block = block.rstrip().rstrip("}") + f"    log {{ {log} }}\n}}\n"
    return block


def writer(c):
    p = c.path("writer.py")
    if not os.path.exists(p):
        c.write("writer.py", WRITER)
    return f"python3 -u {p}"


def archives(path):
    """[(index, file)] of path's rotated files, oldest (highest index) first."""
    out = []
    for f in glob.glob(glob.escape(path) + ".*"):
        m = re.fullmatch(re.escape(path) + r"\.(\d+)(\.gz)?", f)
        if m:
            out.append((int(m.group(1)), f))
    return sorted(out, reverse=True)


def read_any(f):
    with open(f, "rb") as fh:
        data = fh.read()
    return gzip.decompress(data) if f.endswith(".gz") else data


def read_kept(path):
    """[(file, bytes)] of every kept file of path, oldest first, the current file last."""
    out = [(f, read_any(f)) for _, f in archives(path)]
    if os.path.exists(path):
        out.append((path, read_any(path)))
    return out


def seqs_of(data, where):
    out = []
    for ln in data.decode(errors="replace").splitlines():
        m = SEQ.fullmatch(ln)
        h.check(m, f"{where}: unexpected line {ln[:120]!r}")
        out.append(int(m.group(1)))
    return out


def output_of(c, name):
    return c.inst(name)["output"]


def wait_written(c, name, nbytes, timeout=20):
    def pred():
        o = output_of(c, name)
        return o if o["bytes_written"] >= nbytes else None
    return h.wait_for(pred, timeout, f"{name}: {nbytes} bytes written")


def json_lines(text, where):
    out = []
    for ln in text.splitlines():
        if not ln.strip():
            continue
        try:
            out.append(json.loads(ln))
        except ValueError:
            h.fail(f"{where}: a line that is not JSON: {ln[:200]!r}")
    return out


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------


@h.test
def logs_rotation_every_line(c):
    """10 000 lines/s across many rotations: each line once and in order in the kept files,
    sizes within max-size, keep honoured, archives gzipped off the loop; global defaults."""
    n, rate = 30000, 10000
    total = n * LINE_BYTES
    w = writer(c)
    # the global section sets compress and keep; "big" overrides max-size only, "small" also
    # keep and compress
    c.conf('log { max-size = 1M  keep = 40  compress = true }\n\n' +
           wb("big", f"{w} lines {n} {rate} {c.path('done-big')}",
                          start_secs="100ms", log="max-size = 200K") +
           wb("small", f"{w} lines {n} {rate} {c.path('done-small')}",
                          start_secs="100ms", log="max-size = 128K  keep = 3  compress = false"))
    d = c.start_daemon(c.path("upkeep.conf"))
    for name in ("big", "small"):
        h.wait_for(lambda: os.path.exists(c.path(f"done-{name}")), 30, f"{name} to finish")
    for name in ("big", "small"):
        o = wait_written(c, name, total)
        h.check_eq(o["bytes_written"], total, f"{name}: bytes_written")
        h.check_eq((o["bytes_dropped"], o["write_errors"], o["failing"]), (0, 0, False),
                   f"{name}: (bytes_dropped, write_errors, failing)")

    big = os.path.join(c.logdir, "big", "big.log")
    small = os.path.join(c.logdir, "small", "small.log")

    def compressed():
        plain = [f for _, f in archives(big) if not f.endswith(".gz")]
        tmp = glob.glob(glob.escape(big) + "*.tmp")
        return not plain and not tmp
    h.wait_for(compressed, 15, f"every archive of {big} compressed")

    # big: everything kept, every line exactly once, in order
    kept = read_kept(big)
    seqs = []
    for f, data in kept:
        h.check(len(data) <= 200 * 1024, f"{f}: {len(data)} bytes, above max-size 200K")
        h.check(data.endswith(b"\n"), f"{f}: does not end with a whole line")
        seqs += seqs_of(data, f)
    h.check_eq(len(seqs), n, f"{big}: lines in the kept files ({len(kept)} files)")
    h.check(seqs == list(range(n)), f"{big}: lines out of order or repeated")
    n_arch = len(kept) - 1
    want = -(-total // (200 * 1024))  # at least this many files
    h.check(n_arch + 1 >= want, f"{big}: {n_arch} archives for {total} bytes at 200K each")
    h.check(all(f.endswith(".gz") for f, _ in kept[:-1]), f"{big}: an archive is not gzipped")
    for f, _ in kept[:-1]:
        with gzip.open(f) as g:  # a real gzip stream (read_any already checked it inflates)
            g.read(1)

    # small: 3 archives, the kept window contiguous and ending at the last line
    kept = read_kept(small)
    h.check_eq([os.path.basename(f) for f, _ in kept],
               ["small.log.3", "small.log.2", "small.log.1", "small.log"], "files of small")
    seqs = []
    for f, data in kept:
        h.check(len(data) <= 128 * 1024, f"{f}: {len(data)} bytes, above max-size 128K")
        h.check(len(data) >= 128 * 1024 - 2 * LINE_BYTES or f == small,
                f"{f}: only {len(data)} bytes: rotated early")
        seqs += seqs_of(data, f)
    h.check(seqs == list(range(n - len(seqs), n)),
            f"{small}: the kept window is not the contiguous tail ({seqs[:2]}..{seqs[-2:]})")

    # nothing about rotation belongs in upkeepd's own log at the default level
    out = d.output()
    h.check("error" not in out.lower(), f"upkeepd logged an error:\n{h.log_tail(d)}")


@h.test
def logs_disk_full(c):
    """A full tmpfs: upkeepd goes on (status, restarts, probes), counts write errors and
    dropped bytes, logs each once per episode, and writes again once space returns."""
    if os.geteuid() != 0:
        raise h.TestSkip("needs root to mount a tmpfs")
    os.makedirs(c.logdir)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "uk-logs-test",
                        c.logdir], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise h.TestSkip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    c.closers.append(lambda: subprocess.run(["umount", "-l", c.logdir], timeout=10,
                                            capture_output=True))
    filler = os.path.join(c.logdir, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * (1536 * 1024))

    w = writer(c)
    other = c.path("other-logs")
    port = h.free_port()
    hf, probed = h.health_worker(c, "probed", port, log_dir=other)
    h.set_health(hf, "healthy")
    c.conf('log-format = json\nlog { max-size = 16M  keep = 1  buffer-size = 64K }\n\n' +
           wb("drop", f"{w} forever 8000", start_secs="100ms", log="overflow = drop") +
           wb("block", f"{w} forever 4000", start_secs="100ms") +
           wb("tick", f"{h.WORKER} --exit-after 150", start_secs="0",
                          log_dir=other,
                          restart=dict(backoff="100ms", factor=1, jitter="0%")) +
           h.with_health(probed, url=f"http://127.0.0.1:{port}/health", interval="200ms",
                         timeout="150ms", start_interval="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))

    def failing_both():
        ok = all(output_of(c, n)["failing"] for n in ("drop", "block"))
        return ok and output_of(c, "drop")["bytes_dropped"] > 0
    h.wait_for(failing_both, 20, "both chatty workers' files to fail and drop to drop")
    rss0 = rss_kb(d.proc.pid)

    # the loop keeps its timing while the disk is full
    t0 = time.monotonic()
    tick0, probe0 = c.inst("tick")["restarts"], c.inst("probed")["health"]["probes_sent"]
    worst = 0.0
    while time.monotonic() - t0 < 3:
        q0 = time.monotonic()
        st = c.inst("drop")
        worst = max(worst, time.monotonic() - q0)
        h.check(d.alive(), "upkeepd exited while the disk was full")
        time.sleep(0.1)
    span = time.monotonic() - t0
    ticks = c.inst("tick")["restarts"] - tick0
    probes = c.inst("probed")["health"]["probes_sent"] - probe0
    h.check(worst < 1.0, f"a status request took {worst:.2f}s while the disk was full")
    h.check(ticks >= 3, f"tick (exits after 150ms, restarted after 100ms) restarted only "
            f"{ticks} times in {span:.1f}s while the disk was full")
    h.check(probes >= 5, f"probed (every 200ms) was probed only {probes} times in {span:.1f}s "
            "while the disk was full")
    h.check(rss_kb(d.proc.pid) - rss0 < 16 * 1024,
            f"upkeepd grew from {rss0} to {rss_kb(d.proc.pid)} kB while dropping")
    st = c.inst("drop")["output"]
    h.check(st["write_errors"] > 0 and st["bytes_dropped"] > 0 and st["failing"],
            f"drop: status output during the episode {st}")
    st = c.inst("block")["output"]
    h.check(st["write_errors"] > 0 and st["bytes_dropped"] == 0 and st["failing"],
            f"block: status output during the episode {st}")

    # space comes back, enough for what "block" held back meanwhile (it catches up at once)
    os.unlink(filler)
    r = subprocess.run(["mount", "-o", "remount,size=64m", c.logdir], capture_output=True,
                       text=True, timeout=10)
    h.check_eq(r.returncode, 0, f"remount of the tmpfs with more room ({r.stderr!r})")
    for name in ("drop", "block"):
        h.wait_for(lambda: not output_of(c, name)["failing"], 15, f"{name} writing again")
    before = {n: output_of(c, n)["bytes_written"] for n in ("drop", "block")}
    for name in ("drop", "block"):
        h.wait_for(lambda: output_of(c, name)["bytes_written"] > before[name] + 50000, 10,
                   f"{name}: output flowing again")

    # the daemon's log: every line JSON, one error and one recovery per file and episode
    events = json_lines(d.output(), "upkeepd output")
    for name in ("drop", "block"):
        ev = [e.get("event") for e in events if e.get("instance") == name]
        for want in ("log-write-error", "log-write-resumed"):
            h.check_eq(ev.count(want), 1, f"{name}: {want} lines in upkeepd's log")
    ev = [e.get("event") for e in events if e.get("instance") == "drop"]
    h.check_eq(ev.count("output-dropping"), 1, "drop: output-dropping lines in upkeepd's log")
    h.wait_for(lambda: "output-resumed" in [e.get("event") for e in json_lines(
        d.output(), "upkeepd output") if e.get("instance") == "drop"], 10,
        "drop: output-resumed in upkeepd's log")
    ev = [e.get("event") for e in events if e.get("instance") == "block"]
    h.check("output-dropping" not in ev, "block dropped output")

    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")

    # block: every line, in order, none lost; drop: gaps only where a marker says so
    data = read_any(os.path.join(c.logdir, "block", "block.log"))
    seqs = seqs_of(data, "block.log")
    h.check(seqs == list(range(len(seqs))), "block.log: a line is missing or repeated")
    prev, gaps, marked = -1, 0, False
    for ln in read_any(os.path.join(c.logdir, "drop", "drop.log")).decode().splitlines():
        m = MARK.fullmatch(ln)
        if m:
            h.check(int(m.group(1)) > 0, f"drop.log: marker {ln!r}")
            marked = True
            continue
        m = SEQ.fullmatch(ln)
        h.check(m, f"drop.log: unexpected line {ln[:120]!r}")
        s = int(m.group(1))
        h.check(s > prev, f"drop.log: line {s} after {prev}")
        if s != prev + 1:
            h.check(marked, f"drop.log: lines {prev + 1}..{s - 1} missing without a marker")
            gaps += 1
        prev, marked = s, False
    h.check(gaps >= 1, "drop.log: no gap although bytes were dropped")


@h.test
def logs_reopen_after_rename(c):
    """mv the file away, then SIGUSR1 or `upkeepctl logs --reopen`: new lines go to a new file
    at the path, the old one keeps what came before, no line lost or repeated."""
    w = writer(c)
    c.conf(wb("w", f"{w} forever 200", start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    log = os.path.join(c.logdir, "w", "w.log")
    moved = []
    for k, how in enumerate(("SIGUSR1", "upkeepctl")):
        h.wait_for(lambda: os.path.getsize(log) > 2000, 10, f"lines in {log}")
        dst = f"{log}.moved{k}"
        os.rename(log, dst)
        moved.append(dst)
        size = os.path.getsize(dst)
        time.sleep(0.3)
        h.check(os.path.getsize(dst) > size, "the renamed file no longer grows before reopen")
        if how == "SIGUSR1":
            d.send(signal.SIGUSR1)
        else:
            r = c.ctl("logs", "--reopen")
            h.check_eq(r.returncode, 0, f"upkeepctl logs --reopen ({r.stderr!r})")
        h.wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, 10,
                   f"a new {log} after {how}")
        size = os.path.getsize(dst)
        time.sleep(0.3)
        h.check_eq(os.path.getsize(dst), size, f"{dst} size after {how} (still written to)")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
    seqs = []
    for f in moved + [log]:
        got = seqs_of(read_any(f), f)
        h.check(got, f"{f} is empty")
        seqs += got
    h.check(seqs == list(range(len(seqs))),
            "the lines of the renamed files and the new one are not one contiguous sequence")
    h.check_eq(d.output().count("reopening every log file"), 2, "reopen lines in upkeepd's log")


@h.test
def logs_follow_across_rotation(c):
    """`upkeepctl logs NAME -n N` prints the last lines; with -f it follows the file across
    rotations without skipping or repeating a line; rotate-every rotates by time."""
    w = writer(c)
    c.conf(wb("w", f"{w} forever 50", start_secs="100ms", log="max-size = 8K  keep = 50") +
           wb("t", f"{w} forever 20", start_secs="100ms", log="rotate-every = 1s  keep = 50"))
    c.start_daemon(c.path("upkeep.conf"))
    log = os.path.join(c.logdir, "w", "w.log")
    h.wait_for(lambda: os.path.getsize(log) > 20 * LINE_BYTES, 10, f"20 lines in {log}")

    r = c.ctl("logs", "w", "-n", "5")
    h.check_eq(r.returncode, 0, f"upkeepctl logs w -n 5 ({r.stderr!r})")
    last = seqs_of(r.stdout.encode(), "logs -n 5")
    h.check_eq(len(last), 5, "lines printed by logs -n 5")
    h.check(last == list(range(last[0], last[0] + 5)), f"logs -n 5 printed {last}")

    out_path = c.path("follow.out")
    with open(out_path, "wb") as out:
        p = subprocess.Popen([h.UPKEEPCTL, "-s", c.sock, "logs", "w", "-n", "3", "-f"],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop_follower():
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)
    c.closers.append(stop_follower)
    first_arch = len(archives(log))
    h.wait_for(lambda: len(archives(log)) >= first_arch + 3, 20, f"3 rotations of {log}")
    time.sleep(0.5)
    h.check(p.poll() is None, f"upkeepctl logs -f exited with {p.returncode}")
    stop_follower()
    with open(out_path, "rb") as f:
        got = seqs_of(f.read(), "upkeepctl logs -f output")
    h.check(len(got) > 2 * 8192 // LINE_BYTES,
            f"upkeepctl logs -f printed only {len(got)} lines over 3 rotations")
    h.check(got == list(range(got[0], got[0] + len(got))),
            "upkeepctl logs -f skipped or repeated a line across rotations")

    tlog = os.path.join(c.logdir, "t", "t.log")
    h.wait_for(lambda: len(archives(tlog)) >= 2, 10, f"2 time rotations of {tlog}")
    seqs = []
    for f, data in read_kept(tlog):
        seqs += seqs_of(data, f)
    h.check(seqs == list(range(len(seqs))), f"{tlog}: lines lost or repeated by time rotation")


@h.test
def logs_json_and_transitions(c):
    """log-format = json: every line of upkeepd's log is a JSON object with time (ISO-8601,
    ms), level, message, and worker, instance, event for a worker; each state transition is
    logged once, each starting where the previous ended."""
    c.conf('log-format = "json"\nlog-level = "debug"\n\n' +
           wb("crashy", f"{h.WORKER} --exit-after 300 --exit-code 3",
                          start_secs="100ms", instances=2,
                          restart=dict(backoff="100ms", factor=1, jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"))
    h.wait_for(lambda: all(c.inst(n)["restarts"] >= 2 for n in ("crashy:0", "crashy:1")), 15,
               "2 restarts of each instance")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
    lines = json_lines(d.output(), "upkeepd output")
    h.check(len(lines) > 10, f"only {len(lines)} log lines")
    for e in lines:
        h.check(isinstance(e, dict), f"not an object: {e!r}")
        for k in ("time", "level", "message"):
            h.check(isinstance(e.get(k), str), f"{k!r} missing or not a string in {e}")
        h.check(re.fullmatch(ISO_MS, e["time"]), f"time {e['time']!r} is not ISO-8601 with ms")
        h.check(e["level"] in ("debug", "info", "notice", "warning", "error", "crit"),
                f"level {e['level']!r}")
        if "instance" in e:
            h.check_eq(e.get("worker"), e["instance"].split(":")[0], f"worker of {e}")
    for inst in ("crashy:0", "crashy:1"):
        ch = [e for e in lines if e.get("instance") == inst and e.get("event") == "state-change"]
        h.check(len(ch) >= 6, f"{inst}: only {len(ch)} state-change lines")
        h.check_eq(ch[0].get("from"), "STOPPED", f"{inst}: first transition starts from")
        for a, b in zip(ch, ch[1:]):
            h.check(a.get("to") == b.get("from"),
                    f"{inst}: transition {b.get('from')} -> {b.get('to')} follows one to "
                    f"{a.get('to')} (a transition logged twice or not at all)")
        h.check_eq(ch[-1].get("to"), "STOPPED", f"{inst}: last state")
        h.check(any(e.get("to") == "BACKOFF" for e in ch), f"{inst}: never BACKOFF")
        h.check(all(isinstance(e.get("from"), str) and isinstance(e.get("to"), str)
                    for e in ch), f"{inst}: state-change lines lack from/to fields")


@h.test
def logs_stdout_prefix(c):
    """log-dir = "-": output goes to upkeepd's stdout, each line prefixed with the instance
    name (stderr marked when asked), no file, no error; `upkeepctl logs` says where it went."""
    w = writer(c)
    c.conf(wb("w", f"{w} lines 300 3000 {c.path('done')}", instances=2,
                          start_secs="100ms") +
           wb("e", f"/bin/sh -c 'echo out-line; echo err-line >&2; exec {h.WORKER}'",
              start_secs="100ms", log="stderr = mark"), logdir="-")
    d = c.start_daemon(c.path("upkeep.conf"))
    h.wait_for(lambda: os.path.exists(c.path("done")), 15, "the writers to finish")

    def all_there():
        out = d.output()
        return all(out.count(f"\n{n} | seq ") + out.startswith(f"{n} | seq ") >= 300
                   for n in ("w:0", "w:1")) and "e | stderr: err-line\n" in out
    h.wait_for(all_there, 10, "300 prefixed lines per instance on upkeepd's stdout")
    out = d.output()
    for n in ("w:0", "w:1"):
        got = [int(m.group(1)) for m in re.finditer(rf"^{re.escape(n)} \| seq (\d{{8}}) x{{80}}$",
                                                      out, re.M)]
        h.check_eq(got, list(range(300)), f"lines of {n} on upkeepd's stdout")
    h.check("\ne | out-line\n" in out, "e's stdout line is not prefixed as expected")
    h.check(not os.path.exists(c.logdir) and not os.path.exists("-/w"),
            "a log directory was created for log-dir = \"-\"")
    h.check(not re.search(r"\b(error|warning)\b", out), f"upkeepd complained:\n{h.log_tail(d)}")
    r = c.ctl("logs", "w:0")
    h.check_eq(r.returncode, 1, "upkeepctl logs w:0 exit code with log-dir = \"-\"")
    h.check("stdout" in r.stderr, f"upkeepctl logs w:0 does not say where output went: "
            f"{r.stderr!r}")
    st = c.inst("w:0")["output"]
    h.check_eq((st["file"], st["bytes_written"] >= 300 * (LINE_BYTES + 6)), (None, True),
               "w:0 (file, bytes_written) in status")


@h.test
def logs_line_shapes(c):
    """timestamps (ISO-8601 with ms), stderr = mark or merge, an overlong line split with a
    marker and nothing lost, the last line without '\\n' written when the worker exits."""
    w = writer(c)
    c.conf(wb("s", f"{w} shapes 5000", start_secs="0", restart=dict(policy="never"),
              log="timestamps = true  stderr = mark  max-line = 1K") +
           wb("p", f"{w} shapes 3000", start_secs="0", restart=dict(policy="never"),
              log="max-line = 256"))
    d = c.start_daemon(c.path("upkeep.conf"))
    marker = " [upkeep: line split]"
    stamp = re.compile(rf"^({ISO_MS}) (.*)$")
    for name, long_len, max_line, stamped, err_line in (
            ("s", 5000, 1024, True, "stderr: to stderr"),
            ("p", 3000, 256, False, "to stderr")):
        log = os.path.join(c.logdir, name, f"{name}.log")
        h.wait_for(lambda: c.inst(name)["state"] in ("EXITED", "STOPPED"), 10, f"{name} to exit")
        h.wait_for(lambda: read_any(log).endswith(b"partial-tail\n"), 10,
                   f"the partial last line in {log}")
        body = []
        for ln in read_any(log).decode().splitlines():
            if stamped:
                m = stamp.match(ln)
                h.check(m, f"{log}: line without an ISO-8601 timestamp with ms: {ln[:80]!r}")
                ln = m.group(2)
            body.append(ln)
        # stdout and stderr are two pipes: their lines keep their order within each only
        h.check_eq(body.count(err_line), 1, f"{log}: lines {err_line!r} for stderr ({body})")
        body.remove(err_line)
        h.check_eq(body[0], "first line", f"{log}: first line")
        h.check_eq(body[-1], "partial-tail", f"{log}: last line")
        long = "".join(chr(ord("a") + k % 26) for k in range(long_len))
        pieces = body[1:-1]
        h.check(len(pieces) >= long_len // max_line,
                f"{log}: the {long_len}-byte line came out as {len(pieces)} pieces")
        for k, piece in enumerate(pieces):
            h.check(len(piece.encode()) <= max_line + len(marker),
                    f"{log}: piece {k} is {len(piece)} bytes, max-line is {max_line}")
            if k < len(pieces) - 1:
                h.check(piece.endswith(marker), f"{log}: piece {k} does not end with the marker")
            else:
                h.check(not piece.endswith(marker), f"{log}: the last piece carries the marker")
        joined = "".join(p[:-len(marker)] if p.endswith(marker) else p for p in pieces)
        h.check(joined == long, f"{log}: the pieces do not add up to the line "
                f"({len(joined)} bytes)")
    h.check(d.alive(), "upkeepd exited")


@h.test
def logs_journal_fallback(c):
    """log-format = journal with no journal to talk to: the lines are written as text on
    stderr, nothing is lost and upkeepd runs on."""
    if os.path.exists("/run/systemd/journal/socket"):
        raise h.TestSkip("a journal runs here: the lines go there, not to stderr")
    c.conf('log-format = journal\n\n' + wb("w", h.WORKER, start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING", timeout=10)
    text_line = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info w: STARTING -> RUNNING"
    h.wait_for(lambda: re.search(text_line, d.output(), re.M), 5,
               "the RUNNING transition as a text line")
    h.check_eq(d.output().count("there is no journal"), 1, "warnings about the missing journal")
    h.check(d.alive(), "upkeepd exited")


@h.test
def logs_quiet_rings_trimmed(c):
    """20 workers write 400 KB each, then a line every 300 ms: upkeepd gives the pages of their
    emptied rings back (without that it would keep 8 MB, 20 x 400 KB of touched ring)."""
    if h.WRAPPER:
        raise h.TestSkip("measures upkeepd's RSS, which a wrapper's own memory hides")
    burst = ("sleep 1; i=0; while [ $i -lt 4000 ]; do "
             "echo 'burst xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; "
             "i=$((i + 1)); done; echo done; while :; do echo tick; sleep 0.3; done")
    c.conf(h.worker_block("quiet", f"/bin/sh -c \"{burst}\"", instances=20,
                          start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    for k in range(20):
        c.wait_state(f"quiet:{k}", "RUNNING")
    rss0 = rss_kb(d.signal_pid)
    with open(f"/proc/{d.signal_pid}/maps") as f:
        if "libasan" in f.read():
            raise h.TestSkip("under ASan: its shadow of every ring hides what is given back")

    def after_burst():
        for k in range(20):
            path = os.path.join(c.logdir, "quiet", f"quiet-{k}.log")
            try:
                with open(path, "rb") as f:
                    f.seek(max(0, os.path.getsize(path) - 4096))
                    if f.read().count(b"tick") < 3:
                        return False
            except OSError:
                return False
        return True
    h.wait_for(after_burst, 20, "every worker's burst written and 3 ticks after it")
    grown = rss_kb(d.signal_pid) - rss0
    h.check(grown < 2048, f"upkeepd grew by {grown} KiB (from {rss0}) after 20 bursts of 400 KB "
            "followed by quiet logging: the emptied rings were not given back")
