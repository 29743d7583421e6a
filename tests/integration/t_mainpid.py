"""
MAINPID= over an instance's NOTIFY_SOCKET (`ready = notify`): a worker whose first process
forks a daemon, names it with MAINPID= and exits keeps being supervised through the daemon, as
systemd's Type=notify does.  The first process's exit ends nothing; stop, a crash of the daemon
and a upkeepd killed with SIGKILL all go through the adopted pid.  Only processes the test
started are signalled, by PID.
"""
import json
import os
import signal

import __main__ as h

# The worker: the first process forks a daemon (setsid, like a double-forking server), sends
# MAINPID= of it and READY=1 (in the order asked), then exits 0 (or stays, with "stay").  The daemon writes its pid to
# daemon.pid, and "term" when SIGTERM ends it (exit 0).
FORKER = r'''
import os, signal, socket, sys, time
d, order = sys.argv[1], sys.argv[2]
''' + h.NOTIFY_SEND_PY + r'''
def put(name, text):
    tmp = os.path.join(d, "." + name)
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(d, name))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.setsid()
    def on_term(signum, frame):
        put("term", str(os.getpid()))
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    put("daemon.pid", str(os.getpid()))
    os.write(w, b"x")
    os.close(w)
    while True:
        time.sleep(1)
os.close(w)
os.read(r, 1)
if order == "after":
    send("READY=1")
    time.sleep(0.3)
    send("MAINPID=%d" % pid)
else:
    send("MAINPID=%d\nREADY=1" % pid)
put("first.pid", str(os.getpid()))
while order == "stay":  # the daemon's parent stays, and never reaps it
    time.sleep(1)
os._exit(0)
'''


def forker_conf(c, order="before", policy="always", **keys):
    script = c.write("forker.py", FORKER)
    d = c.path("run")
    os.makedirs(d, exist_ok=True)
    c.conf(h.worker_block("fork", f"/usr/bin/python3 {script} {d} {order}", ready="notify",
                          ready_timeout="20s", stop_timeout="5s",
                          restart=dict(policy=policy, backoff="200ms", factor=1, jitter="0%"),
                          **keys))
    return d


def read_pid(d, name, old=()):
    def pred():
        try:
            p = int(open(os.path.join(d, name)).read())
        except (OSError, ValueError):
            return None
        return p if p not in old else None
    return h.wait_for(pred, 10, f"{name} in {d}")


def adopted(c, dm, d, old=(), stay=False):
    """Wait until the instance runs with the daemon as its pid; returns (daemon, first).
    Skips where upkeepd has no pidfds (valgrind has no pidfd_open()): adoption is refused
    there, since the end of a process that is not upkeepd's child could go unseen."""
    daemon = read_pid(d, "daemon.pid", old)
    c.track(daemon)
    first = read_pid(d, "first.pid", old)
    h.wait_for(lambda: f"MAINPID={daemon} " in dm.output(), 10, f"MAINPID={daemon} logged")
    if f"MAINPID={daemon} refused, cannot watch it (no pidfds" in dm.output():
        raise h.TestSkip("no pidfd_open() here: MAINPID= is refused, as documented")
    h.wait_for(lambda: c.inst("fork")["pid"] == daemon and c.inst("fork")["state"] == "RUNNING",
               10, f"fork RUNNING with the daemon {daemon} as its pid")
    if not stay:
        h.wait_for(lambda: not h.pid_alive(first), 5, f"the first process {first} gone (reaped)")
    return daemon, first


def adopt_and_stop(c, order):
    d = forker_conf(c, order)
    dm = c.start_daemon(c.path("upkeep.conf"))
    daemon, first = adopted(c, dm, d)
    h.check(f"MAINPID={daemon} adopted" in dm.output(), f"adoption logged:\n{dm.output()}")
    # the first process's exit 0 ended nothing: no restart, no exit, the daemon still runs
    h.hold_for(lambda: c.inst("fork")["state"] == "RUNNING" and c.inst("fork")["pid"] == daemon,
               1.0, "fork RUNNING with the adopted pid")
    i = c.inst("fork")
    h.check_eq((i["restarts"], i["last_exit"]), (0, None), "no restart, no exit recorded")
    h.check(h.pid_alive(daemon), "the daemon runs")
    out = c.ctl("stop", "fork")
    h.check_eq(out.returncode, 0, f"stop answered: {out.stdout}{out.stderr}")
    i = c.wait_state("fork", "STOPPED", timeout=4)
    h.check(os.path.exists(os.path.join(d, "term")), "the daemon got the stop signal")
    h.check(not h.pid_alive(daemon), "the daemon is gone")
    # re-parented to upkeepd (child subreaper): its own exit status was collected
    h.check_eq(i["last_exit"], {"code": 0}, "the adopted process's exit status")
    rc, how = dm.stop()
    dm.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def mainpid_adopted_before_ready(c):
    """MAINPID= of a forked daemon, then READY=1, then the first process exits 0: RUNNING with
    the daemon as pid, no restart; `upkeepctl stop` stops the daemon with its exit status."""
    adopt_and_stop(c, "before")


