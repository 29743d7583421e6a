"""
Dependencies between workers (`after`, `type = oneshot`): an instance starts only once what it
comes after is ready, waits (WAITING, with the reason) while it is not, and stops only once
what comes after it is down.  Each worker writes a line to a file of the test when it is
exec'd and when it gets SIGTERM, so the order is the one the processes saw.
"""
import os
import re
import subprocess
import time

import __main__ as h


def marking(c, name, run="sleep 300 & wait"):
    """A shell worker that writes 'start NAME' when exec'd and 'stop NAME' on SIGTERM."""
    log = c.path("order")
    return (f"sh -c 'echo start {name} >> {log}; "
            f"trap \"echo stop {name} >> {log}; exit 0\" TERM; {run}'")


def order(c):
    try:
        with open(c.path("order")) as f:
            return f.read().split("\n")[:-1]
    except FileNotFoundError:
        return []


def chain(c, migrate="sleep 0.3", **extra):
    """migrate (oneshot) -> api -> worker, written worker first so the order is the graph's."""
    log = c.path("order")
    return (h.worker_block("worker", marking(c, "worker"), after=["api"], start_secs="200ms",
                           stop_timeout="5s") +
            h.worker_block("api", marking(c, "api"), after=["migrate"], start_secs="200ms",
                           stop_timeout="5s", **extra) +
            h.worker_block("migrate", f"sh -c 'echo start migrate >> {log}; {migrate}'",
                           type="oneshot", start_secs="100ms",
                           restart=dict(backoff="300ms", factor=1, jitter="0%")))


@h.test
def deps_chain_order(c):
    """migrate (a oneshot) runs to completion before api is exec'd, api is RUNNING before
    worker is exec'd; at shutdown worker gets its SIGTERM before api does."""
    c.conf(chain(c))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("worker", "RUNNING")
    c.wait_state("api", "RUNNING")
    m = c.wait_state("migrate", "EXITED")
    h.check_eq((m["last_exit"], m["restarts"]), ({"code": 0}, 0), "migrate exited 0, not restarted")
    h.wait_for(lambda: len(order(c)) >= 3, 5, "three lines written")
    h.check_eq(order(c), ["start migrate", "start api", "start worker"], "exec order")
    for name in ("api", "worker"):
        h.check(f"{name}: STOPPED -> WAITING" in d.output(), f"{name} waited first")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
    h.check_eq([ln for ln in order(c) if ln.startswith("stop")], ["stop worker", "stop api"],
               "stop order at shutdown")


@h.test
def deps_failing_migrate_keeps_api_waiting(c):
    """A migrate that fails goes through its restart policy; api waits, is never exec'd, and
    says what it waits for and why."""
    c.conf(chain(c, migrate="exit 3"))
    d = c.start_daemon(c.path("upkeep.conf"), wait_ready=True)

    def waiting_reason():
        i = c.inst("api")
        return i if i["state"] == "WAITING" and \
            re.fullmatch(r"waiting for migrate \((BACKOFF, retry in [0-9.]+m?s|STARTING)\)",
                         i["reason"] or "") and "BACKOFF" in i["reason"] else None
    h.wait_for(waiting_reason, 10, "api waiting for migrate in BACKOFF")
    h.hold_for(lambda: c.inst("api")["state"] == "WAITING" and c.inst("api")["pid"] is None,
               1.5, "api WAITING, no process")
    h.check(c.inst("migrate")["restarts"] >= 2, "migrate restarted through backoff")
    h.check("start api" not in order(c), f"api never exec'd: {order(c)}")
    r = c.ctl("status")
    h.check("waiting for migrate (" in r.stdout, f"upkeepctl status shows the reason:\n{r.stdout}")
    r = c.ctl("start", "api")
    h.check_eq(r.stdout.strip(), "api: waiting", "an operator's start of api says it waits")
    h.check_eq(c.inst("api")["state"], "WAITING", "api still waits")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM (nothing waits on)")


