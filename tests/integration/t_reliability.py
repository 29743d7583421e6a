"""Crash storms: upkeepd stays responsive while workers exit as fast as it restarts them."""
import os
import time

import __main__ as h


@h.test
def crash_storm_stays_responsive(c):
    """20 workers that exit at once, restarted with backoff 0: status keeps answering within
    2 s, the restarts go on and upkeepd's open descriptors stay bounded."""
    restart = dict(policy="always", backoff="0", factor=1, jitter="0%", reset_after="0")
    c.conf("".join(h.worker_block(f"crash{k}", "/bin/false", start_secs="0", restart=restart)
                   for k in range(20)))
    d = c.start_daemon(c.path("upkeep.conf"))
    deadline = time.monotonic() + 3
    first = None
    most_fds = 0
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        ans = c.query({"cmd": "status"}, timeout=10)
        took = time.monotonic() - t0
        h.check(took < 2 * h.TIME_SCALE, f"status took {took:.2f}s during the crash storm")
        restarts = sum(i["restarts"] for w in ans["workers"] for i in w["instances"])
        first = restarts if first is None else first
        most_fds = max(most_fds, len(os.listdir(f"/proc/{d.signal_pid}/fd")))
        time.sleep(0.2)
    h.check(restarts - first >= 40, f"only {restarts - first} restarts in 3 s")
    # 20 workers hold a few descriptors each (pidfd, output pipe, log file); a leak of the
    # pipes of exited processes went to thousands within seconds
    h.check(most_fds < 200, f"upkeepd had {most_fds} open descriptors")
