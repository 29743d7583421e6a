"""
Reliability: upkeepd stays responsive while workers exit as fast as it restarts them, and its
own descriptors (libcurl's sockets included) never reach a worker.
"""
import os
import time

import __main__ as h


@h.test
def crash_storm_stays_responsive(c):
    """20 workers that exit at once, restarted with backoff 0: status keeps answering within
    2 s, the restarts go on and upkeepd's open descriptors stay bounded."""
    if h.WRAPPER:
        raise h.TestSkip(f"under {os.path.basename(h.WRAPPER[0])}: times upkeepd's answers")
    restart = dict(policy="always", backoff="0", factor=1, jitter="0%", reset_after="0")
    c.conf("".join(h.worker_block(f"crash{k}", "/bin/false", start_secs="0", restart=restart)
                   for k in range(20)))
    d = c.start_daemon(c.path("upkeep.conf"))
    span = 3
    deadline = time.monotonic() + span
    first = None
    most_fds = 0
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        ans = c.query({"cmd": "status"}, timeout=10)
        took = time.monotonic() - t0
        h.check(took < 2, f"status took {took:.2f}s during the crash storm")
        restarts = sum(i["restarts"] for w in ans["workers"] for i in w["instances"])
        first = restarts if first is None else first
        most_fds = max(most_fds, len(os.listdir(f"/proc/{d.signal_pid}/fd")))
        time.sleep(0.2)
    h.check(restarts - first >= 40, f"only {restarts - first} restarts in {span:g} s")
    # 20 workers hold a few descriptors each (pidfd, output pipe, log file); a leak of the
    # pipes of exited processes went to thousands within seconds
    h.check(most_fds < 200, f"upkeepd had {most_fds} open descriptors")


@h.test
def workers_inherit_only_stdio(c):
    """While probes are in flight, a started worker holds descriptors 0, 1 and 2 only: none of
    libcurl's sockets (opened without O_CLOEXEC), none of upkeepd's own."""
    port = h.free_port()
    web = h.with_health(h.worker_block("web", f"{h.WORKER} --http-port {port} --health slow"),
                        url=f"http://127.0.0.1:{port}/health", interval="100ms",
                        start_interval="100ms", timeout="5s")
    # the shell's own descriptors, less the directory handle its glob held (closed by then)
    lister = ("/bin/sh -c 'n=; for f in /proc/$$/fd/*; do [ -e \"$f\" ] && n=\"$n $(basename $f)\"; "
              "done; echo \"fds:$n\"'")
    c.conf(web + h.worker_block("lister", lister,
                                autostart=False, start_secs="0", restart=dict(policy="never")))
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("web", "RUNNING", timeout=15)
    # the slow answers keep a probe connection open most of the time
    for _ in range(5):
        r = c.ctl("start", "lister")
        h.check_eq(r.returncode, 0, f"upkeepctl start lister ({r.stderr.strip()})")
        c.wait_state("lister", ("EXITED", "STOPPED"), timeout=10)
    log = os.path.join(c.logdir, "lister", "lister.log")
    lines = [ln for ln in open(log).read().splitlines() if ln.startswith("fds:")]
    h.check_eq(len(lines), 5, f"runs of lister in {log}")
    for ln in lines:
        h.check_eq(ln, "fds: 0 1 2", "descriptors open in a worker")
