"""
Review of the state-file, env-file and recovery hardening: what still slipped through.

Only processes the test started are signalled, by PID; everything lives in the test directory.
"""
import itertools
import json
import os
import signal
import string
import subprocess
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
    without stalling the loop: status keeps answering within 3 s (a minute before: the merge was
    quadratic) while the worker is spawned again and again (its environment is too large to
    exec).  3 s leaves room for the sanitizer build, where each spawn takes about a second."""
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
            c.query({"cmd": "status"}, timeout=10)
        except (TimeoutError, OSError) as e:
            h.fail(f"status unanswered for 10 s while big is spawned: {e}")
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.05)
    h.check(worst < 3.0 * h.TIME_SCALE, f"a status answer took {worst:.2f} s")

    def exec_failed():
        i = c.inst("big")
        # valgrind cannot go on in a child whose execve() failed: it ends it with exit code 101
        # before the child reports the error, so upkeepd sees an exit instead of a spawn error
        return "too long" in (i["reason"] or "") or \
            (h.WRAPPER and i["last_exit"] == {"code": 101})
    h.wait_for(exec_failed, 5, "big's spawn error (an environment too large to exec)")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")


@h.test
def recovery_stop_cancels_autostart(c):
    """upkeepctl stop during the recovery, of a worker that would autostart once the previous
    run's processes are gone: it is stopped (remembered as an operator stop, in the state file
    too) and does not start when they are gone."""
    old, names = sh._leftover_setup(c, instances=1)
    d2 = c.start_daemon(c.path("upkeep.conf"), name="upkeepd2")
    h.wait_for(lambda: "left by a previous upkeepd" in d2.output(), 5, "the recovery to begin")
    r = c.ctl("stop", "w")
    h.check_eq(r.returncode, 0, f"stop w during the recovery ({r.stdout.strip()!r})")
    for p in old:  # the test's own workers, by pid: end the wait
        os.kill(p, signal.SIGKILL)
    h.wait_for(lambda: "is gone" in d2.output(), 5, "the leftovers to be gone")
    h.hold_for(lambda: c.inst("w")["state"] == "STOPPED" and not sh._all_w_pids(), 1.5,
               "w stays stopped after the recovery")

    def admin_stopped():
        with open(c.path("upkeep.state")) as f:
            return any(i["name"] == "w" and i["admin_stopped"]
                       for i in json.load(f)["instances"])
    h.wait_for(admin_stopped, 5, "w recorded as stopped by an operator")
    h.check_eq(c.ctl("start", "w").returncode, 0, "start w after the recovery")
    c.wait_state("w", "RUNNING")
    sh._stop_hard(d2)


@h.test
def state_file_pid_out_of_range(c):
    """A pid in the state file beyond what a pid can be is not cut down to one: 2^32 + P
    with P's start time leaves P's group alone (cut to an int, 2^32 + 1 would be kill(-1))."""
    victim = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL,
                              start_new_session=True)

    def end_victim():
        if victim.poll() is None:
            victim.kill()
        victim.wait()
    c.closers.append(end_victim)
    start = h.wait_for(lambda: h.proc_stat(victim.pid), 5, "the sleeper")[4]
    c.write("upkeep.state", json.dumps({
        "version": 1, "upkeepd_pid": 1, "instances": [
            {"name": "w", "pid": victim.pid + (1 << 32), "start_time": start,
             "admin_stopped": False}]}))
    c.conf(h.worker_block("w", h.WORKER))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    h.hold_for(lambda: victim.poll() is None, 1, "the unrelated sleeper left alone")
    h.check("left by a previous upkeepd" not in d.output(), "a leftover was stopped")


@h.test
def state_file_writable_by_others_ignored(c):
    """A state file of upkeepd's user but writable by everyone (anyone could have written its
    pids) is ignored with a warning: the process group it names is left alone."""
    victim = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL,
                              start_new_session=True)

    def end_victim():
        if victim.poll() is None:
            victim.kill()
        victim.wait()
    c.closers.append(end_victim)
    start = h.wait_for(lambda: h.proc_stat(victim.pid), 5, "the sleeper")[4]
    p = c.write("upkeep.state", json.dumps({
        "version": 1, "upkeepd_pid": 1, "instances": [
            {"name": "w", "pid": victim.pid, "start_time": start, "admin_stopped": False}]}))
    os.chmod(p, 0o666)
    c.conf(h.worker_block("w", h.WORKER))
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    h.hold_for(lambda: victim.poll() is None, 1, "the process named by the file left alone")
    h.check("writable by other users, ignoring it" in d.output(),
            f"no warning about the state file:\n{h.log_tail(d)}")