@h.test
def deps_stop_all_reverse(c):
    """upkeepctl stop all stops worker, then api (which waits for worker to be down), in
    configuration order the other way round; a stop of api alone stops api only."""
    c.conf(h.worker_block("api", marking(c, "api"), start_secs="100ms", stop_timeout="5s") +
           h.worker_block("worker", marking(c, "worker", "sleep 0.3; sleep 300 & wait"),
                          after=["api"], start_secs="100ms", stop_timeout="5s"))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("worker", "RUNNING")
    # worker takes 0.3 s to stop if its trap runs during the first sleep: api must wait
    r = c.ctl("stop", "all")
    h.check_eq(r.returncode, 0, f"stop all: {r.stdout} {r.stderr}")
    c.wait_state("api", "STOPPED")
    c.wait_state("worker", "STOPPED")
    h.check_eq([ln for ln in order(c) if ln.startswith("stop")], ["stop worker", "stop api"],
               "stop order")
    r = c.ctl("start", "all")
    c.wait_state("worker", "RUNNING")
    pid = c.inst("worker")["pid"]
    r = c.ctl("stop", "api")
    c.wait_state("api", "STOPPED")
    h.check_eq(c.inst("worker")["pid"], pid, "worker runs on when api alone is stopped")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_graph_errors(c):
    """A cycle, a self-dependency, an unknown name and a bad condition are refused by
    --check-config with file:line, and the cycle named."""
    def check(body, line, words):
        path = c.conf(body, name="bad.conf")
        r = subprocess.run([h.UPKEEPD, "--check-config", "-c", path], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        h.check_eq(r.returncode, 2, f"--check-config exit for {words}: {r.stderr}")
        h.check(r.stderr.startswith(f"{path}:{line}: ") or
                r.stderr.startswith(f"bad.conf:{line}: "),
                f"error at line {line}: {r.stderr!r}")
        for w in words:
            h.check(w in r.stderr, f"{w!r} in {r.stderr!r}")
    # the header c.conf writes is 3 lines: the worker blocks begin at line 4
    check(h.worker_block("a", "true", after=["b"]) + h.worker_block("b", "true", after=["c"]) +
          h.worker_block("c", "true", after=["a"]), 6, ["dependency cycle", "a after b after c after a"])
    check(h.worker_block("a", "true", after=["a:started"]), 6, ["'a'", "itself"])
    check(h.worker_block("a", "true", after=["nope"]), 6, ["'nope'", "not configured"])
    check(h.worker_block("a", "true", after=["b:done"]) + h.worker_block("b", "true"), 6,
          ["'b:done'", "unknown or repeated condition", "completed"])
    check(h.worker_block("a", "true", type="forking"), 6, ["unknown type", "oneshot"])
    check(h.worker_block("a", "true", ready="log:a(b"), 6, ["invalid pattern", "missing closing"])
    check(h.worker_block("a", "true", ready="fd:2"), 6, ["'fd:2'", "fd:N (N from 3 to 255)"])
    check(h.worker_block("a", "true", ready="healthy"), 7, ["without a health section"])
    check(h.worker_block("a", "true", watchdog="1s"), 7, ["watchdog without ready = notify"])
    path = c.conf(chain(c), name="good.conf")
    r = subprocess.run([h.UPKEEPD, "--check-config", "-c", path], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    h.check_eq(r.returncode, 0, f"a chain is valid: {r.stderr}")


@h.test
def deps_reload(c):
    """A reload that changes `after` keeps the running workers (same pid); a WAITING worker
    whose dependency is removed starts; one added to a running worker never stops it."""
    def conf(x_after, y_after):
        c.conf(h.worker_block("gate", "sleep 300", autostart=False) +
               h.worker_block("x", marking(c, "x"), start_secs="100ms", after=x_after) +
               h.worker_block("y", marking(c, "y"), start_secs="100ms", after=y_after))
    conf(["gate"], [])
    d = c.start_daemon(c.path("upkeep.conf"), wait_ready=True)
    y = c.wait_state("y", "RUNNING")
    h.check_eq(c.wait_state("x", "WAITING")["reason"], "waiting for gate (STOPPED)",
               "x waits for gate")
    conf(["y:started"], ["gate"])
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    c.wait_state("x", "RUNNING")
    h.hold_for(lambda: c.inst("y")["pid"] == y["pid"], 0.5, "y runs on, same process")
    h.check("restarted" not in r.stdout or "y" not in r.stdout.split("restarted")[1][:40],
            f"y not restarted by the reload: {r.stdout}")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_wait_timeout(c):
    """Waiting longer than wait-timeout is said (log and the wait-timeout event, which alert
    rules count) and kills nothing: it waits on, and starts when the dependency is ready."""
    c.conf(h.worker_block("gate", "sleep 300", autostart=False, start_secs="100ms") +
           h.worker_block("x", "sleep 300", after=["gate"], wait_timeout="300ms",
                          start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"), wait_ready=True)

    def counted():
        st = c.status()
        w = next(w for w in st["workers"] if w["name"] == "x")
        return w if w["events"]["wait-timeout"]["total"] >= 1 else None
    h.wait_for(counted, 5, "a wait-timeout event")
    h.check("x: still waiting for its dependencies after 300ms" in d.output(),
            "the wait-timeout in upkeepd's log")
    h.check_eq(c.inst("x")["state"], "WAITING", "x still waits")
    c.ctl("start", "gate")
    c.wait_state("x", "RUNNING")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


# ---------------------------------------------------------------------------------------------
# readiness told by the process: ready = notify, fd:N

NOTIFIER = r'''
import os, socket, sys, time
''' + h.NOTIFY_SEND_PY + r'''
gate = sys.argv[1]
while not os.path.exists(gate):
    time.sleep(0.02)
for step in sys.argv[2:]:
    if step.startswith("sleep:"):
        time.sleep(float(step[6:]))
    else:
        send(step.replace("%MYPPID%", str(os.getppid())).replace("\\n", "\n"))
time.sleep(300)
'''


def notifier(c, *steps, gate="gate"):
    """A worker that waits for the file `gate`, then sends each step (or sleeps)."""
    script = c.write("notifier.py", NOTIFIER)
    return " ".join(["/usr/bin/python3", script, c.path(gate)] + [f"'{s}'" for s in steps])


def send_to(sock_env, text):
    addr = sock_env
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(text.encode(), addr)
    s.close()


def worker_env(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.split("=", 1) for kv in f.read().decode().split("\0") if "=" in kv)


@h.test
def deps_redis_notify(c):
    """A real redis-server --supervised systemd is ready = notify: a worker after it is not
    started before its READY=1 and is started right after it; redis's STATUS= is in status."""
    port = h.free_port()
    c.conf(h.worker_block("redis", f"redis-server --supervised systemd --port {port} "
                          "--bind 127.0.0.1 --save '' --appendonly no", ready="notify",
                          ready_timeout="20s", directory=c.dir) +
           h.worker_block("api", marking(c, "api"), after=["redis"], start_secs=0))
    d = c.start_daemon(c.path("upkeep.conf"))
    redis = c.wait_state("redis", "RUNNING", timeout=20)
    api = c.wait_state("api", "RUNNING")
    # (redis rewrites its environment for its process title: its STATUS= shows it was heard)
    h.check("ready" in (c.inst("redis")["notify_status"] or "").lower(),
            f"redis's STATUS= in status: {c.inst('redis')['notify_status']!r}")
    out = d.output()
    order_ = [ln for ln in out.splitlines() if "redis: STARTING -> RUNNING" in ln or
              "api: WAITING -> STARTING" in ln]
    h.check(len(order_) == 2 and "redis" in order_[0],
            f"api started after redis's READY=1:\n{out}")
    h.check(api["pid"] > redis["pid"], "api spawned after redis")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_gunicorn_notify(c):
    """A real gunicorn (>= 20 speaks sd_notify) with ready = notify becomes RUNNING on its
    READY=1, and answers HTTP by then."""
    port = h.free_port()
    c.write("app.py", "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [b'hello']\n")
    c.conf(h.worker_block("web", f"gunicorn --bind 127.0.0.1:{port} --workers 1 app:app",
                          ready="notify", ready_timeout="30s", directory=c.dir,
                          start_secs="30s"))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("web", "RUNNING", timeout=30)
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        h.check_eq(r.read(), b"hello", "gunicorn answers once RUNNING")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_notify_foreign_and_ready(c):
    """READY=1 from a process outside the instance is ignored (and logged); the worker's own
    READY=1 makes it RUNNING, its STATUS= is shown; MAINPID= naming a foreign pid is refused."""
    c.conf(h.worker_block("n", notifier(c, "STATUS=warming up", "sleep:0.1",
                                        f"MAINPID={os.getpid()}", "READY=1\\nSTATUS=serving",
                                        "sleep:1", "RELOADING=1", "sleep:1", "READY=1"),
                          ready="notify", ready_timeout="30s"))
    d = c.start_daemon(c.path("upkeep.conf"))
    i = c.wait_state("n", "STARTING")
    sock = worker_env(i["pid"])["NOTIFY_SOCKET"]
    send_to(sock, "READY=1\nSTATUS=forged")
    h.wait_for(lambda: "not a process of this instance" in d.output(), 5,
               "the foreign message logged")
    h.hold_for(lambda: c.inst("n")["state"] == "STARTING", 0.5, "n still STARTING")
    h.check(c.inst("n")["notify_status"] is None, "the forged STATUS= is not shown")
    with open(c.path("gate"), "w"):
        pass
    h.wait_for(lambda: c.inst("n")["notify_status"] == "warming up", 5, "STATUS= shown")
    n = c.wait_state("n", "RUNNING")
    h.check_eq(n["notify_status"], "serving", "the last STATUS=")
    h.check_eq(n["pid"], i["pid"], "the main pid is still the one upkeepd started")
    h.wait_for(lambda: c.inst("n")["notify_status"] == "reloading", 5, "RELOADING=1 shown")
    h.wait_for(lambda: c.inst("n")["notify_status"] == "serving", 5, "READY=1 ends reloading")
    h.check_eq(c.inst("n")["state"], "RUNNING", "RUNNING throughout")
    h.check(f"MAINPID={os.getpid()} refused" in d.output(), f"MAINPID refused:\n{d.output()}")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_notify_watchdog(c):
    """A worker that stops sending WATCHDOG=1 is restarted once its watchdog elapses, counted as
    a timeout event; WATCHDOG_USEC is in its environment."""
    c.write("gate", "")
    c.conf(h.worker_block("w", notifier(c, "READY=1", "sleep:0.2", "WATCHDOG=1", "sleep:0.2",
                                        "WATCHDOG=1"),
                          ready="notify", watchdog="700ms",
                          restart=dict(backoff="200ms", factor=1, jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"))
    first = c.wait_state("w", "RUNNING")
    env = worker_env(first["pid"])
    h.check_eq((env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")), ("700000", str(first["pid"])),
               "WATCHDOG_USEC and WATCHDOG_PID")
    # alive past one watchdog period thanks to the pings, then restarted
    h.hold_for(lambda: c.inst("w")["pid"] == first["pid"], 0.6, "pings keep it running")
    h.wait_for(lambda: c.inst("w")["restarts"] >= 1, 5, "a restart after the watchdog")
    h.check("watchdog timeout" in d.output(), "the watchdog named in the log")
    st = c.status()
    w = next(w for w in st["workers"] if w["name"] == "w")
    h.check(w["events"]["timeout"]["total"] >= 1, f"a timeout event: {w['events']['timeout']}")
    h.check(h.pid_gone(first["pid"]) or not h.pid_alive(first["pid"]), "the old process is gone")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_ready_fd_and_timeout(c):
    """ready = fd:3: RUNNING only once a line is written to fd 3, and a worker after it starts
    then; one that never writes it fails its start after ready-timeout, through backoff."""
    gate = c.path("gate")
    c.conf(h.worker_block("f", f"sh -c 'while [ ! -e {gate} ]; do sleep 0.02; done; "
                          "echo ready >&3; exec sleep 300'", ready="fd:3") +
           h.worker_block("after_f", marking(c, "after_f"), after=["f"], start_secs=0) +
           h.worker_block("never", "sleep 300", ready="fd:3", ready_timeout="300ms",
                          restart=dict(backoff="300ms", factor=1, jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"))
    h.hold_for(lambda: c.inst("f")["state"] == "STARTING" and
               c.inst("after_f")["state"] == "WAITING", 0.5, "f STARTING until its line")
    with open(gate, "w"):
        pass
    c.wait_state("f", "RUNNING")
    c.wait_state("after_f", "RUNNING")
    h.wait_for(lambda: c.inst("never")["restarts"] >= 1, 5, "never restarted")
    h.check("not ready within 300ms" in d.output(), "the ready-timeout in the log")
    h.check(c.inst("never")["state"] != "RUNNING", "never is never RUNNING")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_bind(c):
    """after = {"db:bind"}: when db restarts (a crash, an operator's restart) the bound worker
    restarts and waits for db to be ready again; one after db without bind runs on."""
    c.conf(h.worker_block("db", marking(c, "db"), start_secs="300ms",
                          restart=dict(backoff="300ms", factor=1, jitter="0%")) +
           h.worker_block("bound", marking(c, "bound"), after=["db:bind"], start_secs=0) +
           h.worker_block("free", marking(c, "free"), after=["db"], start_secs=0))
    d = c.start_daemon(c.path("upkeep.conf"))
    db = c.wait_state("db", "RUNNING")
    bound = c.wait_state("bound", "RUNNING")
    free = c.wait_state("free", "RUNNING")
    os.kill(db["pid"], 9)  # a crash of db, not of the others
    h.wait_for(lambda: c.inst("bound")["state"] == "WAITING", 5, "bound waits for db again")
    db2 = c.wait_state("db", "RUNNING")
    bound2 = c.wait_state("bound", "RUNNING")
    h.check(bound2["pid"] != bound["pid"], "bound restarted")
    h.check_eq(c.inst("free")["pid"], free["pid"], "free (no bind) runs on")
    # RUNNING at once (start-secs 0): its shell may not have written its line yet
    h.wait_for(lambda: order(c).count("start bound") >= 2, 5, "bound's second exec written")
    starts = [ln for ln in order(c) if ln in ("start db", "start bound")]
    h.check_eq(starts[-2:], ["start db", "start bound"], f"bound started again after db: {order(c)}")
    h.check(bound2["pid"] > db2["pid"], "bound's new process after db's")
    # an operator's restart of db too; an operator's stop of db does not restart bound
    c.ctl("restart", "db")
    h.wait_for(lambda: c.inst("bound")["pid"] not in (None, bound2["pid"]), 10,
               "bound restarted with db's restart")
    bound3 = c.wait_state("bound", "RUNNING")
    c.ctl("stop", "db")
    c.wait_state("db", "STOPPED")
    h.hold_for(lambda: c.inst("bound")["pid"] == bound3["pid"], 0.5, "a stop of db restarts "
               "nothing")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


UVICORN_APP = '''
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
'''


@h.test
def deps_ready_log(c):
    """ready = "log:REGEX": a real uvicorn is RUNNING when it prints "Application startup
    complete" (long before its start-secs), and a worker after it starts then; a line that does
    not match does not make a worker ready, one that matches does; the lines still reach the
    log file."""
    port = h.free_port()
    gate = c.path("gate")
    c.write("app.py", UVICORN_APP)
    c.conf(h.worker_block("web", f"/usr/bin/python3 -m uvicorn app:app --host 127.0.0.1 "
                          f"--port {port} --lifespan on", directory=c.dir,
                          ready="log:Application startup complete", start_secs="60s") +
           h.worker_block("api", marking(c, "api"), after=["web"], start_secs=0) +
           h.worker_block("sh", f"sh -c 'echo warming up; while [ ! -e {gate} ]; do "
                          "sleep 0.02; done; echo >&2 \"listening on :80\"; exec sleep 300'",
                          ready="log:^listening on :[0-9]+$", start_secs="60s"))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("web", "RUNNING", timeout=20)  # within 20 s: the line, not start-secs (60 s)
    c.wait_state("api", "RUNNING")
    h.hold_for(lambda: c.inst("sh")["state"] == "STARTING", 0.5, "a line that does not match")
    with open(gate, "w"):
        pass
    c.wait_state("sh", "RUNNING")
    path = os.path.join(c.logdir, "sh", "sh.log")
    h.wait_for(lambda: os.path.exists(path) and "listening on :80" in open(path).read(), 5,
               "the matching line in the log file")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_upkeepd_ready(c):
    """upkeepd's own READY=1 to systemd: with ready = started an instance that waits for its
    dependencies counts as started (READY=1 comes while it waits); with ready = healthy it is
    sent only once the instance is RUNNING."""
    import socket
    for rule in ("started", "healthy"):
        path = c.path(f"notify-{rule}.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(path)
        ns.settimeout(0.1)
        c.closers.append(ns.close)
        msgs = []

        def reader(ns=ns, msgs=msgs):
            while not c.stop_event.is_set():
                try:
                    msgs.append(ns.recv(4096).decode())
                except (socket.timeout, OSError):
                    continue
        c.background(reader)
        env = os.environ.copy()
        env["NOTIFY_SOCKET"] = path
        env.pop("WATCHDOG_USEC", None)
        c.conf(f"ready = {rule}\n" +
               h.worker_block("gate", "sleep 300", autostart=False, start_secs=0) +
               h.worker_block("x", "sleep 300", after=["gate"], start_secs=0))
        d = c.start_daemon(c.path("upkeep.conf"), env=env, name=f"upkeepd-{rule}")
        c.wait_state("x", "WAITING")
        if rule == "started":
            h.wait_for(lambda: any("READY=1" in m for m in msgs), 5, "READY=1 while x waits")
            h.wait_for(lambda: any(m.startswith("STATUS=") and m.endswith(", 1 waiting")
                                   for m in msgs), 5, "STATUS= counts the waiting one")
        else:
            h.hold_for(lambda: not any("READY=1" in m for m in msgs), 0.5,
                       "no READY=1 while x waits")
            c.ctl("start", "gate")
            c.wait_state("x", "RUNNING")
            h.wait_for(lambda: any("READY=1" in m for m in msgs), 5, "READY=1 once x runs")
        rc, how = d.stop()
        d.checked = True
        h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def deps_reload_stops_in_order(c):
    """A reload that replaces both db and the api after it (their commands changed) stops the
    old api before the old db, and starts the new api only once the new db is ready."""
    def conf(gen):
        c.conf(h.worker_block("db", marking(c, f"db{gen}"), start_secs="200ms",
                              stop_timeout="5s") +
               h.worker_block("api", marking(c, f"api{gen}", "sleep 0.3; sleep 300 & wait"),
                              after=["db"], start_secs=0, stop_timeout="5s"))
    conf(1)
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("api", "RUNNING")
    h.wait_for(lambda: "start api1" in order(c), 5, "api1 exec'd")
    conf(2)
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    h.wait_for(lambda: "start api2" in order(c), 10, "api2 exec'd")
    o = order(c)
    h.check(o.index("stop api1") < o.index("stop db1"), f"old api stopped before old db: {o}")
    h.check(o.index("start db2") < o.index("start api2"), f"new db before new api: {o}")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
