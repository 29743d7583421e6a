"""
The whole process tree of an instance: a child that called setsid() and a daemon that forked
twice are stopped with their worker (stop, restart, upkeepd's SIGTERM), and a upkeepd killed
with SIGKILL leaves them to the next one, which stops them.  Each test runs in both tracking
modes: cgroup v2 (where a writable hierarchy exists, as /sys/fs/cgroup/unified here) and the
fallback by environment and process tree (UPKEEP_CGROUP=off).  Only processes the test started
are signalled, by PID.
"""
import json
import os
import signal

import __main__ as h

# For the workers below: write this process's pid into the file name of directory d, whole.
PUT_PID = r'''
def put(name):
    tmp = os.path.join(d, f".{name}.{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(str(os.getpid()))
    os.rename(tmp, os.path.join(d, name))
'''

# The worker: a child that leaves the group with setsid() and a daemon that forks twice, both
# ignoring SIGTERM (only what reaches them by pid, or SIGKILL, ends them); pids in files.
ESCAPER = r'''
import os, signal, sys, time
d = sys.argv[1]
''' + PUT_PID + r'''
def forever():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(1)
if os.fork() == 0:
    os.setsid()
    put("setsid.pid")
    forever()
p = os.fork()
if p == 0:
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    put("daemon.pid")
    forever()
os.waitpid(p, 0)
put("main.pid")
while True:
    time.sleep(1)
'''

MODES = ("cgroup", "fallback")


def cgroup_usable():
    """Where upkeepd would put its cgroups here, or None: the same probe as proctree.c."""
    with open("/proc/self/cgroup") as f:
        own = next((ln[3:].strip() for ln in f if ln.startswith("0::")), None)
    if own is None:
        return None
    for mnt in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(mnt, "cgroup.procs")) and \
                os.path.exists(os.path.join(mnt, "cgroup.subtree_control")):
            path = mnt + (own if own != "/" else "")
            return path if os.access(path, os.W_OK) else None
    return None


def mode_env(mode):
    env = os.environ.copy()
    env.pop("UPKEEP_CGROUP", None)
    if mode in ("fallback", "scan"):
        env["UPKEEP_CGROUP"] = "off"
    if mode == "scan":  # as on a kernel without /proc/PID/task/TID/children
        env["UPKEEP_FAULT"] = "proc-children"
    elif cgroup_usable() is None:
        raise h.TestSkip("no writable cgroup v2 hierarchy")
    return env


def escaper_conf(c, sub="esc"):
    d = c.path(sub)
    os.makedirs(d, exist_ok=True)
    script = c.write("escaper.py", ESCAPER)
    return c.conf(h.worker_block("esc", f"python3 {script} {d}", stop_timeout="3s",
                                 start_secs="300ms")), d


def read_pids(c, d, old=()):
    """The (main, setsid, daemon) pids of the current run (different from old)."""
    def pred():
        try:
            pids = tuple(int(open(os.path.join(d, n)).read())
                         for n in ("main.pid", "setsid.pid", "daemon.pid"))
        except (OSError, ValueError):
            return None
        return pids if not set(pids) & set(old) and all(map(h.pid_alive, pids)) else None
    pids = h.wait_for(pred, 10, f"the escaper's three pid files in {d}")
    for p in pids:
        c.track(p)
    return pids


def wait_gone(pids, what, timeout=3):
    for p in pids:
        h.wait_for(lambda p=p: not h.pid_alive(p), timeout,
                   f"{what}: {h.describe_pid(p)} to be gone")


def check_mode(d, mode):
    want = "cgroup v2" if mode == "cgroup" else "environment and process tree"
    h.wait_for(lambda: "process tracking: " + want in d.output(), 5,
               f"upkeepd to log its tracking mode ({want})")


def our_cgroup(d):
    line = next((ln for ln in d.output().splitlines() if "each instance in a cgroup under" in ln),
                None)
    return line.split(" under ", 1)[1].strip() if line else None


