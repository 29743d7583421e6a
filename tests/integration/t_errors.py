"""
Supervision that reads the output: crash context (the last lines of output frozen with a bad
end, in status, upkeepd's log and alert notifications).  Real applications where they exist
(uvicorn/FastAPI, gunicorn/Flask, from Debian's python3 packages, run by /usr/bin/python3).
Only processes the test started are signalled, by PID.
"""
import json
import os

import __main__ as h

PY = "/usr/bin/python3"


def need_modules(*mods):
    """Skip (with the reason) when Debian's python3 lacks a module tests/deps.sh installs."""
    import subprocess
    r = subprocess.run([PY, "-c", "import " + ", ".join(mods)], capture_output=True)
    if r.returncode != 0:
        raise h.TestSkip(f"{PY} cannot import {', '.join(mods)} (tests/deps.sh installs them)")


@h.test
def crash_context_uvicorn_import_error(c):
    """A uvicorn/FastAPI app that raises at import: the webhook notification's `output` ends
    with the exception line, `status --json` has the lines under last_exit.output, `status
    NAME` prints them, upkeepd's log has them once per exit, and a sink with output = false
    gets none."""
    need_modules("uvicorn", "fastapi")
    port, got, lock = h.webhook_receiver(c)
    c.write("app.py", "from fastapi import FastAPI\n"
            "app = FastAPI()\n"
            "def load_settings():\n"
            "    raise RuntimeError('DATABASE_URL is not set')\n"
            "load_settings()\n")
    c.conf(f"""
alerts {{
    rule warning {{ event = crash count = 1 within = 1m }}
}}
notify hook {{ type = webhook url = "http://127.0.0.1:{port}/hook" timeout = 2s }}
notify quiet {{ type = webhook url = "http://127.0.0.1:{port}/quiet" timeout = 2s output = false }}
notify cmd {{ type = exec command = "sh -c 'printf %s \\"$UPKEEP_OUTPUT\\" > {c.path("exec.out")}'" output-lines = 1 }}
""" + h.worker_block("api", f"{PY} -m uvicorn --app-dir {c.dir} --port {h.free_port()} app:app",
                     start_secs="5s", restart=dict(backoff="30s", jitter="0%")))
    d = c.start_daemon(c.path("upkeep.conf"))

    def notified(path):
        with lock:
            return [b for p, code, b in got if p == path and b["status"] == "firing"]
    b = h.wait_for(lambda: notified("/hook"), 30, "a firing notification")[0]
    out = b.get("output")
    h.check(isinstance(out, str) and out, f"webhook output: {out!r}")
    h.check_eq(out.rstrip("\n").split("\n")[-1], "RuntimeError: DATABASE_URL is not set",
               "the last line of the notification's output")
    q = h.wait_for(lambda: notified("/quiet"), 10, "the other sink's notification")[0]
    h.check_eq(q.get("output"), None, "output of a sink with output = false")

    got_exec = h.wait_for(lambda: os.path.exists(c.path("exec.out")) and
                          open(c.path("exec.out")).read(), 10, "the exec sink's UPKEEP_OUTPUT")
    h.check_eq(got_exec, "RuntimeError: DATABASE_URL is not set",
               "UPKEEP_OUTPUT of the exec sink with output-lines = 1")

    last = c.inst("api")["last_exit"]
    h.check_eq(last.get("code"), 1, "exit code")
    h.check(last.get("output", "").endswith("RuntimeError: DATABASE_URL is not set"),
            f"status last_exit.output: {last.get('output')!r}")
    h.check("Traceback (most recent call last):" in last["output"] or
            len(last["output"].split("\n")) == 20, f"the traceback, or the last 20 lines: "
            f"{last['output']!r}")
    r = c.ctl("status", "api")
    h.check("    | RuntimeError: DATABASE_URL is not set" in r.stdout,
            f"status api prints the output:\n{r.stdout}")
    r = c.ctl("status")
    h.check("RuntimeError" not in r.stdout, f"plain status stays a table:\n{r.stdout}")
    log = d.output()
    h.check_eq(log.count("last output before the exit"), 1, "last-output messages in the log")
    h.check("    | RuntimeError: DATABASE_URL is not set" in log, "the log has the lines")
