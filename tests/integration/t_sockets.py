"""
Sockets held by upkeepd (listen sections): bound once, shared by every instance of a worker as
descriptor 3 with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID, kept open across crashes, restarts
and reloads, so a load client on 127.0.0.1 sees no refused connection and no error answer.
Served by real gunicorn (--bind fd://3) and by a small Python server.  Only processes the test
started are signalled, by PID.
"""
import datetime
import errno
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time

import __main__ as h

# A plain HTTP/1.0 server on the held socket: descriptor argv[1], its environment written to
# argv[2] (with a grandchild's, for LISTEN_PID), a graceful SIGTERM (the request in hand is
# answered, nothing more is accepted).
SERVER = r'''
import os, signal, socket, subprocess, sys
fd, out = int(sys.argv[1]), sys.argv[2]
stop = False
def on_term(sig, frm):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def on_hup(sig, frm):
    with open(out + ".hup", "a") as f:
        f.write(f"{os.getpid()}\n")
signal.signal(signal.SIGHUP, on_hup)
gc = subprocess.run(["sh", "-c", 'echo "$$ ${LISTEN_PID:-none} ${LISTEN_FDS:-none}"'],
                    capture_output=True, text=True).stdout.strip()
env = {k: v for k, v in os.environ.items() if k.startswith("LISTEN_")}
with open(out + ".tmp", "w") as f:
    f.write(f"pid={os.getpid()}\nargv={' '.join(sys.argv[1:])}\ngrandchild={gc}\n")
    for k, v in sorted(env.items()):
        f.write(f"{k}={v}\n")
os.rename(out + ".tmp", out)
if len(sys.argv) > 3:
    # health on a unix socket of the instance's own: 503 for good if argv[4] existed at start
    import threading
    code = b"503 Unavailable" if os.path.exists(sys.argv[4]) else b"200 OK"
    hs = socket.socket(socket.AF_UNIX)
    if os.path.exists(sys.argv[3]):
        os.unlink(sys.argv[3])
    hs.bind(sys.argv[3])
    hs.listen()
    def health():
        while True:
            c, _ = hs.accept()
            c.recv(4096)
            c.sendall(b"HTTP/1.0 " + code + b"\r\nContent-Length: 0\r\n\r\n")
            c.close()
    threading.Thread(target=health, daemon=True).start()
s = socket.socket(fileno=fd)
s.settimeout(0.2)
body = str(os.getpid()).encode()
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
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    c.close()
'''