def escapees_gone(c, mode):
    conf, sub = escaper_conf(c)
    d = c.start_daemon(conf, env=mode_env(mode))
    check_mode(d, mode)
    c.wait_state("esc", "RUNNING")
    pids = read_pids(c, sub)
    i = c.inst("esc")
    h.check_eq(i["pid"], pids[0], "main pid in status")
    h.check(set(pids) <= set(i["pids"]), f"status pids {i['pids']} list the escapees {pids}")
    h.check_eq(i["pids"][0], pids[0], "the main pid first in pids")
    table = c.ctl("status").stdout
    h.check("PROCS" in table.splitlines()[0], f"PROCS column in {table!r}")
    row = next(ln for ln in table.splitlines() if ln.startswith("esc "))
    h.check_eq(row.split()[3], str(len(i["pids"])), f"PROCS of esc in {row!r}")

    r = c.ctl("stop", "esc")
    h.check_eq(r.returncode, 0, f"stop: {r.stdout} {r.stderr}")
    c.wait_state("esc", "STOPPED", timeout=8)
    wait_gone(pids, "after stop")

    for n in ("main.pid", "setsid.pid", "daemon.pid"):
        os.unlink(os.path.join(sub, n))
    h.check_eq(c.ctl("start", "esc").returncode, 0, "start")
    c.wait_state("esc", "RUNNING")
    pids2 = read_pids(c, sub, pids)
    h.check_eq(c.ctl("restart", "esc").returncode, 0, "restart")
    pids3 = read_pids(c, sub, pids2)
    wait_gone(pids2, "after restart")
    c.wait_state("esc", "RUNNING")

    cg = our_cgroup(d)
    h.check((cg is not None) == (mode == "cgroup"), f"cgroup of upkeepd in {mode} mode: {cg}")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
    wait_gone(pids3, "after upkeepd's SIGTERM", timeout=1)
    if cg:
        h.check(not os.path.exists(cg), f"upkeepd removed its cgroups {cg}")


@h.test
def tree_escapees_cgroup(c):
    """cgroup mode: a setsid() child and a double-forked daemon (both ignoring SIGTERM) are
    listed in status (pids, PROCS) and gone after stop, restart and upkeepd's SIGTERM, which
    also removes upkeepd's cgroups."""
    escapees_gone(c, "cgroup")


@h.test
def tree_escapees_fallback(c):
    """Fallback mode (UPKEEP_CGROUP=off): the same, found by their UPKEEP_TREE environment
    walking down from upkeepd."""
    escapees_gone(c, "fallback")


@h.test
def tree_escapees_scan(c):
    """Fallback mode without /proc children files (made so with UPKEEP_FAULT): the same, found
    by a scan of all of /proc."""
    escapees_gone(c, "scan")


def sigkill_recovery(c, first, second):
    conf, sub = escaper_conf(c)
    d1 = c.start_daemon(conf, env=mode_env(first), name="upkeepd1")
    c.wait_state("esc", "RUNNING")
    pids = read_pids(c, sub)
    cg = our_cgroup(d1)
    h.wait_for(lambda: json.load(open(c.path("upkeep.state")))["instances"], 5,
               "the state file to list esc")
    d1.send(signal.SIGKILL)
    h.check(d1.wait(5) is not None, "upkeepd ended by SIGKILL")
    d1.checked = True
    h.check(all(map(h.pid_alive, pids)), "the worker and its escapees outlive a SIGKILLed "
            f"upkeepd: {[h.describe_pid(p) for p in pids]}")
    for n in ("main.pid", "setsid.pid", "daemon.pid"):
        os.unlink(os.path.join(sub, n))

    d2 = c.start_daemon(conf, env=mode_env(second), name="upkeepd2")
    wait_gone(pids, "leftovers of the SIGKILLed upkeepd", timeout=6)
    c.wait_state("esc", "RUNNING", timeout=10)
    read_pids(c, sub, pids)
    if cg:
        h.wait_for(lambda: not os.path.exists(cg), 5, f"the old cgroups {cg} to be removed")
    rc, how = d2.stop()
    d2.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "second upkeepd exit after SIGTERM")


