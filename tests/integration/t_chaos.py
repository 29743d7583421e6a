"""
Chaos and security: workers and peers that misbehave on purpose (closed stdio, floods, hostile
health endpoints, a fork bomb, a double-forked daemon), upkeepd itself stopped or killed, hostile
control clients, secrets that must stay secret, and an alert command that hangs.

Every case checks that upkeepd keeps running and that another worker keeps its probe period
(status `health.probes_answered` over a few seconds, with wide margins).  Servers run on
127.0.0.1 in threads of the test; only processes the test started are signalled, by PID.
"""
import errno
import grp
import json
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import threading
import time

import __main__ as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PERIOD = 0.2  # probe interval of the watched worker "b", in seconds
SPLIT_MARKER = b" [upkeep: line split]"


def proto_const(name):
    """A numeric constant of include/proto.h, such as (64 * 1024)."""
    with open(os.path.join(ROOT, "include", "proto.h")) as f:
        m = re.search(rf"#define {name} \(?([0-9* ]+)\)?", f.read())
    v = 1
    for factor in m.group(1).split("*"):
        v *= int(factor)
    return v


# ---------------------------------------------------------------------------------------------
# helpers


def watched(c):
    """The worker "b": a uk-worker probed every PERIOD, whose probe rate the tests watch."""
    no_wrapper()
    port = h.free_port()
    hf, blk = h.health_worker(c, "b", port, stop_timeout="2s")
    h.set_health(hf, "healthy")
    return h.with_health(blk, url=f"http://127.0.0.1:{port}/health", interval="200ms",
                         timeout="150ms", start_interval="100ms", failures=3)


class Rate:
    """Probes answered for b between start() and check(); fails outside the margins."""

    def __init__(self, c):
        self.c = c
        self.start()

    def start(self):
        self.n0, self.t0 = self.c.inst("b")["health"]["probes_answered"], time.monotonic()

    def value(self):
        return ((self.c.inst("b")["health"]["probes_answered"] - self.n0) /
                (time.monotonic() - self.t0))

    def check(self, what):
        dt = time.monotonic() - self.t0
        r = self.value()
        want = 1 / PERIOD
        h.check(r >= 0.6 * want, f"b answered {r:.1f} probes/s over {dt:.1f}s {what} "
                f"(period {PERIOD}s: ~{want:g}/s)")
        h.check(r <= 1.5 * want + 1 / dt, f"b answered {r:.1f} probes/s over {dt:.1f}s {what}: "
                "a burst")
        return r


def cpu_seconds(pid):
    """utime + stime of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(ln for ln in f if ln.startswith("VmRSS")).split()[1])


def sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def no_wrapper():
    if h.WRAPPER:
        raise h.TestSkip(f"under {os.path.basename(h.WRAPPER[0])}: these cases time upkeepd")


def n_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def alive(c, d):
    h.check(d.alive(), "upkeepd died:\n" + h.log_tail(d))
    t0 = time.monotonic()
    h.check(c.status()["ok"], "status")
    dt = time.monotonic() - t0
    h.check(dt < 2, f"upkeepd took {dt:.2f}s to answer status")


def group_members(pgid):
    """[(pid, start time)] of the processes in process group pgid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = h.proc_stat(int(d))
            if st and st[2] == pgid and st[0] != "Z":
                out.append((int(d), st[4]))
    return out