@h.test
def mainpid_adopted_after_ready(c):
    """The same with READY=1 first and MAINPID= once RUNNING."""
    adopt_and_stop(c, "after")


@h.test
def mainpid_adopted_crash_restarts(c):
    """The adopted daemon killed with SIGKILL is the instance's exit: restarted through backoff
    (counted), the new run adopts its own daemon."""
    d = forker_conf(c)
    dm = c.start_daemon(c.path("upkeep.conf"))
    daemon, first = adopted(c, dm, d)
    os.kill(daemon, signal.SIGKILL)
    h.wait_for(lambda: c.inst("fork")["restarts"] == 1, 5, "one restart")
    daemon2, _ = adopted(c, dm, d, old=(daemon, first))
    i = c.inst("fork")
    h.check_eq((i["restarts"], i["last_exit"]), (1, {"signal": "KILL"}),
               "counted once, the daemon's SIGKILL as its exit")
    h.check("fork: RUNNING -> BACKOFF (killed by SIGKILL)" in dm.output(),
            f"the exit logged:\n{dm.output()}")
    h.check(daemon2 != daemon, "a new daemon")
    rc, how = dm.stop()
    dm.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
    h.check(not h.pid_alive(daemon2), "the second daemon stopped with upkeepd")


@h.test
def mainpid_adopted_not_our_child(c):
    """An adopted daemon that ends (exit 0 on SIGTERM) while its parent, the first process,
    still runs is not upkeepd's child: its end is seen, its status is unknown, which is not a
    clean exit, so on-failure restarts it; the parent is killed with the rest of the tree."""
    d = forker_conf(c, "stay", policy="on-failure")
    dm = c.start_daemon(c.path("upkeep.conf"))
    daemon, first = adopted(c, dm, d, stay=True)
    c.track(first)
    h.check(h.pid_alive(first), "the first process still runs")
    os.kill(daemon, signal.SIGTERM)
    h.wait_for(lambda: c.inst("fork")["restarts"] == 1, 5, "one restart")
    h.wait_for(lambda: not h.pid_alive(first), 3, "the first process killed with the tree")
    h.check("fork: RUNNING -> BACKOFF (exit status unknown)" in dm.output(),
            f"the unknown exit logged:\n{dm.output()}")
    adopted(c, dm, d, old=(daemon, first), stay=True)
    rc, how = dm.stop()
    dm.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def mainpid_sigkill_recovery(c):
    """The state file records the adopted pid; a upkeepd killed with SIGKILL leaves the daemon
    running, and the next one stops it (environment tracking, where the recorded pid matters)
    before starting the worker again."""
    d = forker_conf(c)
    env = os.environ.copy()
    env["UPKEEP_CGROUP"] = "off"
    d1 = c.start_daemon(c.path("upkeep.conf"), env=env, name="upkeepd1")
    daemon, first = adopted(c, d1, d)

    def recorded():
        try:
            with open(c.path("upkeep.state")) as f:
                return [e["pid"] for e in json.load(f)["instances"]]
        except (OSError, ValueError, KeyError):
            return None
    h.wait_for(lambda: recorded() == [daemon], 5, f"the state file to record {daemon}")
    d1.send(signal.SIGKILL)
    h.check(d1.wait(5) is not None, "upkeepd ended by SIGKILL")
    d1.checked = True
    h.check(h.pid_alive(daemon), "the adopted daemon outlives a SIGKILLed upkeepd")

    d2 = c.start_daemon(c.path("upkeep.conf"), env=env, name="upkeepd2")
    h.wait_for(lambda: not h.pid_alive(daemon), 6, f"the leftover daemon {daemon} stopped")
    h.check(os.path.exists(os.path.join(d, "term")), "the leftover got its stop signal")
    adopted(c, d2, d, old=(daemon, first))
    rc, how = d2.stop()
    d2.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "second upkeepd exit after SIGTERM")