WSGI = '''
import os
def app(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


class Load:
    """A client thread sending one request after another and counting what came back."""

    def __init__(self, c, addr):
        self.addr = addr  # (host, port) or a unix path
        self.counts = {"ok": 0, "non2xx": 0, "refused": 0, "reset": 0, "other": 0}
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        c.closers.append(self.finish)

    def one(self):
        fam = socket.AF_UNIX if isinstance(self.addr, str) else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(15)
        try:
            s.connect(self.addr)
        except ConnectionRefusedError:
            return "refused", "connection refused"
        except OSError as e:
            s.close()
            return ("refused" if e.errno == errno.ENOENT else "other"), repr(e)
        try:
            s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, BrokenPipeError) as e:
            return "reset", repr(e)
        except OSError as e:
            return "other", repr(e)
        finally:
            s.close()
        if not data:
            return "reset", "connection closed without an answer"
        line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("2"):
            return "ok", None
        return "non2xx", line

    def run(self):
        while not self.stop.is_set():
            kind, why = self.one()
            with self.lock:
                self.counts[kind] += 1
                if why and len(self.errors) < 20:
                    self.errors.append(f"{kind}: {why}")

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def wait_served(self, n, what):
        start = self.snapshot()["ok"]
        h.wait_for(lambda: self.snapshot()["ok"] >= start + n, 20, f"{n} more answers {what}")

    def finish(self):
        self.stop.set()
        self.thread.join(20)
        return self.snapshot()


def listen_block(name, address, **keys):
    lines = [f"listen {name} {{", f"    address = {h.q(address)}"]
    for k, v in keys.items():
        lines.append(f"    {k} = {h.fmt_value(v)}")
    return "\n".join(lines + ["}"]) + "\n"


def server(c):
    return c.write("server.py", SERVER)


def python_worker(c, name, socket_name, instances=3, **keys):
    return h.worker_block(name, f"python3 {server(c)} {{fd:{socket_name}}} "
                                f"{c.path(name + '-env-%i')}",
                          instances=instances, sockets=[socket_name], stop_timeout="10s",
                          start_secs="300ms", **keys)


def read_env(path):
    with open(path) as f:
        return dict(ln.split("=", 1) for ln in f.read().splitlines() if "=" in ln)


def pids_of(c, worker):
    return {i["name"]: i["pid"] for w in c.status()["workers"] if w["name"] == worker
            for i in w["instances"]}


def all_running(c, worker, n):
    def pred():
        insts = [i for w in c.status()["workers"] if w["name"] == worker for i in w["instances"]]
        return insts if len(insts) == n and all(i["state"] == "RUNNING" for i in insts) else None
    return h.wait_for(pred, 30, f"{n} instances of {worker} RUNNING")


def judge(load, what, allow_inflight=0):
    """No refused connection, no error answer; a SIGKILL may cut the request the killed
    process had accepted (allow_inflight), which no supervisor can answer for it."""
    got = load.finish()
    h.check(got["ok"] > 0, f"{what}: no request served ({got})")
    h.check(got["refused"] == 0 and got["non2xx"] == 0 and got["other"] == 0,
            f"{what}: {got}, first errors {load.errors[:5]}")
    h.check(got["reset"] <= allow_inflight,
            f"{what}: {got['reset']} connections cut (at most {allow_inflight} in flight in the "
            f"killed instance), first errors {load.errors[:5]}")
    print(f"    {what}: {got['ok']} requests served, {got['reset']} in flight cut", flush=True)
    return got


@h.test
def sockets_python_env_kill_restart(c):
    """Three instances of a Python server share one held socket (descriptor 3, {fd:web} in the
    command); LISTEN_PID is each worker's own pid, a grandchild's LISTEN_PID is not its own;
    a load client sees no refused connection through a SIGKILL of one instance and through
    `upkeepctl restart` of the worker."""
    port = h.free_port()
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + python_worker(c, "py", "web"))
    d = c.start_daemon(c.path("upkeep.conf"))
    insts = all_running(c, "py", 3)
    for i in insts:
        env = h.wait_for(lambda: (lambda p: read_env(p) if os.path.exists(p) else None)(
            c.path(f"py-env-{i['index']}")), 10, f"the environment of {i['name']}")
        h.check_eq(env.get("pid"), str(i["pid"]), f"{i['name']}: the server's pid")
        h.check_eq(env.get("LISTEN_PID"), str(i["pid"]), f"{i['name']}: LISTEN_PID")
        h.check_eq(env.get("LISTEN_FDS"), "1", f"{i['name']}: LISTEN_FDS")
        h.check_eq(env.get("LISTEN_FDNAMES"), "web", f"{i['name']}: LISTEN_FDNAMES")
        h.check(env.get("argv", "").startswith("3 "), f"{{fd:web}} became 3: {env.get('argv')}")
        gpid, glisten, gfds = env["grandchild"].split()
        h.check(glisten == str(i["pid"]) and gpid != glisten,
                f"a grandchild inherits LISTEN_PID of its parent ({glisten}), which is not its "
                f"own pid ({gpid}), so sd_listen_fds() ignores LISTEN_FDS={gfds} there")
    # one accept queue: the three instances all answer
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(30, "before anything")
    victim = insts[1]
    os.kill(victim["pid"], signal.SIGKILL)
    h.wait_for(lambda: pids_of(c, "py").get(victim["name"]) not in (None, victim["pid"]), 20,
               f"{victim['name']} restarted")
    all_running(c, "py", 3)
    load.wait_served(30, "after the SIGKILL")
    judge(load, "SIGKILL of one instance", allow_inflight=1)

    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "before the restart")
    before = pids_of(c, "py")
    r = c.ctl("restart", "py")
    h.check_eq(r.returncode, 0, f"upkeepctl restart py: {r.stdout} {r.stderr}")
    h.wait_for(lambda: all(p and p != before[n] for n, p in pids_of(c, "py").items()), 30,
               "every instance replaced")
    all_running(c, "py", 3)
    load.wait_served(30, "after the restart")
    judge(load, "upkeepctl restart py")
    h.check(d.alive(), "upkeepd still running")


@h.test
def sockets_gunicorn(c):
    """gunicorn (2 sync workers each), three instances on one held socket shared with a Python
    server (both answer from its one queue): no refused connection and no error answer
    through a SIGKILL of one instance's master and through `upkeepctl restart`.  gunicorn takes the socket from LISTEN_FDS only when LISTEN_PID is its
    own pid, and is given no --bind: gunicorn 20.1 with both --bind fd://3 and LISTEN_FDS opens
    descriptor 3 twice and fails (EBADF)."""
    if not shutil.which("gunicorn"):
        raise h.TestSkip("gunicorn is not installed (Debian package gunicorn)")
    port = h.free_port()
    c.write("app.py", WSGI)
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + h.worker_block(
        "gu", f"gunicorn --workers 2 --chdir {c.dir} "
              f"--graceful-timeout 10 app:app",
        instances=3, sockets=["web"], stop_timeout="15s", start_secs="300ms") +
        python_worker(c, "py", "web", instances=1))
    d = c.start_daemon(c.path("upkeep.conf"))
    insts = all_running(c, "gu", 3)
    py = all_running(c, "py", 1)[0]

    def answers(n):
        """Who answered n requests: the pids in the bodies."""
        seen = set()
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
            seen.add(int(data.split(b"\r\n\r\n", 1)[1]))
        return seen
    # gunicorn and the Python server share the socket: both take connections from its queue
    seen = h.wait_for(lambda: (lambda w: w if py["pid"] in w and len(w) > 1 else None)(
        answers(100)), 20, "answers from gunicorn and from the Python server")
    h.check(py["pid"] in seen and len(seen - {py["pid"]}) >= 1,
            f"answers from the Python server ({py['pid']}) and gunicorn workers: {seen}")
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(30, "from gunicorn")
    os.kill(insts[0]["pid"], signal.SIGKILL)
    h.wait_for(lambda: pids_of(c, "gu").get(insts[0]["name"]) not in (None, insts[0]["pid"]),
               20, f"{insts[0]['name']} restarted")
    all_running(c, "gu", 3)
    load.wait_served(30, "after the SIGKILL")
    # each of the killed master's two workers may have had a request in hand
    judge(load, "gunicorn: SIGKILL of one master", allow_inflight=2)

    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "before the restart")
    before = pids_of(c, "gu")
    r = c.ctl("restart", "gu")
    h.check_eq(r.returncode, 0, f"upkeepctl restart gu: {r.stdout} {r.stderr}")
    h.wait_for(lambda: all(p and p != before[n] for n, p in pids_of(c, "gu").items()), 40,
               "every gunicorn replaced")
    all_running(c, "gu", 3)
    load.wait_served(30, "after the restart")
    judge(load, "gunicorn: upkeepctl restart")
    h.check(d.alive(), "upkeepd still running")


ASGI = """
import os
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif m["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""


@h.test
def sockets_uvicorn_unix(c):
    """Real uvicorn (Debian's python3-uvicorn), 3 instances given one held unix socket with
    `--fd {fd:web}` (uvicorn takes the descriptor as AF_UNIX): every instance answers from
    the one queue, and a load client on the socket sees no refused connection and no error
    answer through a rolling restart and a SIGKILL of one instance.  Cut connections are
    bounded, not zero: uvicorn 0.17 (Debian 12), told to stop, closes a connection it has
    accepted but whose request it has not read yet (Server.shutdown(), h11_impl shutdown()),
    which no supervisor can prevent; the client has one request at a time, so each stopped or
    killed uvicorn cuts at most one."""
    py = "/usr/bin/python3"
    if subprocess.run([py, "-c", "import uvicorn"], capture_output=True).returncode != 0:
        raise h.TestSkip(f"{py} cannot import uvicorn (Debian package python3-uvicorn)")
    sock = c.path("uv.sock")
    if len(sock) >= 100:
        raise h.TestSkip(f"temporary directory too long for a unix socket path: {sock}")
    c.write("asgiapp.py", ASGI)
    c.conf(listen_block("web", f"unix:{sock}") + h.worker_block(
        "uv", f"{py} -m uvicorn --fd {{fd:web}} --app-dir {c.dir} --no-access-log asgiapp:app",
        instances=3, sockets=["web"], stop_timeout="15s", start_secs="1s"))
    d = c.start_daemon(c.path("upkeep.conf"))
    insts = all_running(c, "uv", 3)
    pids = {i["pid"] for i in insts}

    def answer():
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(sock)
            s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        return int(data.split(b"\r\n\r\n", 1)[1])
    seen = set()
    h.wait_for(lambda: (seen.update(answer() for _ in range(30)), seen >= pids)[1], 20,
               f"answers from all three uvicorn processes {pids}")
    load = Load(c, sock)
    load.wait_served(30, "from uvicorn")
    r = c.ctl("restart", "uv")
    h.check("rolling" in r.stdout, f"a rolling restart: {r.stdout} {r.stderr}")
    h.wait_for(lambda: "uv: rolling restart done" in d.output(), 60, "the roll to end")
    after = all_running(c, "uv", 3)
    h.check(not pids & {i["pid"] for i in after}, "every uvicorn replaced")
    load.wait_served(30, "after the roll")
    judge(load, "uvicorn --fd on a unix socket: rolling restart", allow_inflight=3)

    load = Load(c, sock)
    load.wait_served(30, "before the SIGKILL")
    os.kill(after[1]["pid"], signal.SIGKILL)
    h.wait_for(lambda: pids_of(c, "uv").get("uv:1") not in (None, 0, after[1]["pid"]), 20,
               "uv:1 restarted")
    all_running(c, "uv", 3)
    load.wait_served(30, "after the SIGKILL")
    judge(load, "uvicorn --fd on a unix socket: SIGKILL of one", allow_inflight=1)
    h.check(d.alive(), "upkeepd still running")


@h.test
def sockets_address_in_use(c):
    """An address another process holds: --check-config exits 2 and upkeepd exits 1, both
    naming the address and the pid that holds it."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    c.closers.append(holder.close)
    port = holder.getsockname()[1]
    addr = f"tcp://127.0.0.1:{port}"
    conf = c.conf(listen_block("web", addr) + python_worker(c, "py", "web", instances=1))
    r = subprocess.run([h.UPKEEPD, "--check-config", "-c", conf], capture_output=True,
                       text=True, timeout=30)
    h.check_eq(r.returncode, 2, f"--check-config exit code (stderr {r.stderr!r})")
    for want in (addr, "in use", f"pid {os.getpid()}"):
        h.check(want in r.stderr, f"--check-config names {want!r}: {r.stderr!r}")
    d = c.start_daemon(conf, wait_ready=False)
    rc = d.wait(20)
    d.checked = True
    h.check_eq(rc, 1, "upkeepd's exit code when an address is in use")
    out = d.output()
    for want in (addr, "in use", f"pid {os.getpid()}"):
        h.check(want in out, f"upkeepd's error names {want!r}: {out[-500:]!r}")


@h.test
def sockets_config_errors(c):
    """A worker's sockets name listen sections, {fd:NAME} one of its sockets, an address is
    tcp://ADDRESS:PORT or unix:/PATH: each mistake is file:line with what was expected."""
    cases = (
        (listen_block("web", "tcp://127.0.0.1:80") +
         h.worker_block("w", "sleep 1", sockets=["nope"]), "no listen section 'nope'"),
        (listen_block("web", "tcp://127.0.0.1:80") +
         h.worker_block("w", "srv --fd {fd:api}", sockets=["web"]), "{fd:api} in command"),
        (listen_block("web", "tcp://localhost:80"), "invalid address 'tcp://localhost:80'"),
        (listen_block("web", "tcp://127.0.0.1:0"), "port from 1 to 65535"),
        (listen_block("web", "unix:run/app.sock"), "unix:/absolute/path"),
        (listen_block("web", "tcp://127.0.0.1:80", mode="0600"), "only with a unix: address"),
        (listen_block("web", "tcp://127.0.0.1:80", backlog=0), "backlog 0 is out of range"),
        ("listen web { backlog = 5 }\n", "'address' is missing"),
        (listen_block("web", "tcp://127.0.0.1:80") +
         h.worker_block("w", "sleep 1", sockets=["web", "web"]), "'web' twice"),
    )
    # without sockets, {fd:...} is the command's own text
    path = c.conf(h.worker_block("w", "echo {fd:x}"), name="plain.conf", logdir=c.path("never"))
    r = subprocess.run([h.UPKEEPD, "--check-config", "-c", path], capture_output=True,
                       text=True, timeout=30)
    h.check_eq(r.returncode, 0, f"{{fd:x}} in a worker without sockets: {r.stderr!r}")
    for k, (body, want) in enumerate(cases):
        path = c.conf(body, name=f"bad{k}.conf", logdir=c.path("never"))
        r = subprocess.run([h.UPKEEPD, "--check-config", "-c", path], capture_output=True,
                           text=True, timeout=30)
        h.check_eq(r.returncode, 2, f"case {k}: exit code (stderr {r.stderr!r})")
        h.check(want in r.stderr and f"bad{k}.conf:" in r.stderr and "expected" in r.stderr,
                f"case {k}: the error says {want!r} at file:line: {r.stderr!r}")


@h.test
def sockets_reload_and_unix(c):
    """A reload binds a new socket, rebinds only the one whose address changed (the other
    keeps its descriptor and never refuses a connection meanwhile) and closes a removed one;
    a unix: socket gets its mode, is served, and its file is removed when upkeepd stops."""
    p1, p2, p3 = h.free_port(), h.free_port(), h.free_port()
    upath = c.path("app.sock")

    def conf(second, with_unix):
        body = listen_block("a", f"tcp://127.0.0.1:{p1}") + python_worker(c, "wa", "a", 2)
        body += listen_block("b", f"tcp://127.0.0.1:{second}") + python_worker(c, "wb", "b", 1)
        if with_unix:
            body += listen_block("u", f"unix:{upath}", mode="0600") + \
                python_worker(c, "wu", "u", 1)
        return c.conf(body)

    conf(p2, False)
    d = c.start_daemon(c.path("upkeep.conf"))
    all_running(c, "wa", 2)
    all_running(c, "wb", 1)

    def listening_inode(port):
        """The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp, or None."""
        with open("/proc/net/tcp") as f:
            for ln in f.read().splitlines()[1:]:
                p = ln.split()
                if p[1].endswith(f":{port:04X}") and p[3] == "0A":
                    return p[9]
        return None
    a_inode, b_inode = listening_inode(p1), listening_inode(p2)
    h.check(a_inode and b_inode, "a and b listening")
    wa_before = pids_of(c, "wa")
    load = Load(c, ("127.0.0.1", p1))
    load.wait_served(10, "on a")
    conf(p3, True)
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    all_running(c, "wu", 1)
    all_running(c, "wb", 1)
    h.check_eq(pids_of(c, "wa"), wa_before, "wa, whose socket did not move, was not restarted")
    load.wait_served(10, "on a after the reload")
    judge(load, "socket a across a reload")

    def answers(addr):
        fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
        s = socket.socket(fam)
        s.settimeout(10)
        try:
            s.connect(addr)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return s.recv(100).startswith(b"HTTP/1.0 200")
        finally:
            s.close()
    h.wait_for(lambda: answers(("127.0.0.1", p3)), 10, "b served on its new port")
    try:
        answers(("127.0.0.1", p2))
        h.fail(f"the old address of b (port {p2}) still accepts connections")
    except ConnectionRefusedError:
        pass
    h.check(answers(upath), "the unix socket is served")
    h.check_eq(stat.S_IMODE(os.stat(upath).st_mode), 0o600, "the unix socket's mode")
    h.check_eq(listening_inode(p1), a_inode, "a's socket, unchanged by the reload, is the same")
    h.check_eq(listening_inode(p2), None, "b's old socket is closed")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit")
    h.check(not os.path.exists(upath), "the unix socket file is removed when upkeepd stops")


def roll_lines(d):
    return [ln for ln in d.output().splitlines() if "rolling restart" in ln or "-> RUNNING" in ln]


@h.test
def rolling_restart_one_at_a_time(c):
    """`upkeepctl restart py` on 3 instances behind a held socket replaces them one at a time:
    the next is stopped only once the previous replacement is RUNNING, status shows the roll,
    and a load client sees no error at all; --all-at-once restarts them together."""
    port = h.free_port()
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + python_worker(c, "py", "web"))
    d = c.start_daemon(c.path("upkeep.conf"))
    all_running(c, "py", 3)
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "before the roll")
    before = pids_of(c, "py")
    r = c.ctl("restart", "py")
    h.check_eq(r.returncode, 0, f"upkeepctl restart py: {r.stdout} {r.stderr}")
    h.check("rolling" in r.stdout, f"the answer says the restart rolls: {r.stdout!r}")
    seen = h.wait_for(lambda: (lambda o: o if "rolling:" in o else None)(
        c.ctl("status").stdout), 10, "status to show the roll")
    h.check("py: rolling: " in seen, f"status shows the roll: {seen!r}")
    h.wait_for(lambda: "rolling restart done" in d.output(), 30, "the roll to end")
    after = all_running(c, "py", 3)
    h.check(all(i["pid"] != before[i["name"]] for i in after), "every instance replaced")
    judge(load, "rolling restart of 3 instances")
    # the log: each replacement RUNNING before the next is stopped
    lines = roll_lines(d)
    order = []
    for ln in lines:
        for k in range(3):
            if f"py:{k}: rolling restart {k + 1}/3" in ln:
                order.append(("begin", k))
            if f"py:{k}: STARTING -> RUNNING" in ln and ("begin", k) in order:
                order.append(("ready", k))
    want = [("begin", 0), ("ready", 0), ("begin", 1), ("ready", 1), ("begin", 2), ("ready", 2)]
    h.check_eq(order, want, "one instance at a time, each ready before the next")
    h.check("rolling:" not in c.ctl("status").stdout, "status no longer shows a roll")

    before = pids_of(c, "py")
    r = c.ctl("restart", "py", "--all-at-once")
    h.check_eq(r.returncode, 0, f"restart --all-at-once: {r.stdout} {r.stderr}")
    h.check("restarted" in r.stdout and "rolling" not in r.stdout,
            f"--all-at-once restarts every instance at once: {r.stdout!r}")
    h.wait_for(lambda: all(p and p != before[n] for n, p in pids_of(c, "py").items()), 20,
               "every instance replaced")
    h.check(d.alive(), "upkeepd still running")


@h.test
def rolling_restart_pauses(c):
    """A replacement that never becomes healthy (503) pauses the roll after ready-timeout with
    the other instances still serving (no error for the load client); status says
    `rolling: paused at 1/3 (py:0 not healthy: 503)`; --continue goes on to the next (which
    pauses again), --abort ends the roll with 3 instances still there."""
    port = h.free_port()
    bad = c.path("unhealthy")
    cmd = (f"python3 {server(c)} {{fd:web}} {c.path('py-env-%i')} {c.path('h-%i.sock')} {bad}")
    block = h.worker_block("py", cmd, instances=3, sockets=["web"], stop_timeout="10s")
    block = block.rstrip().rstrip("}") + (
        f"    health {{\n        url = {h.q('unix:' + c.path('h-%i.sock') + ':/health')}\n"
        f"        start-interval = 100ms\n        interval = 1s\n        failures = 1000\n"
        f"    }}\n    rolling {{ ready-timeout = 2s }}\n}}\n")
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + block)
    d = c.start_daemon(c.path("upkeep.conf"))
    all_running(c, "py", 3)
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "before the roll")
    with open(bad, "w") as f:
        f.write("replacements answer 503\n")
    r = c.ctl("restart", "py")
    h.check_eq(r.returncode, 0, f"upkeepctl restart py: {r.stdout} {r.stderr}")
    want = "py: rolling: paused at 1/3 (py:0 not healthy: 503)"
    h.wait_for(lambda: want in c.ctl("status").stdout, 20, f"status to say {want!r}")
    h.wait_for(lambda: "alert critical: rolling restart paused at 1/3 (py:0 not healthy: 503)"
               in d.output(), 10, "the alert of the paused roll")
    h.check_eq(c.status("py")["workers"][0].get("rolling"),
               "paused at 1/3 (py:0 not healthy: 503)", "status --json: rolling")
    load.wait_served(20, "while the roll is paused")
    insts = {i["name"]: i for i in c.status()["workers"][0]["instances"]}
    h.check(insts["py:1"]["state"] == "RUNNING" and insts["py:2"]["state"] == "RUNNING",
            f"the old instances keep running: {insts}")
    r = c.ctl("restart", "py", "--continue")
    h.check_eq(r.returncode, 0, f"--continue: {r.stdout} {r.stderr}")
    want = "py: rolling: paused at 2/3 (py:1 not healthy: 503)"
    h.wait_for(lambda: want in c.ctl("status").stdout, 20, f"status to say {want!r}")
    r = c.ctl("restart", "py", "--abort")
    h.check_eq(r.returncode, 0, f"--abort: {r.stdout} {r.stderr}")
    h.wait_for(lambda: "alert resolved: rolling restart aborted" in d.output(), 10,
               "the alert resolved by --abort")
    h.check("rolling:" not in c.ctl("status").stdout, "no roll after --abort")
    insts = c.status()["workers"][0]["instances"]
    h.check_eq(len(insts), 3, "three instances after --abort")
    h.check_eq(insts[2]["state"], "RUNNING", "py:2, never begun, runs on")
    r = c.ctl("restart", "py", "--abort")
    h.check(r.returncode != 0 and "no rolling restart" in (r.stdout + r.stderr),
            f"--abort without a roll is an error: {r.returncode} {r.stdout} {r.stderr}")
    judge(load, "a paused roll")
    h.check(d.alive(), "upkeepd still running")


@h.test
def rolling_reload_changed_command(c):
    """A reload that changes the command of a worker of 3 instances rolls it (one at a time,
    each replacement RUNNING before the next) instead of stopping them all: the load client
    sees no error, and every instance runs the new command."""
    port = h.free_port()

    def conf(version):
        body = python_worker(c, "py", "web")
        if version == 2:  # the same server, under another command line
            body = body.replace('"python3 ', '"python3 -B ')
        c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + body)
    conf(1)
    d = c.start_daemon(c.path("upkeep.conf"))
    before = pids_of(c, "py")
    all_running(c, "py", 3)
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "before the reload")
    for k in range(3):
        os.unlink(c.path(f"py-env-{k}"))
    conf(2)
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    h.wait_for(lambda: "py: rolling restart done" in d.output(), 30, "the roll to end")
    after = all_running(c, "py", 3)
    h.check(all(i["pid"] != before[i["name"]] for i in after), "every instance replaced")
    for k in range(3):
        env = h.wait_for(lambda: (lambda p: read_env(p) if os.path.exists(p) else None)(
            c.path(f"py-env-{k}")), 10, f"the environment of py:{k}")
        h.check_eq(env.get("pid"), str(after[k]["pid"]), f"py:{k} wrote its environment")
    out = d.output()
    h.check("py: process settings changed, rolling restart" in out, "the reload rolls py")
    starts = [ln for ln in out.splitlines() if "rolling restart " in ln and "/3" in ln]
    h.check_eq(len(starts), 3, f"three steps: {starts}")
    judge(load, "reload with a changed command")


@h.test
def rolling_reload_abort_rolls_back(c):
    """A reload changes the command of 3 instances to one that never becomes healthy (503): the
    roll pauses at the first; `restart py --abort` puts the worker back on its previous
    settings and rolls that instance back onto the old command, the two never begun are left
    alone, all 3 serve, and the load client sees no error.  The worker keeps the old settings:
    reloading the old file changes nothing."""
    port = h.free_port()

    def conf(version):
        bad = c.path("unhealthy") if version == 2 else c.path("never-there")
        cmd = (f"python3 {server(c)} {{fd:web}} {c.path('py-env-%i')} {c.path('h-%i.sock')} "
               f"{bad}")
        block = h.worker_block("py", cmd, instances=3, sockets=["web"], stop_timeout="10s")
        block = block.rstrip().rstrip("}") + (
            f"    health {{\n        url = {h.q('unix:' + c.path('h-%i.sock') + ':/health')}\n"
            f"        start-interval = 100ms\n        interval = 1s\n        failures = 1000\n"
            f"    }}\n    rolling {{ ready-timeout = 2s }}\n}}\n")
        c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + block)
    with open(c.path("unhealthy"), "w") as f:
        f.write("the new command answers 503\n")
    conf(1)
    d = c.start_daemon(c.path("upkeep.conf"))
    all_running(c, "py", 3)
    before = pids_of(c, "py")
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "before the reload")
    conf(2)
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    h.check("restarted" in r.stdout and "py" in r.stdout, f"the reload rolls py: {r.stdout!r}")
    want = "py: rolling: paused at 1/3 (py:0 not healthy: 503)"
    h.wait_for(lambda: want in c.ctl("status").stdout, 20, f"status to say {want!r}")
    h.check(read_env(c.path("py-env-0"))["argv"].endswith(c.path("unhealthy")),
            "py:0 was replaced by the new command")
    r = c.ctl("restart", "py", "--abort")
    h.check_eq(r.returncode, 0, f"--abort: {r.stdout} {r.stderr}")
    h.check("rolling back to the previous settings" in r.stdout,
            f"the answer says it rolls back: {r.stdout!r}")
    h.wait_for(lambda: "py: rolling back done, 1 instances on the previous settings"
               in d.output(), 30, "the roll back to end")
    h.check("alert resolved: rolling restart aborted" in d.output(), "the alert resolved")
    after = all_running(c, "py", 3)
    pids = {i["name"]: i["pid"] for i in after}
    h.check(pids["py:0"] not in (before["py:0"], 0), "py:0 restarted once more")
    h.check_eq((pids["py:1"], pids["py:2"]), (before["py:1"], before["py:2"]),
               "py:1 and py:2, never begun, were not touched")
    env = h.wait_for(lambda: (lambda e: e if e.get("pid") == str(pids["py:0"]) else None)(
        read_env(c.path("py-env-0"))), 10, "py:0's environment")
    h.check(env["argv"].endswith(c.path("never-there")), f"py:0 back on the old command: {env}")
    h.check("rolling:" not in c.ctl("status").stdout, "no roll left")
    load.wait_served(20, "after the roll back")
    # the worker runs the old settings: the old file again is no change of process settings
    conf(1)
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload of the old file: {r.stdout} {r.stderr}")
    h.check("restarted" not in r.stdout and "py" not in r.stdout,
            f"the old settings are the worker's: reloading them restarts nothing: {r.stdout!r}")
    h.check("rolling:" not in c.ctl("status").stdout, "no roll after the second reload")
    h.check_eq(pids_of(c, "py"), pids, "no instance restarted by the second reload")
    judge(load, "a reload rolled back by --abort")
    h.check(d.alive(), "upkeepd still running")


@h.test
def rolling_surge(c):
    """rolling { surge = 1 }: a spare instance (py:3) starts and is RUNNING before any of the
    3 is restarted, shares the held socket meanwhile, and stops once the roll is done: sampled
    all through the roll, status never shows fewer than 3 RUNNING instances nor more than 4
    processes, and the load client sees no error.  Outside a roll the spare is not there."""
    port = h.free_port()
    block = python_worker(c, "py", "web")
    block = block.rstrip().rstrip("}") + "    rolling { surge = 1  max-unavailable = 1 }\n}\n"
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + block)
    d = c.start_daemon(c.path("upkeep.conf"))
    all_running(c, "py", 3)
    before = pids_of(c, "py")
    h.check_eq(sorted(before), ["py:0", "py:1", "py:2"], "no spare outside a roll")
    r = c.ctl("start", "py")
    h.check_eq(sorted(pids_of(c, "py")), ["py:0", "py:1", "py:2"],
               f"start py does not start the spare: {r.stdout}")
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "before the roll")
    r = c.ctl("restart", "py")
    h.check_eq(r.returncode, 0, f"upkeepctl restart py: {r.stdout} {r.stderr}")
    samples, least, most, spare_seen = 0, 99, 0, False
    deadline = time.monotonic() + 40
    while "py: rolling restart done" not in d.output():
        h.check(time.monotonic() < deadline, "the roll to end within 40 s")
        insts = [i for w in c.status()["workers"] if w["name"] == "py" for i in w["instances"]]
        samples += 1
        least = min(least, sum(i["state"] == "RUNNING" for i in insts))
        most = max(most, sum(1 for i in insts if i["pid"]))
        spare_seen = spare_seen or any(i["name"] == "py:3" for i in insts)
    print(f"    {samples} status samples: at least {least} RUNNING, at most {most} processes",
          flush=True)
    h.check(samples >= 5, f"status sampled during the roll ({samples} samples)")
    h.check(least >= 3, f"never fewer than 3 instances RUNNING during the roll (saw {least})")
    h.check(most <= 4, f"at most 4 processes (3 + the spare) during the roll (saw {most})")
    h.check(spare_seen, "status showed the spare py:3 during the roll")
    out = d.output()
    h.check(out.index("py:3: rolling restart: the spare starts first") <
            out.index("py:0: rolling restart 1/3"), "the spare starts before py:0 restarts")
    h.check(out.index("py:3: STARTING -> RUNNING") < out.index("py:0: rolling restart 1/3"),
            "the spare is RUNNING before py:0 restarts")
    h.wait_for(lambda: sorted(pids_of(c, "py")) == ["py:0", "py:1", "py:2"], 20,
               "the spare gone after the roll")
    after = all_running(c, "py", 3)
    h.check(all(i["pid"] != before[i["name"]] for i in after), "every instance replaced")
    judge(load, "rolling restart with surge = 1")
    h.check(d.alive(), "upkeepd still running")


@h.test
def rolling_restart_every(c):
    """restart-every = 3s: nothing is restarted at start-up, then the worker of 2 instances is
    rolled (and a worker of one restarted) about every 3 s (jitter of up to 10% shorter), with
    no error for the load client."""
    port = h.free_port()
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") +
           python_worker(c, "py", "web", instances=2, restart_every="3s") +
           h.worker_block("one", "sleep 1000", restart_every="3s", start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    all_running(c, "py", 2)
    first = {**pids_of(c, "py"), **pids_of(c, "one")}
    load = Load(c, ("127.0.0.1", port))
    h.wait_for(lambda: "py: rolling restart done" in d.output(), 15, "the scheduled roll")
    h.wait_for(lambda: all(p and p != first[n] for n, p in
                           {**pids_of(c, "py"), **pids_of(c, "one")}.items()), 15,
               "every instance replaced by the schedule")
    h.check("one: restart-every: scheduled restart" in d.output(), "one restarted on schedule")
    # not at start-up: the first of each is due 2.7 s to 3 s after upkeepd set its timers, a
    # moment before it logs that it started
    lines = d.output().splitlines()

    def at(ln):
        return datetime.datetime.fromisoformat(ln.split()[0]).timestamp()
    start = at(next(ln for ln in lines if " started with " in ln))
    for w in ("py", "one"):
        due = at(next(ln for ln in lines if f"{w}: restart-every: scheduled restart" in ln))
        h.check(2.5 <= due - start <= 3.3, f"{w}'s first scheduled restart {due - start:.3f} s "
                f"after upkeepd started, expected 2.7 to 3 s")
    all_running(c, "py", 2)
    load.wait_served(10, "after the scheduled roll")
    judge(load, "restart-every")


@h.test
def reload_worker_signal(c):
    """reload-signal = HUP: `upkeepctl reload-worker py` sends it to each instance's process
    (which stays the same process); a worker without reload-signal answers an error."""
    port = h.free_port()
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") +
           python_worker(c, "py", "web", instances=2, reload_signal="HUP") +
           h.worker_block("plain", "sleep 1000", start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    insts = all_running(c, "py", 2)
    for i in insts:  # the handler is set before the environment is written
        h.wait_for(lambda: os.path.exists(c.path(f"py-env-{i['index']}")), 10, "py ready")
    r = c.ctl("reload-worker", "py")
    h.check_eq((r.returncode, r.stdout), (0, "py:0: signalled\npy:1: signalled\n"),
               "reload-worker py")
    for i in insts:
        got = h.wait_for(lambda: (lambda p: open(p).read() if os.path.exists(p) else None)(
            c.path(f"py-env-{i['index']}.hup")), 10, f"{i['name']} to get SIGHUP")
        h.check_eq(got.split(), [str(i["pid"])], f"{i['name']}: SIGHUP to its own process")
    h.check_eq(pids_of(c, "py"), {i["name"]: i["pid"] for i in insts}, "no process replaced")
    r = c.ctl("reload-worker", "plain")
    h.check(r.returncode != 0 and "no reload-signal configured" in r.stdout + r.stderr,
            f"reload-worker without reload-signal: {r.returncode} {r.stdout} {r.stderr}")
    h.check(d.alive(), "upkeepd still running")


STDIN_SERVER = r'''
import socket
s = socket.socket(fileno=0)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c.close()
'''


@h.test
def fcgi_program_import(c):
    """A supervisord.conf [fcgi-program:x] with socket= runs as a worker whose processes get
    the socket upkeepd holds as standard input (as supervisord passes it), shared by its
    numprocs; --convert shows the listen section and stdin-socket."""
    port = h.free_port()
    srv = c.write("stdin_server.py", STDIN_SERVER)
    conf = c.write("supervisord.conf", f"""[unix_http_server]
file={c.sock}

[supervisord]
logfile={c.path('svd.log')}

[fcgi-program:app]
command=python3 {srv}
socket=tcp://localhost:{port}
socket_backlog=64
process_name=%(program_name)s_%(process_num)s
numprocs=2
startsecs=0
stdout_logfile={c.path('app.log')}
""")
    r = subprocess.run([h.UPKEEPD, "--convert", conf], capture_output=True, text=True,
                       timeout=30)
    h.check_eq(r.returncode, 0, f"--convert: {r.stderr}")
    for want in ("listen app {", f'address = "tcp://127.0.0.1:{port}"', "backlog = 64",
                 'stdin-socket = "app"', "instances    = 2"):
        h.check(want in r.stdout, f"--convert has {want!r}: {r.stdout}")
    h.check("fcgi" not in r.stderr.lower(), f"no warning about the section: {r.stderr!r}")
    d = c.start_daemon(conf)
    all_running(c, "app", 2)
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "from the fcgi-program's processes")
    victim = pids_of(c, "app")["app:0"]
    os.kill(victim, signal.SIGKILL)
    h.wait_for(lambda: pids_of(c, "app").get("app:0") not in (None, victim), 20,
               "app:0 restarted")
    load.wait_served(20, "after the SIGKILL")
    judge(load, "fcgi-program behind its held socket", allow_inflight=1)
    h.check(d.alive(), "upkeepd still running")


@h.test
def sockets_after_killed_upkeepd(c):
    """upkeepd killed with SIGKILL leaves its workers running, holding the socket: the next
    upkeepd finds the address in use by them, stops them (state file) and only then binds it
    and starts fresh workers, which serve."""
    port = h.free_port()
    c.conf(listen_block("web", f"tcp://127.0.0.1:{port}") + python_worker(c, "py", "web", 2))
    d = c.start_daemon(c.path("upkeep.conf"))
    old = [i["pid"] for i in all_running(c, "py", 2)]
    h.wait_for(lambda: os.path.exists(c.path("upkeep.state")), 10, "the state file")
    d.send(signal.SIGKILL)
    d.wait(10)
    d.checked = True
    h.check(all(h.pid_alive(p) for p in old), "the workers outlived upkeepd")
    d2 = c.start_daemon(c.path("upkeep.conf"), name="upkeepd2")
    h.wait_for(lambda: all(h.pid_gone(p) for p in old), 20, "the leftovers stopped")
    new = all_running(c, "py", 2)
    h.check(not set(old) & {i["pid"] for i in new}, "fresh workers")
    load = Load(c, ("127.0.0.1", port))
    load.wait_served(20, "from the fresh workers")
    judge(load, "after a killed upkeepd")
    out = d2.output()
    h.check("trying again once what a previous upkeepd left is stopped" in out and
            "listen web: holding" in out, f"bound after the recovery: {out[-800:]}")
    h.check(d2.alive(), "upkeepd still running")