def owner(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def kill_group_members(members):
    """SIGKILL each (pid, start time) that is still that process."""
    for pid, start in members:
        st = h.proc_stat(pid)
        if st and st[4] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def tracked_pidfile(c, path, timeout=10):
    """A pid written by a process the test had upkeepd start, tracked for the teardown."""
    return c.read_pidfile(path, timeout=timeout)


def add_section(block, name, **keys):
    inner = "".join(f"        {k.replace('_', '-')} = {h.fmt_value(v)}\n" for k, v in keys.items())
    return block.rstrip().rstrip("}") + f"    {name} {{\n" + inner + "    }\n}\n"


def raw_server(c, handler):
    """A TCP server on 127.0.0.1: handler(conn, request bytes) per connection, in its own
    thread; everything stops with the test."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    ls.settimeout(0.2)
    conns = []
    c.closers.append(ls.close)
    c.closers.append(lambda: [k.close() for k in conns])

    def serve(k):
        try:
            k.settimeout(5)
            req = b""
            while b"\r\n\r\n" not in req:
                chunk = k.recv(4096)
                if not chunk:
                    return
                req += chunk
            handler(k, req)
        except OSError:
            pass
        finally:
            k.close()

    def accept_loop():
        while not c.stop_event.is_set():
            try:
                k, _ = ls.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            conns.append(k)
            threading.Thread(target=serve, args=(k,), daemon=True).start()
    c.background(accept_loop)
    return ls.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# workers that misbehave


@h.test
def chaos_closed_stdio(c):
    """A worker that closes stdout and stderr and keeps running: no busy loop, RUNNING."""
    pidfile = c.path("mute.pid")
    c.conf(h.worker_block("mute", f"sh -c 'exec >&- 2>&-; exec {h.WORKER} --pidfile {pidfile}'",
                          start_secs="300ms") + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    i = c.wait_state("mute", "RUNNING")
    pid = tracked_pidfile(c, pidfile)
    h.check_eq(i["pid"], pid, "pid of the worker that closed its output")
    c.wait_state("b", "RUNNING")
    time.sleep(0.3)
    rate = Rate(c)
    cpu0, t0 = cpu_seconds(d.signal_pid), time.monotonic()
    time.sleep(2)
    cpu = cpu_seconds(d.signal_pid) - cpu0
    dt = time.monotonic() - t0
    h.check(cpu < 0.1 * dt + 0.1, f"upkeepd used {cpu:.2f}s of CPU in {dt:.1f}s with a worker "
            "whose stdout and stderr are closed (a busy loop?)")
    rate.check("with a worker whose output is closed")
    i = c.inst("mute")
    h.check_eq((i["state"], i["pid"], i["restarts"]), ("RUNNING", pid, 0), "the mute worker")
    alive(c, d)


@h.test
def chaos_output_flood(c):
    """100 MB without a newline: split with markers, every byte in the log, RSS bounded."""
    total = 100_000_000
    pidfile = c.path("flood.pid")
    cmd = (f"sh -c 'printf BEGIN; head -c {total} /dev/zero | tr -c x x; printf END; echo; "
           f"exec {h.WORKER} --pidfile {pidfile}'")
    c.conf(add_section(h.worker_block("flood", cmd, start_secs="100ms", stop_timeout="2s"),
                       "log", max_size="1G", max_line="64K") + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("b", "RUNNING")
    rss0 = rss_kib(d.signal_pid)
    log = os.path.join(c.logdir, "flood", "flood.log")
    rate = Rate(c)
    peak = [rss0]

    def done():
        peak[0] = max(peak[0], rss_kib(d.signal_pid))
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - 4))
            return f.read().endswith(b"END\n")
    h.wait_for(done, 25, f"the end of the flood in {log}", interval=0.1)
    tracked_pidfile(c, pidfile)
    if time.monotonic() - rate.t0 < 2:
        time.sleep(2 - (time.monotonic() - rate.t0))
    rate.check("during a 100 MB flood")
    # judged on the plain build only: under ASan, freed blocks wait in its quarantine (up to
    # 256 MiB), so RSS there follows how much was allocated over time, not what is held
    if not sanitized(d.signal_pid):
        h.check(peak[0] < 32 * 1024, f"upkeepd RSS peaked at {peak[0]} KiB during the flood "
                f"(started at {rss0} KiB, limit 32 MiB)")

    xs = markers = pieces = longest = 0
    with open(log, "rb") as f:
        data = f.read()
    h.check(data.startswith(b"BEGIN"), f"log starts with {data[:20]!r}")
    for ln in data.split(b"\n")[:-1]:
        pieces += 1
        longest = max(longest, len(ln))
        if ln.endswith(SPLIT_MARKER):
            markers += 1
    xs = data.count(b"x")
    del data
    h.check_eq(xs, total, f"bytes of output in {log}")
    want = total // (64 * 1024)
    h.check(0.9 * want <= markers <= 1.1 * want + 2,
            f"{markers} split markers for {total} bytes in lines of at most 64 KiB (~{want})")
    h.check_eq(pieces, markers + 1, "pieces (every one but the last ends with the marker)")
    h.check(longest <= 64 * 1024 + len(SPLIT_MARKER), f"a piece of {longest} bytes")
    h.check_eq(c.inst("flood")["state"], "RUNNING", "the flooding worker")
    alive(c, d)


@h.test
def chaos_stubborn_double_fork(c):
    """A worker that ignores SIGTERM and double-forks a daemon (adopted by upkeepd): stop
    SIGKILLs the group after stop-timeout, the daemon goes too, b keeps its period."""
    main, gc = c.path("main.pid"), c.path("daemon.pid")
    cmd = (f"sh -c '({h.WORKER} --ignore-term --pidfile {gc} &); "
           f"exec {h.WORKER} --ignore-term --pidfile {main}'")
    c.conf(h.worker_block("stubborn", cmd, start_secs="200ms", stop_timeout="1s") + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("stubborn", "RUNNING")
    c.wait_state("b", "RUNNING")
    pm, pg = tracked_pidfile(c, main), tracked_pidfile(c, gc)
    st = h.proc_stat(pg)
    h.check(st is not None, "the double-forked daemon is gone already")
    h.check_eq((st[1], st[2]), (d.signal_pid, pm),
               "(parent, process group) of the double-forked daemon")
    rate = Rate(c)
    t0 = time.monotonic()
    h.check_eq(c.ctl("stop", "stubborn").returncode, 0, "stop stubborn")
    i = c.wait_state("stubborn", "STOPPED", timeout=5)
    dt = time.monotonic() - t0
    h.check(0.8 <= dt <= 3, f"STOPPED {dt:.2f}s after stop (stop-timeout 1s)")
    h.check_eq(i["last_exit"], {"signal": "KILL"}, "last_exit")
    h.wait_for(lambda: h.pid_gone(pm) and h.pid_gone(pg), 3,
               "the worker and its daemon gone and reaped")
    h.wait_for(lambda: c.status()["daemon"]["orphans_reaped"] >= 1, 3, "the daemon reaped")
    if time.monotonic() - rate.t0 < 2:
        time.sleep(2 - (time.monotonic() - rate.t0))
    rate.check("while a stubborn worker was stopped")
    alive(c, d)


@h.test
def chaos_fork_bomb(c):
    """A fork bomb as nobody under limit-nproc = 20: capped, upkeepd responsive, stop kills the
    whole group."""
    if os.geteuid() != 0:
        raise h.TestSkip("needs root (the bomb runs as nobody)")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise h.TestSkip("no user nobody")
    if not os.path.exists("/bin/bash"):
        raise h.TestSkip("no bash")
    # bash retries a failed fork after a pause instead of exiting: the bomb stays at its cap
    c.conf(h.worker_block("bomb", "/bin/bash -c 'while :; do sleep 1000 & done'", user="nobody",
                          limit_nproc=20, start_secs="200ms", stop_timeout="2s",
                          directory="/") + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    pgid = c.wait_state("bomb", "RUNNING")["pid"]
    seen = {}
    uid = pwd.getpwnam("nobody").pw_uid

    def leftovers():
        # what was seen of the group, and what is in it now and runs as nobody
        now = [(p, t) for p, t in group_members(pgid) if owner(p) == uid]
        kill_group_members(list(seen.items()) + now)
    c.closers.insert(0, leftovers)

    def members():
        m = group_members(pgid)
        seen.update(m)
        return m
    h.wait_for(lambda: len(members()) >= 15, 10, "the bomb to reach its cap")
    c.wait_state("b", "RUNNING")
    rate = Rate(c)
    deadline = time.monotonic() + 2.5
    most = 0
    while time.monotonic() < deadline:
        most = max(most, len(members()))
        alive(c, d)
        time.sleep(0.1)
    h.check(most <= 20, f"{most} processes in the bomb's group with limit-nproc = 20")
    rate.check("during a fork bomb")
    i = c.inst("bomb")
    h.check_eq((i["state"], i["pid"]), ("RUNNING", pgid), "the bomb's main process")

    h.check_eq(c.ctl("stop", "bomb").returncode, 0, "stop bomb")
    c.wait_state("bomb", "STOPPED", timeout=6)
    try:
        h.wait_for(lambda: not members(), 3, "every process of the bomb gone")
    except h.TestFailure:
        h.fail(f"left of the bomb's group: {[h.describe_pid(p) for p, _ in members()]}")
    alive(c, d)


# ---------------------------------------------------------------------------------------------
# health endpoints that misbehave


@h.test
def chaos_hostile_health_endpoints(c):
    """Slowloris headers -> timeouts, unhealthy, restart; an endless body is cut at the cap;
    invalid JSON and invalid UTF-8 bodies are healthy; b keeps its period."""
    def handler(k, req):
        path = req.split(b" ", 2)[1]
        if path == b"/slowloris":
            k.sendall(b"HTTP/1.1 200 OK\r\n")
            while not c.stop_event.is_set():
                k.sendall(b"X")  # a header that never ends
                time.sleep(0.1)
        elif path == b"/endless":
            k.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Connection: close\r\n\r\n{\"status\": \"unhealthy\", \"pad\": \"")
            for _ in range(5000):  # 10 MB at most, far past the cap
                if c.stop_event.is_set():
                    break
                k.sendall(b"y" * 2048)
        else:
            body = {b"/badjson": b'{"status": "unhealthy",, "x": [1, 2',
                    b"/badutf8": b'{"status": "unhealthy\xff\xfe", "a": "\xc3\x28"}',
                    b"/garbage": b"\xff\xfe\x00\x01 fail \xc3"}[path]
            k.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    port = raw_server(c, handler)

    def probed(name, path, **keys):
        hk = dict(url=f"http://127.0.0.1:{port}{path}", interval="300ms", timeout="400ms",
                  start_interval="100ms", failures=2)
        hk.update(keys)
        return h.with_health(h.worker_block(name, h.WORKER, start_secs="100ms",
                                            restart=dict(backoff="200ms", jitter="0%")), **hk)
    c.conf(probed("slow", "/slowloris") +
           probed("endless", "/endless", timeout="3s", max_body="4K") +
           probed("badjson", "/badjson") + probed("badutf8", "/badutf8") +
           probed("garbage", "/garbage") + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("b", "RUNNING")
    rate = Rate(c)
    for n in ("endless", "badjson", "badutf8", "garbage"):
        i = c.wait_state(n, "RUNNING", timeout=5)
        h.check_eq(i["health"]["state"], "healthy", f"health of {n}")
    e = c.inst("endless")["health"]["last"]
    h.check(e["latency_ms"] < 2000, f"the endless body took {e['latency_ms']:.0f} ms: it was not "
            "cut at the cap (timeout 3s)")
    h.check_eq((e["http_code"], e["class"]), (200, "healthy"), "endless body answer")

    def restarted():
        w = next(w for w in c.status()["workers"] if w["name"] == "slow")
        return w if w["instances"][0]["restarts"] >= 1 else None
    w = h.wait_for(restarted, 8, "slow restarted after slowloris timeouts")
    h.check(w["events"]["timeout"]["1m"] >= 2, f"timeouts counted: {w['events']['timeout']}")
    last = w["instances"][0]["health"]["last"]
    h.check(last is None or last["class"] == "unhealthy", f"last slowloris answer: {last}")
    if time.monotonic() - rate.t0 < 2:
        time.sleep(2 - (time.monotonic() - rate.t0))
    rate.check("with hostile health endpoints")
    for n in ("endless", "badjson", "badutf8", "garbage"):
        i = c.inst(n)
        h.check_eq((i["state"], i["restarts"], i["health"]["state"]), ("RUNNING", 0, "healthy"),
                   f"{n} after a few probes")
        h.check(i["health"]["probes_answered"] >= 3, f"{n}: {i['health']}")
    alive(c, d)


# ---------------------------------------------------------------------------------------------
# upkeepd itself stopped, or killed


@h.test
def chaos_daemon_sigstop(c):
    """upkeepd stopped for 3 s: a worker that died meanwhile is restarted once, probes resume
    at their period without a burst."""
    pidfile = c.path("victim.pid")
    c.conf(h.worker_block("victim", f"{h.WORKER} --pidfile {pidfile}", start_secs="100ms",
                          restart=dict(backoff="100ms", jitter="0%")) + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("victim", "RUNNING")
    c.wait_state("b", "RUNNING")
    victim = tracked_pidfile(c, pidfile)
    b_before = c.inst("b")
    d.send(signal.SIGSTOP)
    try:
        h.wait_for(lambda: h.proc_state(d.signal_pid) == "T", 2, "upkeepd stopped")
        os.kill(victim, signal.SIGKILL)
        time.sleep(3)
    finally:
        d.send(signal.SIGCONT)
    t_cont = time.monotonic()
    n0 = c.inst("b")["health"]["probes_answered"]
    i = h.wait_for(lambda: (lambda i: i if i["state"] == "RUNNING" and i["pid"] != victim
                            else None)(c.inst("victim")), 5, "victim restarted")
    h.check_eq(i["restarts"], 1, "restarts of the worker that died while upkeepd was stopped")
    h.check_eq(i["last_exit"], {"signal": "KILL"}, "its last exit")
    h.wait_for(lambda: time.monotonic() - t_cont >= 0.6, 1, "0.6 s")
    n1 = c.inst("b")["health"]["probes_answered"]
    h.check(n1 - n0 <= 6, f"b answered {n1 - n0} probes in the first 0.6 s after SIGCONT "
            f"(period {PERIOD}s): a burst")
    rate = Rate(c)
    h.hold_for(lambda: c.inst("victim")["restarts"] == 1, 2, "victim restarted only once")
    rate.check("after SIGCONT")
    b = c.inst("b")
    h.check_eq((b["pid"], b["restarts"]), (b_before["pid"], 0), "b (pid, restarts)")
    alive(c, d)


def our_processes(c):
    """pids of every live process whose command line mentions this test's directory."""
    out = set()
    key = c.dir.encode()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if key in f.read() and h.pid_alive(int(p)):
                    out.add(int(p))
        except OSError:
            pass
    return out


@h.test
def chaos_daemon_killed_mid_stop(c):
    """upkeepd SIGKILLed with a worker STOPPING and one in BACKOFF, started again: exactly one
    process per instance, all its own, no orphans left anywhere."""
    c.conf(h.worker_block("w", f"{h.WORKER} --ignore-term --grandchild --pidfile {c.path('w-%i.pid')}",
                          instances=2, start_secs="100ms", stop_timeout="2s") +
           h.worker_block("slowstop", f"{h.WORKER} --ignore-term --pidfile {c.path('slowstop.pid')}",
                          start_secs="100ms", stop_timeout="2s") +
           h.worker_block("crashy", f"sh -c 'exit 1' {c.dir}", start_secs="0",
                          restart=dict(backoff="5s", jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"))
    old = {n: c.wait_state(n, "RUNNING")["pid"] for n in ("w:0", "w:1", "slowstop")}
    h.check_eq(c.ctl("stop", "slowstop").returncode, 0, "stop slowstop")
    h.check_eq(c.inst("slowstop")["state"], "STOPPING", "slowstop (ignores SIGTERM)")
    c.wait_state("crashy", "BACKOFF")
    before = our_processes(c)
    time.sleep(0.3)  # the state file is written after each change
    d.send(signal.SIGKILL)
    d.wait(5)
    d.checked = True
    h.check(old["slowstop"] in our_processes(c), "slowstop outlived upkeepd")
    d2 = c.start_daemon(c.path("upkeep.conf"), name="upkeepd2")
    new = {n: c.wait_state(n, "RUNNING", timeout=10)["pid"] for n in ("w:0", "w:1")}
    h.check(not set(new.values()) & set(old.values()), "fresh processes")
    h.check_eq(c.inst("slowstop")["state"], "STOPPED", "slowstop, stopped by its operator")

    def settled():
        mine = {p for p, _ in h.descendants(d2.signal_pid)}
        ours = our_processes(c) - {d2.signal_pid}
        return (ours, mine) if ours <= mine and not ours & before else None
    try:
        ours, mine = h.wait_for(settled, 5, "the old processes gone")
    except h.TestFailure:
        left = our_processes(c) - {p for p, _ in h.descendants(d2.signal_pid)}
        h.fail("processes of this test that the new upkeepd does not own: " +
               "; ".join(h.describe_pid(p) for p in left))
    # w:0 and w:1 with a grandchild each, crashy maybe between two runs
    n_w = len([p for p in ours if h.proc_stat(p) and h.proc_stat(p)[2] in new.values()])
    h.check_eq(n_w, 4, f"processes in the groups of w:0 and w:1 ({sorted(ours)})")
    alive(c, d2)


# ---------------------------------------------------------------------------------------------
# security: the control socket, secrets


def unix_connect(c):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(c.sock)
    return s


def read_until_closed(s, timeout):
    """Everything s receives until the peer closes it; None if it is still open at timeout."""
    got, deadline = b"", time.monotonic() + timeout
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except (TimeoutError, socket.timeout):
            continue
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
    return None


@h.test
def security_control_limits(c):
    """Control clients: an oversized request gets one error line and is closed; a silent client
    and one that trickles a request byte by byte are dropped after the idle timeout; a flood of
    connections is capped and upkeepd answers a fresh client afterwards."""
    max_req = proto_const("PROTO_MAX_REQUEST")
    idle = proto_const("PROTO_IDLE_TIMEOUT_SEC")
    max_clients = proto_const("PROTO_MAX_CLIENTS")
    c.conf(h.worker_block("w", h.WORKER, start_secs="100ms") + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    c.wait_state("b", "RUNNING")
    rate = Rate(c)
    pid = d.signal_pid
    fds0 = n_fds(pid)

    t0 = time.monotonic()
    silent = unix_connect(c)
    trickle = unix_connect(c)
    c.closers.extend([silent.close, trickle.close])

    def trickle_bytes():
        for b in b'{"cmd": "status"}':
            if c.stop_event.wait(1.5):
                return
            try:
                trickle.send(bytes([b]))
            except OSError:
                return
    c.background(trickle_bytes)

    # one request line over the limit: one error line, then the connection is closed
    big = unix_connect(c)
    try:
        big.sendall(b'{"cmd": "status", "name": "' + b"x" * max_req + b'"}\n')
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = read_until_closed(big, 5)
    big.close()
    h.check(got is not None, "the connection of an oversized request is still open after 5s")
    lines = got.split(b"\n")
    h.check(len(lines) == 2 and lines[1] == b"", f"not one line for an oversized request: {got!r}")
    a = json.loads(lines[0])
    h.check(a.get("ok") is False and "too long" in a.get("error", ""),
            f"answer to an oversized request: {a}")
    alive(c, d)

    # a flood: more connections than PROTO_MAX_CLIENTS, held open
    held = []
    try:
        for _ in range(max_clients + 40):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            held.append(s)
            h.wait_for(lambda: s.connect_ex(c.sock) in (0, errno.EISCONN), 5,
                       f"connection {len(held)} to be accepted")
        time.sleep(0.3)
        fds = n_fds(pid)
        h.check(fds <= fds0 + max_clients + 4, f"upkeepd holds {fds} descriptors with "
                f"{len(held)} clients (it had {fds0}; at most {max_clients} clients are served)")
        with open(f"/proc/{pid}/limits") as f:
            soft = next(ln for ln in f if ln.startswith("Max open files")).split()[3]
        h.check(soft == "unlimited" or fds < int(soft) // 2,
                f"{fds} descriptors with a limit of {soft}")
        h.check(d.alive(), "upkeepd died with a flood of clients")
    finally:
        for s in held:
            s.close()
    h.wait_for(lambda: c.status()["ok"], 5, "a fresh client answered after the flood")
    h.check_eq(c.ctl("status").returncode, 0, "upkeepctl status after the flood")

    # the silent client and the trickling one are dropped after the idle timeout
    for name, s in (("a silent client", silent), ("a client trickling a request", trickle)):
        got = read_until_closed(s, idle + 4 - (time.monotonic() - t0))
        dt = time.monotonic() - t0
        h.check(got is not None, f"{name} is still connected {dt:.1f}s later "
                f"(idle timeout {idle}s)")
        h.check(dt >= idle - 1, f"{name} dropped after {dt:.1f}s, before the idle timeout")
        h.check(b'"ok":true' not in got.replace(b" ", b""), f"{name} was answered: {got!r}")
    rate.check("with hostile control clients")
    h.check(n_fds(pid) <= fds0 + 1, f"upkeepd holds {n_fds(pid)} descriptors after the clients "
            f"left (it had {fds0})")
    alive(c, d)


@h.test
def security_socket_group(c):
    """The socket is 0660 and owned by socket-group, whose members may command; other users
    cannot connect; with socket-others = none a reader is turned away."""
    if os.geteuid() != 0:
        raise h.TestSkip("needs root (sets the socket's group, runs clients as other users)")
    try:
        nobody = pwd.getpwnam("nobody")
        other = pwd.getpwnam("daemon")
        group = grp.getgrgid(nobody.pw_gid)
    except KeyError:
        raise h.TestSkip("no users nobody and daemon")
    if other.pw_gid == group.gr_gid or other.pw_name in group.gr_mem:
        raise h.TestSkip(f"daemon is in {group.gr_name}")
    os.chmod(c.dir, 0o755)
    c.conf(f"socket-group = {h.q(group.gr_name)}\n" + h.worker_block("w", h.WORKER))
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    st = os.stat(c.sock)
    h.check_eq(oct(st.st_mode & 0o7777), oct(0o660), "mode of the socket")
    h.check_eq(st.st_gid, group.gr_gid, "group of the socket")

    def as_user(user, *args):
        def drop():
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        return subprocess.run([h.UPKEEPCTL, "-s", c.sock] + list(args), capture_output=True,
                              text=True, timeout=20, preexec_fn=drop, stdin=subprocess.DEVNULL)
    r = as_user(other, "status")
    h.check_eq(r.returncode, 4, f"status as daemon, not in {group.gr_name} ({r.stderr!r})")
    r = as_user(nobody, "stop", "w")
    h.check_eq((r.returncode, r.stdout), (0, "w: stopped\n"), f"stop as a member of "
               f"{group.gr_name} ({r.stderr!r})")
    c.wait_state("w", "STOPPED")

    # socket-others = none: a peer outside the group gets nothing, even with mode 0666
    sock2 = c.path("others.sock")
    conf2 = c.conf('socket-mode = "0666"\nsocket-others = none\n' + h.worker_block("w2", h.WORKER),
                   name="others.conf", sock=sock2, logdir=c.path("logs2"))
    c.start_daemon(conf2, sock=sock2, name="upkeepd2")
    r = subprocess.run([h.UPKEEPCTL, "-s", sock2, "status"], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL,
                       preexec_fn=lambda: (os.setgroups([]), os.setgid(other.pw_gid),
                                           os.setuid(other.pw_uid)))
    h.check(r.returncode != 0 and "w2" not in r.stdout,
            f"status as daemon with socket-others = none: {r.returncode} {r.stdout!r}")
    h.check(c.ctl("status", sock=sock2).returncode in (0, 3), "status as root")


@h.test
def security_secrets_hidden(c):
    """Values of env-file and environment never show in status, upkeepd's output, the worker
    logs, the state file, alerts or an alert command's environment; a world-readable env-file
    is warned about."""
    s_file, s_conf = (f"s3cr3t-{secrets.token_hex(8)}" for _ in range(2))
    envf = c.write("app.env", f"API_KEY={s_file}\n")
    os.chmod(envf, 0o644)
    dump, notified = c.path("env-dump"), c.path("notified-env")
    env = dict(env_file=envf, environment=[f"DB_PASSWORD={s_conf}"])
    c.conf(f"""
alerts {{ rule warning {{ event = restart count = 1 within = 1m }} }}
notify cmd {{ type = exec command = "sh -c 'env > {notified}'" }}
""" + h.worker_block("app", f"{h.WORKER} --env-dump {dump}", start_secs="100ms", **env) +
           h.worker_block("crashy", "sh -c 'echo started; exit 3'", start_secs="0",
                          restart=dict(backoff="300ms", jitter="0%"), **env))
    d = c.start_daemon(c.path("upkeep.conf"), args=["-v"])
    c.wait_state("app", "RUNNING")
    e, _ = h.wait_for(lambda: h.parse_env_dump(dump), 5, "the environment dump")
    h.check_eq((e.get("API_KEY"), e.get("DB_PASSWORD")), (s_file, s_conf),
               "the worker's secrets")
    h.wait_for(lambda: os.path.exists(notified) and os.path.getsize(notified) > 0, 10,
               "the alert command to run")
    h.wait_for(lambda: c.inst("crashy")["restarts"] >= 2, 5, "crashy restarted twice")
    texts = {"status --json": c.ctl("status", "--json").stdout,
             "status": c.ctl("status").stdout,
             "alerts": json.dumps(c.query({"cmd": "alerts"})),
             "the alert command's environment": open(notified).read()}
    state = c.path("upkeep.state")
    if os.path.exists(state):
        texts["the state file"] = open(state, errors="replace").read()
    for root, _, files in os.walk(c.logdir):
        for fn in files:
            with open(os.path.join(root, fn), errors="replace") as f:
                texts[os.path.join(root, fn)] = f.read()
    h.check(any("crashy" in k for k in texts), f"no log of crashy in {sorted(texts)}")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd's exit")
    out = d.output()
    texts["upkeepd's output (-v)"] = out
    h.check(re.search(rf"env-file {re.escape(envf)} is readable by every user", out),
            f"no warning about the world-readable env-file:\n{h.log_tail(d)}")
    h.check_eq(len(re.findall(r"readable by every user", out)), 2,
               "warnings (once per worker using the file)")
    for where, text in texts.items():
        for what, v in (("the env-file value", s_file), ("the environment value", s_conf)):
            h.check(v not in text, f"{what} appears in {where}")


# ---------------------------------------------------------------------------------------------
# alerts: a notify command that hangs


@h.test
def alerts_exec_sink_hangs(c):
    """An exec sink whose command hangs (with a child of its own) is killed at its timeout,
    group and all; the next notifications are delivered, with a clean signal mask."""
    count, delivered = c.path("count"), c.path("delivered")
    sh_pid, child_pid = c.path("sh.pid"), c.path("child.pid")
    # the mask is read by sh itself, with builtins: while sh waits for a child (dash), it
    # blocks every signal for an instant, which a grep of /proc/$$/status could catch
    script = c.write("notify.sh", f"""
n=$(cat {count} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {count}
if [ $n = 1 ]; then
    echo $$ > {sh_pid}
    sleep 1000 &
    echo $! > {child_pid}
    wait
fi
echo "$n $UPKEEP_SEVERITY" >> {delivered}
while read -r k v; do
    case $k in SigBlk:|SigIgn:) echo "$k $v";; esac
done < /proc/self/status > {c.path("signals")}
""")
    c.conf(f'notify hang {{ type = exec command = "sh {script}" timeout = 1s }}\n' + watched(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("b", "RUNNING")
    rate = Rate(c)
    t0 = time.monotonic()
    h.check_eq(c.ctl("alerts", "test", "hang").returncode, 0, "alerts test hang")
    pids = [tracked_pidfile(c, p, timeout=5) for p in (sh_pid, child_pid)]
    for _ in range(2):
        h.check_eq(c.ctl("alerts", "test", "hang").returncode, 0, "alerts test hang, again")
    h.wait_for(lambda: all(h.pid_gone(p) for p in pids), 4,
               "the hung command and its child killed and reaped")
    dt = time.monotonic() - t0
    h.check(0.8 <= dt <= 3, f"the hung command was killed {dt:.2f}s after it started "
            "(timeout 1s)")

    def sink():
        return next(s for s in c.query({"cmd": "alerts"})["sinks"] if s["name"] == "hang")
    s = h.wait_for(lambda: (lambda s: s if s["sent"] >= 2 else None)(sink()), 5,
                   "two notifications delivered after the hung one")
    h.check_eq((s["failed"], s["queued"], s["state"]), (1, 0, "idle"),
               "the sink (failed, queued, state)")
    h.check("SIGKILL" in (s["last_error"] or "") or "KILL" in (s["last_error"] or ""),
            f"last_error: {s['last_error']!r}")
    with open(delivered) as f:
        h.check_eq([ln.split()[0] for ln in f.read().splitlines()], ["2", "3"],
                   "deliveries after the hung one")
    # the command starts with no signal blocked and SIGPIPE not ignored, unlike upkeepd
    with open(c.path("signals")) as f:
        sigs = dict(ln.split() for ln in f.read().replace(":", "").splitlines())
    h.check_eq(int(sigs["SigBlk"], 16), 0, "signals blocked in the notify command")
    h.check_eq(int(sigs["SigIgn"], 16) & (1 << (signal.SIGPIPE - 1)), 0,
               "SIGPIPE ignored in the notify command")
    if time.monotonic() - rate.t0 < 2:
        time.sleep(2 - (time.monotonic() - rate.t0))
    rate.check("with a hung notify command")
    alive(c, d)
