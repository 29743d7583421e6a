"""
Hardening of the state file, env-files, sink URLs in status, the alert queue bound, and the
recovery window (a upkeepd stopping the workers its SIGKILLed predecessor left behind).

upkeepd usually runs as root: files another user can plant (a symlink where the state file or
its temporary goes, a FIFO or /dev/zero as env-file) must neither be written through nor stall
the loop.  Only processes the test started are signalled, by PID.
"""
import json
import os
import signal
import socket
import time

import __main__ as h


def _sink_port(c):
    """A listening socket that never answers (the kernel accepts, nobody reads)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(100)
    c.closers.append(lsock.close)
    return lsock.getsockname()[1]


@h.test
def state_file_symlinks_not_followed(c):
    """A symlink planted as the state file or as its temporary is replaced, never written
    through: the files they point to keep their content."""
    victims = {}
    for name in ("victim-state", "victim-tmp"):
        victims[name] = c.write(name, f"{name}: precious\n")
    os.symlink(victims["victim-state"], c.path("upkeep.state"))
    os.symlink(victims["victim-tmp"], c.path("upkeep.state.tmp"))
    c.conf(h.worker_block("w", h.WORKER))
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    h.wait_for(lambda: not os.path.islink(c.path("upkeep.state")), 5,
               "the state file to be rewritten")
    with open(c.path("upkeep.state")) as f:
        st = json.load(f)
    h.check(any(i["name"] == "w" and i["pid"] > 0 for i in st["instances"]),
            f"the state file lists w: {st}")
    for name, p in victims.items():
        with open(p) as f:
            h.check_eq(f.read(), f"{name}: precious\n", f"content of {name}")
    h.check(not os.path.lexists(c.path("upkeep.state.tmp")), "a temporary left behind")


@h.test
def env_file_special_files(c):
    """A FIFO, /dev/zero and a 2 MiB file as env-file are spawn errors with a reason; upkeepd
    keeps answering and starts the other workers."""
    fifo = c.path("fifo.env")
    os.mkfifo(fifo)
    big = c.path("big.env")
    with open(big, "w") as f:
        f.write("A=" + "x" * (2 << 20))
    rs = dict(backoff="200ms", factor=1, max_delay="1s", jitter="0%")
    c.conf(h.worker_block("fifo", h.WORKER, env_file=fifo, restart=rs) +
           h.worker_block("zero", h.WORKER, env_file="/dev/zero", restart=rs) +
           h.worker_block("big", h.WORKER, env_file=big, restart=rs) +
           h.worker_block("good", h.WORKER))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("good", "RUNNING")
    for name, path, why in (("fifo", fifo, "not a regular file"),
                            ("zero", "/dev/zero", "not a regular file"),
                            ("big", big, "larger than 1024 KiB")):
        def pred(name=name, path=path, why=why):
            i = c.inst(name)
            r = i["reason"] or ""
            return i if i["pid"] is None and path in r and why in r else None
        h.wait_for(pred, 10, f"{name}: a spawn error naming {path} ({why})")
    h.check_eq(c.ctl("restart", "good").returncode, 0, "restart good")
    c.wait_state("good", "RUNNING")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def alerts_url_without_path_redacted(c):
    """upkeepctl alerts (open to every reader) shows scheme, host and port of a sink URL with no
    path, never its user, password, query or fragment."""
    port = _sink_port(c)
    c.conf(f"""
alerts {{ rule warning {{ event = restart count = 1 within = 1m }} }}
notify a {{ type = webhook url = "http://hook-user:hunter2@127.0.0.1:{port}?token=sekrit#frag" }}
notify b {{ type = webhook url = "http://[::1]:{port}?token=sekrit6" }}
""" + h.worker_block("w", h.WORKER))
    c.start_daemon(c.path("upkeep.conf"))
    outs = {"upkeepctl alerts": c.ctl("alerts").stdout,
            "alerts answer": json.dumps(c.query({"cmd": "alerts"}))}
    targets = {s["name"]: s["target"] for s in c.query({"cmd": "alerts"})["sinks"]}
    h.check_eq(targets.get("a"), f"http://127.0.0.1:{port}/…", "target of sink a")
    h.check_eq(targets.get("b"), f"http://[::1]:{port}/…", "target of sink b")
    for where, text in outs.items():
        for secret in ("hook-user", "hunter2", "token", "sekrit", "frag"):
            h.check(secret not in text, f"{secret!r} shown by {where}: {text}")


@h.test
def alerts_queue_bound_exact(c):
    """queue = 1 with the one notice in flight: a second is dropped and counted once, and the
    queue never holds more than one."""
    port = _sink_port(c)
    c.conf(f"""
