"""
The control socket against hostile clients: rights from the peer's own credentials, slots that
read-only clients cannot take, a flood that does not stall the loop, answers that are not read
not piling up in upkeepd, and running out of descriptors without spinning.

Each case failed on the control socket before its hardening (see the messages).  Clients run in
threads of the test, or as `nobody` in a child process the test started and stops by PID.
"""
import errno
import grp
import json
import os
import pwd
import re
import resource
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import __main__ as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def proto_const(name):
    """A numeric constant of include/proto.h, such as (4 * 1024 * 1024)."""
    with open(os.path.join(ROOT, "include", "proto.h")) as f:
        m = re.search(rf"#define {name} \(?([0-9* ]+)\)?", f.read())
    v = 1
    for factor in m.group(1).split("*"):
        v *= int(factor)
    return v


def need_root_and_nobody():
    if os.geteuid() != 0:
        raise h.TestSkip("needs root (runs clients as nobody)")
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise h.TestSkip("no user nobody")


def as_user(pw, groups=(), gid=None):
    """preexec_fn: become pw with exactly these supplementary groups."""
    def drop():
        os.setgroups(list(groups))
        os.setgid(pw.pw_gid if gid is None else gid)
        os.setuid(pw.pw_uid)
    return drop


def system_python():
    """A python3 that nobody may run (the test's own may live in root's home)."""
    for p in ("/usr/bin/python3", sys.executable):
        if os.access(p, os.X_OK) and not p.startswith("/root/"):
            return p
    raise h.TestSkip("no python3 that nobody may run")


