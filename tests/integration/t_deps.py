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
    h.check_eq(order(c), ["start migrate", "start api", "start worker"], "exec order")
    for name in ("api", "worker"):
        h.check(f"{name}: STOPPED -> WAITING" in d.output(), f"{name} waited first")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
    h.check_eq(order(c)[3:], ["stop worker", "stop api"], "stop order at shutdown")


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
    h.check_eq(order(c)[2:], ["stop worker", "stop api"], "stop order")
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
          ["'b:done'", "unknown condition", "completed"])
    check(h.worker_block("a", "true", type="forking"), 6, ["unknown type", "oneshot"])
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