@h.test
def tree_sigkill_recovery_cgroup(c):
    """upkeepd (cgroup mode) killed with SIGKILL and started again stops what the first one
    left, the setsid() child and the daemon included, and removes the old cgroups."""
    sigkill_recovery(c, "cgroup", "cgroup")


@h.test
def tree_sigkill_recovery_fallback(c):
    """The same in fallback mode, the escapees found by their UPKEEP_TREE environment."""
    sigkill_recovery(c, "fallback", "fallback")


@h.test
def tree_sigkill_recovery_across(c):
    """A cgroup run recovered by a fallback one (UPKEEP_CGROUP=off after the crash): the old
    cgroups recorded in the state file are still emptied and removed."""
    sigkill_recovery(c, "cgroup", "fallback")


# A worker that leaks LEAK_MB every 0.1 s once the file "grow" appears (it takes the file, so
# the next run does not leak), else holds still; its pid in started.PID files.
LEAKER = r'''
import os, sys, time
d, mb = sys.argv[1], int(sys.argv[2])
open(os.path.join(d, f"started.{os.getpid()}"), "w").close()
hold, leaking = [], False
while True:
    try:
        os.unlink(os.path.join(d, "grow"))
        leaking = True
        print(f"leaking {mb}M every 0.1s", flush=True)
    except FileNotFoundError:
        pass
    if leaking:
        hold.append(b"\x01" * (mb << 20))
    time.sleep(0.1)
'''


