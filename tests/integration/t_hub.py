"""
The hub (supervisor, spawn, child registry, state file): error paths that used to pass in
silence.  Only processes the test started are signalled, by PID.
"""
import json
import os

import __main__ as h


@h.test
def state_file_unusable_content_warns(c):
    """A state file upkeepd cannot use (empty, not an object, a wrong version, instances not a
    list, an entry without a pid) is ignored with a warning that names it and says why: the
    leftovers of a crashed upkeepd are then not stopped, and somebody must be told."""
    cases = (("", "empty"),
             ("[1, 2]", "not a JSON object"),
             ('{"version": 7, "instances": []}', "version 7"),
             ('{"version": 1, "instances": {"w": 1}}', "no list of instances"),
             ('{"version": 1, "instances": [{"name": "w", "pid": "12"}]}', "entry 0"))
    c.conf(h.worker_block("w", h.WORKER))
    for k, (text, why) in enumerate(cases):
        path = c.path("upkeep.state")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        d = c.start_daemon(c.path("upkeep.conf"), name=f"upkeepd{k}")
        c.wait_state("w", "RUNNING")
        out = h.wait_for(lambda: (lambda o: o if "ignoring" in o and "state file" in o else None)(
            d.output()), 5, f"a warning about the state file ({text!r})")
        line = next(ln for ln in out.splitlines() if "state file" in ln and "ignoring" in ln)
        h.check(path in line and why in line, f"the warning names the file and says {why!r}: "
                f"{line!r}")
        rc, how = d.stop()
        d.checked = True
        h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
        with open(path) as f:
            json.load(f)  # replaced by a good one


@h.test
def spawn_output_attach_failure(c):
    """When the worker's output cannot be read (made to fail with UPKEEP_FAULT), the spawn
    fails with a reason and no process is left running with a pipe nobody reads (its first
    write would get EPIPE)."""
    env = dict(os.environ, UPKEEP_FAULT="output-attach")
    c.conf(h.worker_block("w", h.WORKER, restart=dict(backoff="200ms", factor=1,
                                                       max_delay="1s", jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"), env=env)

    def failed():
        i = c.inst("w")
        return i if i["pid"] is None and "cannot read the worker's output" in \
            (i["reason"] or "") else None
    h.wait_for(failed, 10, "a spawn error about the worker's output")
    h.hold_for(lambda: c.inst("w")["state"] != "RUNNING", 1.5, "w never RUNNING")
    rc, how = d.stop()
    d.checked = True
    h.check_eq((rc, how), (0, "SIGTERM"), "upkeepd exit after SIGTERM")
