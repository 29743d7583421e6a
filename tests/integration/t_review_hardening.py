"""
Review of the state-file, env-file and recovery hardening: what still slipped through.

Only processes the test started are signalled, by PID; everything lives in the test directory.
"""
import itertools
import json
import os
import signal
import string
import time

import __main__ as h
import t_state_hardening as sh


def _distinct_names_env(path, size):
    """An env-file of `size` bytes at most, made of as many distinct short names as fit."""
    alpha = string.ascii_uppercase
    lines, n = [], 0
    for k in itertools.count():
        name, x = "", k
        while True:
            name, x = alpha[x % 26] + name, x // 26
            if x == 0:
                break
        line = f"{name}=\n"
        if n + len(line) > size:
            break
        lines.append(line)
        n += len(line)
    with open(path, "w") as f:
        f.write("".join(lines))
    os.chmod(path, 0o600)
    return len(lines)


@h.test
def env_file_many_names_loop_responsive(c):
    """An env-file within the 1 MiB bound but full of distinct names (~180 000) is merged
    without stalling the loop: status keeps answering within a second while the worker is
    spawned again and again (its environment is too large to exec)."""
    env = c.path("many.env")
    _distinct_names_env(env, 1024 * 1024 - 1)
    rs = dict(backoff="100ms", factor=1, max_delay="100ms", jitter="0%")
    c.conf(h.worker_block("big", h.WORKER, env_file=env, autostart=False, restart=rs) +
           h.worker_block("good", h.WORKER))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("good", "RUNNING")
    ans = c.query({"cmd": "start", "name": "big"}, timeout=30)
    h.check(ans.get("ok") is True, f"start big: {ans}")
    deadline = time.monotonic() + 3
    worst = 0.0
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            c.query({"cmd": "status"}, timeout=5)
        except (TimeoutError, OSError) as e:
            h.fail(f"status unanswered for 5 s while big is spawned: {e}")
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.05)
    h.check(worst < 1.0 * h.TIME_SCALE, f"a status answer took {worst:.2f} s")
    h.wait_for(lambda: "too long" in (c.inst("big")["reason"] or ""), 5,
               "big's spawn error (an environment too large to exec)")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