def proc_pss(pids):
    """The PSS of pids summed from /proc/PID/smaps_rollup, in bytes."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for ln in f:
                    if ln.startswith("Pss:"):
                        total += int(ln.split()[1]) * 1024
        except OSError:
            pass
    return total


def proc_rss(pids):
    """The RSS of pids summed from /proc/PID/statm, in bytes."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def memory_restart(c, mode):
    sub = c.path("leak")
    os.makedirs(sub, exist_ok=True)
    script = c.write("leaker.py", LEAKER)
    out = c.path("alerts.out")
    interval, samples = 0.5, 3
    c.conf(f"""
alerts {{ rule warning {{ event = memory count = 1 within = 1m }} }}
notify cmd {{ type = exec command = "sh -c 'echo $UPKEEP_WORKER $UPKEEP_SEVERITY $UPKEEP_STATUS >> {out}'" }}
""" + h.worker_block("leak", f"python3 {script} {sub} 8", start_secs="200ms",
                     memory_limit="60M", memory_warn="50M", memory_interval=f"{int(interval * 1000)}ms",
                     memory_for=samples, restart=dict(backoff="100ms", jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"), env=mode_env(mode))
    i = c.wait_state("leak", "RUNNING")
    pid = i["pid"]

    # the figure: within 10 % of what /proc says, once sampled.  The first sample of a run reads
    # PSS; under memory-warn the next ones show the RSS, which bounds it (measure "rss")
    i = h.wait_for(lambda: (lambda i: i if i["memory"]["measure"] == "rss" else None)(
        c.inst("leak")), 5, "a memory sample of leak under memory-warn")
    m = i["memory"]
    want, rss = proc_pss(i["pids"]), proc_rss(i["pids"])
    h.check(m["pss_bytes"] is not None and abs(m["pss_bytes"] - want) <= 0.1 * want,
            f"the PSS read first ({m['pss_bytes']}) within 10 % of /proc's {want}")
    h.check(abs(m["bytes"] - rss) <= 0.1 * rss and m["bytes"] >= want,
            f"memory {m['bytes']} within 10 % of /proc's RSS {rss}, at least its PSS {want}")
    h.check(isinstance(m["pss_age_s"], (int, float)) and m["pss_age_s"] >= 0,
            f"pss_age_s in {m}")
    h.check(isinstance(m["cpu_s"], (int, float)), f"cpu_s in {m}")
    h.check_eq(m["limit_bytes"], 60 << 20, "limit_bytes")
    table = c.ctl("status").stdout
    h.check("MEM" in table and "CPU" in table and "<=" in table,
            f"MEM and CPU columns, the RSS figure marked <=: {table!r}")
    # the same figure for Prometheus
    m = c.ctl("metrics").stdout
    got = [ln for ln in m.splitlines() if ln.startswith('upkeep_worker_memory_bytes{worker="leak"')]
    h.check(len(got) == 1 and abs(float(got[0].split()[-1]) - rss) <= 0.1 * rss,
            f"upkeep_worker_memory_bytes of leak within 10 % of {rss}: {got}")
    h.check(any(ln.startswith('upkeep_worker_cpu_seconds_total{worker="leak"')
                for ln in m.splitlines()), "upkeep_worker_cpu_seconds_total of leak")

    # leak: each sample over the limit counts, the restart comes with the third, not before
    open(os.path.join(sub, "grow"), "w").close()
    seen, measures = set(), set()

    def restarted():
        i = c.inst("leak")
        if i["pid"] == pid:
            seen.add(i["memory"]["samples_over"])
            if i["memory"]["bytes"] > 50 << 20:
                measures.add(i["memory"]["measure"])
            return None
        return i
    h.wait_for(restarted, 15, "leak to be restarted for its memory", interval=0.02)
    h.check(samples - 1 in seen, f"the pid stayed while {samples - 1} samples were over the "
            f"limit (saw samples_over {sorted(seen)})")
    h.check(samples not in seen, f"no sample count reached memory-for without a restart: {seen}")
    h.check(measures == {"pss"}, f"over memory-warn, the figure is PSS: {measures}")
    i = c.wait_state("leak", "RUNNING")
    note = i["memory"]["last_action"] or ""
    h.check(note.startswith("restarted: memory ") and "over limit 60M for 1.5s" in note,
            f"last_action says why: {note!r}")
    h.check(note in c.ctl("status").stdout, "the status table shows the last action")
    h.check("restarted: memory " in d.output(), "upkeepd logs the memory restart")
    w = c.status()["workers"][0]
    h.check(w["events"]["memory"]["total"] >= 1, f"memory events: {w['events']}")
    m = [ln for ln in c.ctl("metrics").stdout.splitlines()
         if ln.startswith('upkeep_worker_restarts_total{worker="leak"')]
    h.check(any('reason="memory"} 1' in ln for ln in m), f"the restart counted with reason memory: {m}")
    # the crash context is frozen with the memory restart
    h.check("last output before the memory limit" in d.output(),
            "upkeepd logs the last output before the memory restart")
    h.wait_for(lambda: os.path.exists(out) and "leak warning firing" in open(out).read(), 10,
               "the memory alert")
    # the new run does not leak: no second restart
    h.hold_for(lambda: c.inst("leak")["pid"] == i["pid"], 2 * interval * samples,
               "the new run keeps its pid")


@h.test
def tree_memory_restart_cgroup(c):
    """A leaking worker (memory-limit 60M, memory-for 3) is restarted on the third sample over
    its limit and not before, through backoff, with "restarted: memory ... over limit 60M for
    1.5s" in status and the log, a memory event and its alert; its memory figure is within
    10 % of /proc's PSS, and status has MEM and CPU."""
    memory_restart(c, "cgroup")


@h.test
def tree_memory_restart_fallback(c):
    """The same with the tree found through /proc (UPKEEP_CGROUP=off)."""
    memory_restart(c, "fallback")


# Takes 64M at once when the file "grow" appears in its directory (taking the file, so the
# next run does not), then holds it.
GROWER = r'''
import os, sys, time
d = sys.argv[1]
hold = None
while True:
    try:
        os.unlink(os.path.join(d, "grow"))
        hold = b"\x01" * (64 << 20)
        print("took 64M", flush=True)
    except FileNotFoundError:
        pass
    time.sleep(0.05)
'''


@h.test
def tree_memory_restart_one_at_a_time(c):
    """Both instances of a worker go over memory-limit together: one is restarted, the other
    stays over the limit ("the restart waits until leak:N is ready") and is restarted only
    once the first replacement is RUNNING (start-secs 1s), so one always serves."""
    script = c.write("grower.py", GROWER)
    for k in range(2):
        os.makedirs(c.path(f"leak-{k}"), exist_ok=True)
    c.conf(h.worker_block("leak", f"python3 {script} {c.path('leak-%i')}", instances=2,
                          start_secs="1s", memory_limit="40M", memory_interval="100ms",
                          memory_for=2, restart=dict(backoff="100ms", jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"), env=mode_env("fallback"))
    first = {n: c.wait_state(n, "RUNNING")["pid"] for n in ("leak:0", "leak:1")}
    for k in range(2):
        open(os.path.join(c.path(f"leak-{k}"), "grow"), "w").close()
    h.wait_for(lambda: all(c.inst(n)["pid"] not in (0, p) for n, p in first.items()) and
               all(c.inst(n)["state"] == "RUNNING" for n in first), 30,
               "both instances restarted for their memory and RUNNING again")
    lines = d.output().splitlines()

    def at(what):
        return next((k for k, ln in enumerate(lines) if what in ln), None)
    order = sorted(first, key=lambda n: at(f"{n}: restarted: memory ") or 1 << 30)
    one, two = order
    r1, r2 = at(f"{one}: restarted: memory "), at(f"{two}: restarted: memory ")
    h.check(r1 is not None and r2 is not None, f"both restarted for their memory: {lines[-30:]}")
    wait = at(f"{two}: memory ")
    h.check(wait is not None and f"the restart waits until {one} is ready" in lines[wait],
            f"{two} waited for {one}: {lines[wait] if wait is not None else None!r}")
    up = next((k for k in range(r1, len(lines)) if f"{one}: STARTING -> RUNNING" in lines[k]),
              None)
    h.check(up is not None and r1 < wait < up < r2,
            f"{two} restarted only after {one}'s replacement was RUNNING (lines {r1}, {wait}, "
            f"{up}, {r2})")
    h.check(d.alive(), "upkeepd still running")


@h.test
def tree_memory_config_errors(c):
    """Bad memory settings are file:line errors: a limit below 1M or above the machine's
    memory, a negative or zero interval, an unknown action, memory-for 0, warn >= limit."""
    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    cases = (('memory-limit = "512K"', "out of range"),
             (f'memory-limit = "{total_kb * 2}K"', "out of range"),
             ('memory-interval = "-5s"', "invalid duration"),
             ('memory-interval = "0s"', "out of range"),
             ('memory-action = "explode"', "unknown action"),
             ('memory-action = "signal NOPE"', "unknown action"),
             ('memory-for = 0', "out of range"),
             ('memory-limit = "100M"\n    memory-warn = "200M"', "memory-warn"))
    for text, why in cases:
        path = c.write("bad.conf", f'worker w {{\n    command = "sleep 1"\n    {text}\n}}\n')
        r = __import__("subprocess").run([h.UPKEEPD, "--check-config", "-c", path],
                                         capture_output=True, text=True, timeout=20)
        h.check_eq(r.returncode, 2, f"--check-config of {text!r}: {r.stdout} {r.stderr}")
        h.check(f"{path}:" in r.stderr and why in r.stderr,
                f"{text!r}: expected file:line and {why!r}, got {r.stderr!r}")


@h.test
def tree_gunicorn_workers(c):
    """A gunicorn master with 3 workers (a Flask app) is 4 processes in status, its memory is
    the sum of the four, and stop leaves none of them."""
    if not os.access("/usr/bin/gunicorn", os.X_OK):
        raise h.TestSkip("gunicorn not installed (tests/deps.sh)")
    c.write("app.py", "from flask import Flask\napp = Flask(__name__)\n\n"
            "@app.route('/')\ndef index():\n    return 'ok'\n")
    port = h.free_port()
    # memory-warn 1M: over it, the figure is the PSS of the four at every sample
    c.conf(h.worker_block("gu", f"/usr/bin/gunicorn -w 3 -b 127.0.0.1:{port} --chdir {c.dir} "
                                "app:app", memory_warn="1M", memory_interval="200ms",
                          stop_timeout="5s"))
    c.start_daemon(c.path("upkeep.conf"))

    def four():
        i = c.inst("gu")
        return i if i["state"] == "RUNNING" and len(i["pids"]) == 4 and \
            i["memory"]["bytes"] else None
    i = h.wait_for(four, 20, "gunicorn's master and 3 workers in status")
    pids = i["pids"]
    for p in pids:
        c.track(p)
    kids = [p for p in pids[1:] if (h.proc_stat(p) or (0, 0))[1] == pids[0]]
    h.check_eq(len(kids), 3, f"three workers below the master {pids[0]}: {pids}")

    def close():
        i = c.inst("gu")
        want = proc_pss(i["pids"])
        return i if len(i["pids"]) == 4 and i["memory"]["measure"] == "pss" and \
            abs(i["memory"]["bytes"] - want) <= 0.1 * want else None
    h.wait_for(close, 5, "the memory of gu within 10 % of the PSS of its four processes")
    h.check_eq(c.ctl("stop", "gu").returncode, 0, "stop gu")
    c.wait_state("gu", "STOPPED", timeout=10)
    wait_gone(pids, "gunicorn after stop")


@h.test
def tree_cpu_warn(c):
    """A worker whose child spins over cpu-warn for cpu-for is warned about in the log and
    counted as a cpu event (nothing is throttled, nothing restarted); cpu-warn out of range is
    a file:line error."""
    c.conf(h.worker_block("spin", "sh -c 'while :; do :; done & exec sleep 100000'",
                          cpu_warn="20%", cpu_for="1s", memory_interval="200ms",
                          start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    pid = c.wait_state("spin", "RUNNING")["pid"]
    h.wait_for(lambda: c.status()["workers"][0]["events"]["cpu"]["total"] >= 1, 10,
               "a cpu event of spin")
    h.check("over cpu-warn 20% for 1.0s" in d.output(), "the cpu warning is logged")
    i = c.inst("spin")
    h.check(i["memory"]["cpu_percent"] > 0 and i["memory"]["cpu_s"] > 0.5,
            f"cpu_percent and cpu_s of spin: {i['memory']}")
    h.check_eq(i["pid"], pid, "spin was not restarted")
    h.check_eq(len(i["pids"]), 2, f"the spinning child is in the tree: {i['pids']}")
    for bad in ('"0%"', '"90"', f'"{100 * os.cpu_count() + 1}%"'):
        path = c.write("bad.conf", f'worker w {{\n    command = "sleep 1"\n    cpu-warn = {bad}\n}}\n')
        r = __import__("subprocess").run([h.UPKEEPD, "--check-config", "-c", path],
                                         capture_output=True, text=True, timeout=20)
        h.check(r.returncode == 2 and f"{path}:3: cpu-warn" in r.stderr,
                f"cpu-warn = {bad}: {r.returncode} {r.stderr!r}")


@h.test
def tree_memory_warn_added_by_reload(c):
    """A worker without memory settings is not sampled (memory null in status); a reload that
    gives it memory-warn samples its running process, the same pid, without a restart."""
    script = c.write("leaker.py", LEAKER)
    sub = c.path("leak")
    os.makedirs(sub, exist_ok=True)

    def conf(**mem):
        c.conf(h.worker_block("w", f"python3 {script} {sub} 1", start_secs="200ms", **mem))
    conf()
    c.start_daemon(c.path("upkeep.conf"))
    pid = c.wait_state("w", "RUNNING")["pid"]
    h.check_eq(c.inst("w")["memory"], None, "status memory of a worker that is not sampled")
    conf(memory_warn="1G", memory_interval="200ms")
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    i = h.wait_for(lambda: (lambda i: i if (i["memory"] or {}).get("bytes") else None)(
        c.inst("w")), 5, "a memory sample of w after the reload")
    h.check_eq(i["pid"], pid, "the same process, sampled without a restart")
    h.check_eq(i["memory"]["warn_bytes"], 1 << 30, "warn_bytes")


# Sits blocked (no CPU at all: its samples may stand for the next ones) until the FIFO "go"
# is opened; then a thread that is not the main one forks a child (which stays the thread's
# child) and a daemon (double fork, setsid), each holding 30M; pids in files.
QUIET_FORKER = r'''
import os, signal, sys, threading
d = sys.argv[1]
''' + PUT_PID + r'''
def hold(name):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    b = b"\x01" * (30 << 20)
    put(name)
    while True:
        signal.pause()
def spawn():
    if os.fork() == 0:
        hold("child.pid")
    p = os.fork()
    if p == 0:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        hold("daemon.pid")
    os.waitpid(p, 0)
    threading.Event().wait()
with open(os.path.join(d, "go")) as f:
    f.read()
threading.Thread(target=spawn, daemon=True).start()
put("main.pid")
threading.Event().wait()
'''


def quiet_then_fork(c, mode):
    sub = c.path("qf")
    os.makedirs(sub, exist_ok=True)
    go = os.path.join(sub, "go")
    os.mkfifo(go)
    script = c.write("quietforker.py", QUIET_FORKER)
    # under memory-warn while idle: from its second sample on, a sample stands for the next
    # ones while nothing of the tree runs (up to 5); the 60M more take it over memory-warn
    c.conf(h.worker_block("qf", f"python3 {script} {sub}", start_secs="100ms",
                          memory_warn="50M", memory_interval="1s", stop_timeout="3s"))
    d = c.start_daemon(c.path("upkeep.conf"), env=mode_env(mode))
    check_mode(d, mode)
    main = c.wait_state("qf", "RUNNING")["pid"]
    c.track(main)
    h.wait_for(lambda: c.inst("qf")["memory"]["measure"] == "rss", 10,
               "a sample of qf under memory-warn (its RSS)")
    # two samples more: from the second on, they stand on the first where the mode proves
    # that nothing of the tree ran
    h.hold_for(lambda: (lambda i: i["pid"] == main and i["memory"]["measure"] == "rss")(
        c.inst("qf")), 2.2, "qf idle under memory-warn")
    with open(go, "w") as f:
        f.write("go")
    pids = {}
    for n in ("child.pid", "daemon.pid"):
        pids[n] = h.wait_for(lambda n=n: int(open(os.path.join(sub, n)).read()), 10,
                             f"{n} of qf")
        c.track(pids[n])
    i = c.inst("qf")
    h.check(set(pids.values()) <= set(i["pids"]),
            f"status lists the thread's child and the daemon {pids}: {i['pids']}")
    # the next samples, not one 5 intervals later: a quiet tree that ran is sampled whole
    i = h.wait_for(lambda: (lambda i: i if i["memory"]["measure"] == "pss" and
                            i["memory"]["bytes"] >= 60 << 20 else None)(c.inst("qf")), 2.5,
                   "qf's memory with the 60M of the new processes, within 2 samples")
    want = proc_pss(i["pids"])
    h.check(abs(i["memory"]["bytes"] - want) <= 0.1 * want,
            f"memory {i['memory']['bytes']} within 10 % of /proc's PSS {want}")
    h.wait_for(lambda: "over memory-warn" in d.output(), 5, "the memory-warn warning")
    h.check_eq(c.ctl("stop", "qf").returncode, 0, "stop qf")
    c.wait_state("qf", "STOPPED", timeout=8)
    wait_gone([main] + list(pids.values()), "qf after stop")


@h.test
def tree_quiet_then_fork_cgroup(c):
    """A worker idle under memory-warn (samples may stand for the next ones while nothing of
    it runs) whose thread then forks a child and a daemon holding 60M: the next samples count
    them (PSS, over memory-warn), status lists them, stop ends them."""
    quiet_then_fork(c, "cgroup")


@h.test
def tree_quiet_then_fork_fallback(c):
    """The same in fallback mode, where the processes' CPU clocks say whether the tree ran."""
    quiet_then_fork(c, "fallback")
