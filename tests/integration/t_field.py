"""
What supervisord gives its programs and upkeep must too: a worker's umask, set before exec, and
the directory and umask of an imported [supervisord] section (which supervisord enters and sets
when it daemonizes, for itself and so for its programs).
"""
import os
import stat

import __main__ as h


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def umask_workers(c, masks):
    body = ""
    for name, mask in masks.items():
        made = c.path(f"{name}.made")
        body += h.worker_block(name, f"sh -c 'rm -f {made} && touch {made} && exec sleep 1000'",
                               umask=mask)
    return c.conf(body)


def check_made(c, modes):
    for name, mode in modes.items():
        made = c.path(f"{name}.made")
        h.wait_for(lambda made=made: os.path.exists(made), 10, f"{made} to be created")
        h.check_eq(oct(file_mode(made)), oct(mode), f"mode of the file {name} created")


@h.test
def worker_umask(c):
    """umask = "077" makes the worker's new files 0600, "027" 0640; a reload that changes a
    worker's umask restarts that worker only."""
    d = c.start_daemon(umask_workers(c, {"private": "077", "group": "027"}))
    check_made(c, {"private": 0o600, "group": 0o640})
    pids = {n: c.wait_state(n, "RUNNING")["pid"] for n in ("private", "group")}

    os.unlink(c.path("group.made"))
    umask_workers(c, {"private": "077", "group": "002"})
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    h.wait_for(lambda: c.inst("group").get("pid") not in (None, pids["group"]), 10,
               "group (umask changed) restarted")
    check_made(c, {"group": 0o664})
    h.check_eq(c.inst("private")["pid"], pids["private"], "private (unchanged) kept its process")
    h.check(d.alive(), "upkeepd alive")


@h.test
def supervisord_directory_umask(c):
    """A program without directory or umask of its own runs in [supervisord] directory, with
    [supervisord] umask, as under a daemonizing supervisord."""
    run = c.path("run")
    os.mkdir(run)
    ini = c.write("supervisord.conf", """[unix_http_server]
file=%(here)s/upkeep.sock

[supervisord]
childlogdir=%(here)s/logs
directory=%(here)s/run
umask=077

[program:here]
command=sh -c "pwd > where && exec sleep 1000"
""")
    c.start_daemon(ini)
    c.wait_state("here", "RUNNING", timeout=10)
    where = os.path.join(run, "where")
    h.wait_for(lambda: os.path.exists(where) and os.path.getsize(where) > 0, 10,
               f"{where} to be written")
    with open(where) as f:
        h.check_eq(f.read().strip(), run, "the working directory of the program")
    h.check_eq(oct(file_mode(where)), oct(0o600), "mode of the file the program created")


def max_processes(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max processes"):
                return int(line.split()[2])
    return None


@h.test
def reload_restarts_on_limits(c):
    """Limits are set at spawn: a reload that changes a worker's limit-nproc restarts that
    worker, which then runs with the new limit; the other worker keeps its process.
    (limit-nproc rather than limit-nofile: under valgrind a child that lowers its descriptor
    limit before exec cannot exec.)"""
    def conf(limit):
        return c.conf(h.worker_block("lim", f"{h.WORKER}", limit_nproc=limit) +
                      h.worker_block("other", f"{h.WORKER}", limit_nproc=5000))

    d = c.start_daemon(conf(4000))
    pids = {n: c.wait_state(n, "RUNNING")["pid"] for n in ("lim", "other")}
    h.check_eq(max_processes(pids["lim"]), 4000, "lim's process limit")
    conf(6000)
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    h.wait_for(lambda: c.inst("lim").get("pid") not in (None, pids["lim"]), 10,
               "lim (limit-nproc changed) restarted")
    new = c.wait_state("lim", "RUNNING")["pid"]
    h.check_eq(max_processes(new), 6000, "lim's process limit after the reload")
    h.check_eq(c.inst("other")["pid"], pids["other"], "other (unchanged) kept its process")
    h.check(d.alive(), "upkeepd alive")
