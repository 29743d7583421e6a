"""
What supervisord gives its programs and upkeep must too: a worker's umask, set before exec.
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
