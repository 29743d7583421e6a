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