alerts {{ rule warning {{ event = restart count = 1 within = 1m }} }}
notify dead {{ type = webhook url = "http://127.0.0.1:{port}/x" timeout = 30s queue = 1 }}
""" + h.worker_block("w", h.WORKER))
    c.start_daemon(c.path("upkeep.conf"))

    def sink():
        return {k["name"]: k for k in c.query({"cmd": "alerts"})["sinks"]}["dead"]
    h.check_eq(c.ctl("alerts", "test", "dead").returncode, 0, "alerts test dead")
    h.wait_for(lambda: sink()["queued"] == 1, 5, "one notice queued")
    for n in (1, 2, 3):
        h.check_eq(c.ctl("alerts", "test", "dead").returncode, 0, "alerts test dead, again")
        s = h.wait_for(lambda n=n: (lambda s: s if s["dropped"] >= n else None)(sink()), 5,
                       f"{n} drops counted")
        h.check(s["queued"] <= 1, f"queue bound 1 exceeded: {s}")
        h.check_eq(s["dropped"], n, f"drops after {n + 1} notices")


def _leftover_setup(c, stop_timeout="60s", instances=2, extra=""):
    """A upkeepd whose worker w ignores SIGTERM, SIGKILLed: returns the pids it left behind.
    Skips the test where upkeepd has no pidfds (valgrind has no pidfd_open())."""
    c.conf(h.worker_block("w", f"{h.WORKER} --ignore-term", stop_timeout=stop_timeout,
                          instances=instances) + extra)
    d = c.start_daemon(c.path("upkeep.conf"))
    names = [f"w:{k}" for k in range(instances)] if instances > 1 else ["w"]
    old = [c.wait_state(n, "RUNNING")["pid"] for n in names]
    if "pidfd_open() is not available" in d.output():
        # nothing would tell the next upkeepd when they end: it kills them at once
        _stop_hard(d)
        where = f"under {os.path.basename(h.WRAPPER[0])}" if h.WRAPPER else "on this kernel"
        raise h.TestSkip(f"{where}: no pidfd_open(), so the previous run's processes are "
                         "killed at once and there is no recovery to act during")

    def recorded():
        with open(c.path("upkeep.state")) as f:
            pids = {i["pid"] for i in json.load(f)["instances"]}
        return set(old) <= pids
    h.wait_for(recorded, 5, "the workers in the state file")
    d.send(signal.SIGKILL)
    d.wait(5)
    d.checked = True
    h.check(all(h.pid_alive(p) for p in old), "the workers outlived upkeepd")
    return old, names


def _stop_hard(d):
    """SIGTERM, then SIGTERM again (kill every worker now): the workers ignore SIGTERM."""
    d.send(signal.SIGTERM)
    h.wait_for(lambda: "stopping all workers" in d.output(), 5, "upkeepd to begin stopping")
    d.send(signal.SIGTERM)
    h.check(d.wait(10) is not None, "upkeepd did not exit on a second SIGTERM")
    d.checked = True


def _all_w_pids():
    """Every live process running the test worker with --ignore-term (ours: one test at a time
    uses this worker flag in this file)."""
    out = []
    for p, (st, _) in h.all_procs().items():
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if st not in ("Z", "X") and len(argv) > 1 and argv[0] == h.WORKER.encode() and \
                b"--ignore-term" in argv:
            out.append(p)
    return out


@h.test
def recovery_sigterm_kills_leftovers(c):
    """SIGTERM while the previous run's workers are being stopped: they are killed (or kept in
    the state file), and the next upkeepd never runs two copies."""
    old, names = _leftover_setup(c)
    d2 = c.start_daemon(c.path("upkeep.conf"), name="upkeepd2")
    h.wait_for(lambda: "left by a previous upkeepd" in d2.output(), 5, "the recovery to begin")
    h.check(all(h.pid_alive(p) for p in old), "the leftovers ignore SIGTERM")
    d2.send(signal.SIGTERM)
    rc = d2.wait(15)
    d2.checked = True
    h.check(rc is not None, "upkeepd2 did not exit on SIGTERM")
    alive = [p for p in old if h.pid_alive(p)]
    if alive:
        with open(c.path("upkeep.state")) as f:
            kept = {i["pid"] for i in json.load(f)["instances"]}
        h.check(set(alive) <= kept, f"leftovers {alive} alive and forgotten (state: {kept})")
    d3 = c.start_daemon(c.path("upkeep.conf"), name="upkeepd3")
    new = [c.wait_state(n, "RUNNING", timeout=90)["pid"] for n in names]
    h.wait_for(lambda: not any(h.pid_alive(p) for p in old), 5, "the old workers gone")
    h.check(not set(new) & set(old), "fresh processes")
    h.check_eq(sorted(_all_w_pids()), sorted(new), "processes of w")
    _stop_hard(d3)


@h.test
def recovery_start_and_reload_wait(c):
    """upkeepctl start and a reload during the recovery start nothing beside the previous run's
    workers; what was asked starts once they are gone."""
    extra = h.worker_block("m", h.WORKER + " --ignore-term", autostart=False)
    old, names = _leftover_setup(c, extra=extra)
    d2 = c.start_daemon(c.path("upkeep.conf"), name="upkeepd2")
    h.wait_for(lambda: "left by a previous upkeepd" in d2.output(), 5, "the recovery to begin")
    r = c.ctl("start", "w")
    h.check_eq((r.returncode, r.stdout.strip()), (0, "w:0: queued\nw:1: queued"),
               "start w during the recovery")
    r = c.ctl("start", "m")
    h.check_eq((r.returncode, r.stdout.strip()), (0, "m: queued"), "start m during the recovery")
    # a changed process setting: w is replaced by a new worker with 2 instances
    c.conf(h.worker_block("w", f"{h.WORKER} --ignore-term --pidfile {c.path('p-%i')}",
                          stop_timeout="60s", instances=2) + extra)
    h.check_eq(c.ctl("reload").returncode, 0, "reload during the recovery")

    def nothing_new():
        return all(i["pid"] is None for i in c.instances().values()) and \
            sorted(_all_w_pids()) == sorted(old)
    h.hold_for(nothing_new, 1.5, "nothing started beside the leftovers")
    for p in old:  # the test's own workers, by pid: end the wait
        os.kill(p, signal.SIGKILL)
    new = [c.wait_state(n, "RUNNING", timeout=10)["pid"] for n in names + ["m"]]
    h.check(not set(new) & set(old), "fresh processes")
    h.hold_for(lambda: sorted(_all_w_pids()) == sorted(new), 1,
               "exactly one process per instance")
    _stop_hard(d2)