def unix_connect(c, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(c.sock)
    return s


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return int(next(ln for ln in f if ln.startswith(field + ":")).split()[1])


def sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def timed_status(c, timeout):
    """Seconds a fresh client waits for its status answer (timeout + 1 when none came)."""
    t0 = time.monotonic()
    try:
        ok = c.query({"cmd": "status"}, timeout=timeout).get("ok")
    except (OSError, ValueError):
        ok = False
    dt = time.monotonic() - t0
    return dt if ok else timeout + 1


@h.test
def control_peer_groups(c):
    """A user listed in socket-group in /etc/group but not holding it (nobody with only its own
    group) may not command; the same user holding it as a supplementary group may.  The group
    is a fresh one, removed at the end."""
    nobody = need_root_and_nobody()
    name = "ukt" + secrets.token_hex(4)
    r = subprocess.run(["groupadd", "-U", nobody.pw_name, name], capture_output=True, text=True)
    if r.returncode != 0:
        raise h.TestSkip(f"groupadd failed: {r.stderr.strip()}")
    try:
        gid = grp.getgrnam(name).gr_gid
        h.check(nobody.pw_name in grp.getgrnam(name).gr_mem, f"nobody not listed in {name}")
        os.chmod(c.dir, 0o755)
        c.conf(f'socket-mode = "0666"\nsocket-group = "{name}"\n' +
               h.worker_block("w", h.WORKER, start_secs="100ms"))
        c.start_daemon(c.path("upkeep.conf"))
        c.wait_state("w", "RUNNING")

        def ctl(preexec, *args):
            return subprocess.run([h.UPKEEPCTL, "-s", c.sock] + list(args), capture_output=True,
                                  text=True, timeout=20, preexec_fn=preexec,
                                  stdin=subprocess.DEVNULL)
        r = ctl(as_user(nobody), "stop", "w")
        h.check(r.returncode != 0 and "permission denied" in r.stderr,
                f"nobody without {name} among its credentials could stop w "
                f"(rc {r.returncode}, {r.stdout!r} {r.stderr!r}): rights taken from /etc/group")
        h.check_eq(c.inst("w")["state"], "RUNNING", "w after a refused stop")
        r = ctl(as_user(nobody), "status")
        h.check_eq(r.returncode, 0, f"status as nobody (read access): {r.stderr}")
        # holding the group (supplementary, then primary) is what counts: SO_PEERGROUPS/PEERCRED
        r = ctl(as_user(nobody, groups=[gid]), "stop", "w")
        h.check(r.returncode == 0 and "stopped" in r.stdout,
                f"nobody holding {name} as a supplementary group: {r.stdout!r} {r.stderr!r}")
        r = ctl(as_user(nobody, gid=gid), "start", "w")
        h.check(r.returncode == 0 and "started" in r.stdout,
                f"nobody holding {name} as its group: {r.stdout!r} {r.stderr!r}")
        c.wait_state("w", "RUNNING")
    finally:
        subprocess.run(["groupdel", name], capture_output=True)


# a client as nobody: N connections, each sending a status request every 2 s and reading what
# comes; prints "ready <connections answered>" once all were tried, ends when stdin closes
HOLDER = r"""
import json, os, select, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
live = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(path)
        s.sendall(b'{"cmd": "status"}\n')
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
        if b"\n" in buf:
            live.append(s)
        else:
            s.close()
    except OSError:
        s.close()
print("ready", len(live), flush=True)
while True:
    r, _, _ = select.select([sys.stdin], [], [], 2)
    if r:
        break
    for s in list(live):
        try:
            s.sendall(b'{"cmd": "status"}\n')
            s.recv(1 << 20)
        except OSError:
            live.remove(s)
"""


@h.test
def control_root_not_locked_out(c):
    """A read-only user holding 64 connections (a request every 2 s on each) cannot lock root
    out: root's stop is answered, and that user gets at most its share of the slots."""
    nobody = need_root_and_nobody()
    max_clients = proto_const("PROTO_MAX_CLIENTS")
    per_reader = proto_const("PROTO_MAX_READER_CLIENTS")
    os.chmod(c.dir, 0o755)
    c.conf('socket-mode = "0666"\n' + h.worker_block("w", h.WORKER, start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    holder = subprocess.Popen([system_python(), "-c", HOLDER, c.sock, str(max_clients)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              preexec_fn=as_user(nobody))

    def end_holder():
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    c.closers.append(end_holder)
    ready, _, _ = select.select([holder.stdout], [], [], 60 * h.TIME_SCALE)
    h.check(ready, "the client as nobody did not report its connections within 60s")
    line = holder.stdout.readline().split()
    h.check(line[:1] == ["ready"], f"the client as nobody said {line!r}")
    held = int(line[1])
    r = c.ctl("stop", "w")
    h.check(r.returncode == 0 and "w: stopped" in r.stdout,
            f"root's stop with {held} connections held by nobody: rc {r.returncode}, "
            f"{r.stdout!r} {r.stderr!r}")
    h.check(held <= per_reader, f"nobody holds {held} connections of {max_clients} "
            f"(at most {per_reader} for one read-only user)")
    c.wait_state("w", "STOPPED")
    h.check(d.alive(), "upkeepd died")
    holder.stdin.close()
    h.wait_for(lambda: holder.poll() is not None, 10, "the client as nobody to end")


@h.test
def control_flood_does_not_stall(c):
    """A client sending 3 MB of newlines (and reading the answers) does not keep upkeepd to
    itself: another client's status is answered within a second all along."""
    c.conf(h.worker_block("w", h.WORKER, start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    flood = unix_connect(c, timeout=20)
    c.closers.append(flood.close)
    total = 3 * 1024 * 1024
    sent = [0]
    done = threading.Event()

    def send():
        chunk = b"\n" * 65536
        try:
            while sent[0] < total and not c.stop_event.is_set():
                flood.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass
        done.set()

    def drain():
        try:
            while not c.stop_event.is_set() and flood.recv(1 << 20):
                pass
        except OSError:
            pass
    c.background(drain)
    c.background(send)
    h.wait_for(lambda: sent[0] >= 256 * 1024, 10, "the flood to start")
    worst, n, t_end = 0.0, 0, time.monotonic() + 4
    while time.monotonic() < t_end:
        worst = max(worst, timed_status(c, 5))
        n += 1
        time.sleep(0.05)
    h.check(worst < 1.0, f"status took {worst:.2f}s at worst during a newline flood "
            f"({n} queries, {sent[0]} bytes of newlines sent): the loop stalls")
    h.check(d.alive(), "upkeepd died during a newline flood")
    flood.close()
    h.wait_for(lambda: timed_status(c, 2) < 1.0, 10, "status after the flood")


@h.test
def control_unread_answers_bounded(c):
    """A client that sends newlines and never reads its answers is not read beyond its answer
    budget: it stays connected, its writes block, and upkeepd's memory does not grow with it."""
    budget = proto_const("PROTO_CLIENT_QUEUE")
    c.conf(h.worker_block("w", h.WORKER, start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    pid = d.signal_pid
    hwm0 = vm_kib(pid, "VmHWM")
    s = unix_connect(c)
    c.closers.append(s.close)
    s.setblocking(False)
    chunk = b"\n" * 65536
    sent, closed, deadline = 0, None, time.monotonic() + 30 * h.TIME_SCALE
    while sent < 8 * 1024 * 1024 and time.monotonic() < deadline:
        try:
            sent += s.send(chunk)
            continue
        except BlockingIOError:
            pass
        except OSError as e:
            closed = e
            break
        # upkeepd stopped reading if the socket stays full for a second while it answers
        # others at once (and is not merely busy with this client's requests)
        _, w, _ = select.select([], [s], [], 1.0)
        if not w and timed_status(c, 5) < 0.5:
            break
    answer = len(b'{"ok":false,"error":"invalid JSON request"}\n')
    # what upkeepd read: up to its budget of answers, its request buffer, the socket buffers
    limit = budget // answer + 1024 * 1024
    h.check(closed is None, f"upkeepd closed a client that does not read ({closed}) after "
            f"{sent} bytes")
    h.check(sent < limit, f"upkeepd read {sent} bytes of requests from a client that reads no "
            f"answer (at most {limit} expected with a {budget}-byte answer budget)")
    h.check(d.alive(), "upkeepd died")
    # under ASan, freed blocks wait in its quarantine, and a wrapper such as valgrind has its
    # own memory: RSS there is not what upkeepd holds
    if not sanitized(pid) and not h.WRAPPER:
        grown = vm_kib(pid, "VmHWM") - hwm0
        h.check(grown < 3 * budget // 1024, f"upkeepd's peak RSS grew by {grown} KiB for one "
                f"client that does not read (answer budget {budget // 1024} KiB)")
    h.check(timed_status(c, 5) < 2, "status while a client does not read")


@h.test
def control_emfile_logged_once(c):
    """Out of descriptors with clients connecting: logged once, no spin, and upkeepd keeps
    supervising (a worker exiting every 300 ms is restarted once descriptors are free)."""
    c.conf(h.worker_block("w", f"{h.WORKER} --exit-after 300", start_secs="0",
                          restart=dict(policy="always", backoff="100ms", factor=1,
                                       max_delay="100ms", jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"))
    pid = d.signal_pid
    h.wait_for(lambda: c.inst("w")["restarts"] >= 1, 10, "w to be restarted once")
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    n = len(os.listdir(f"/proc/{pid}/fd"))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (n + 6, hard))
    held = []

    def release():
        for s in held:
            s.close()
        held.clear()
    c.closers.append(release)
    for _ in range(40):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        held.append(s)
        if s.connect_ex(c.sock) not in (0, errno.EISCONN, errno.EINPROGRESS):
            break
    h.wait_for(lambda: "out of file descriptors" in d.output() or
               "Too many open files" in d.output(), 5, "upkeepd to run out of descriptors")
    t0 = time.monotonic()
    with open(f"/proc/{pid}/stat") as f:
        st0 = f.read().rsplit(")", 1)[1].split()
    h.hold_for(d.alive, 2, "upkeepd alive while out of descriptors")
    with open(f"/proc/{pid}/stat") as f:
        st1 = f.read().rsplit(")", 1)[1].split()
    cpu = ((int(st1[11]) + int(st1[12])) - (int(st0[11]) + int(st0[12]))) / \
        os.sysconf("SC_CLK_TCK")
    lines = [ln for ln in d.output().splitlines()
             if "accept" in ln or "file descriptors" in ln]
    h.check(len(lines) <= 2, f"{len(lines)} log lines about accepting while out of descriptors "
            f"(first: {lines[:2]})")
    h.check(cpu < 0.5 * (time.monotonic() - t0),
            f"upkeepd used {cpu:.2f}s of CPU in {time.monotonic() - t0:.1f}s out of descriptors")
    release()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    h.wait_for(lambda: timed_status(c, 2) < 2, 10, "status once descriptors are free")
    r0 = c.inst("w")["restarts"]
    h.wait_for(lambda: c.inst("w")["restarts"] >= r0 + 2, 10,
               "w to be restarted again once descriptors are free")
    out = d.output()
    h.check_eq(out.count("out of file descriptors"), 1, "episodes logged")
    h.check_eq(out.count("available again"), 1, "ends of episode logged")
