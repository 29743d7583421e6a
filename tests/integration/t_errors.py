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
    h.check(last["output"].startswith("Traceback (most recent call last):"),
            f"the traceback whole (it fits in the tail), beyond the 20 lines: "
            f"{last['output']!r}")
    h.check(len(last["output"].split("\n")) > 20, "more than 20 lines: the whole traceback")
    r = c.ctl("status", "api")
    h.check("    | RuntimeError: DATABASE_URL is not set" in r.stdout,
            f"status api prints the output:\n{r.stdout}")
    r = c.ctl("status")
    h.check("RuntimeError" not in r.stdout, f"plain status stays a table:\n{r.stdout}")
    log = d.output()
    h.check_eq(log.count("last output before the exit"), 1, "last-output messages in the log")
    h.check("    | RuntimeError: DATABASE_URL is not set" in log, "the log has the lines")


def app_errors(c, name):
    """(events app-error total of the worker, the instance's output.app_errors)."""
    st = c.status(name)
    w = st["workers"][0]
    return w["events"]["app-error"]["total"], w["instances"][0]["output"]["app_errors"]


@h.test
def app_errors_gunicorn_flask_json(c):
    """A gunicorn/Flask app logs JSON lines with "level": "error" 30 times a second for 4 s:
    app-error counts them (within 5 % of what it wrote), a warning alert on `event = app-error`
    fires with the last line, and resolves once the app stops writing them."""
    need_modules("gunicorn", "flask")
    port, got, lock = h.webhook_receiver(c)
    n_lines = 120
    c.write("app.py", f"""
import json, sys, threading, time
from flask import Flask

app = Flask(__name__)

@app.route("/")
def index():
    return "ok"

def noisy():
    time.sleep(0.5)
    for k in range({n_lines}):
        print(json.dumps({{"level": "error", "msg": "payment failed", "n": k}}), file=sys.stderr,
              flush=True)
        print(json.dumps({{"level": "info", "msg": "request served"}}), flush=True)
        time.sleep(1 / 30)
    with open("{c.path('wrote')}", "w") as f:
        f.write(str({n_lines}))

threading.Thread(target=noisy, daemon=True).start()
""")
    c.conf(f"""
alerts {{
    rule warning {{ event = app-error count = 20 within = 3s }}
    resolve-after = 1s
}}
notify hook {{ type = webhook url = "http://127.0.0.1:{port}/hook" timeout = 2s }}
""" + f"""
worker web {{
    command = "{PY} -m gunicorn --chdir {c.dir} --workers 1 --bind 127.0.0.1:{h.free_port()} app:app"
    start-secs = 0
    errors {{ json-level = true }}
}}
""")
    c.start_daemon(c.path("upkeep.conf"))

    def notified(status):
        with lock:
            return [b for p, code, b in got if b["status"] == status]
    fired = h.wait_for(lambda: notified("firing"), 30, "a firing app-error alert")[0]
    h.check_eq(fired["severity"], "warning", "severity")
    last = fired.get("last_error") or ""
    h.check('"level": "error"' in last and "payment failed" in last,
            f"the notification's last_error: {last!r}")
    h.wait_for(lambda: os.path.exists(c.path("wrote")), 30, "the app done writing")
    total = h.wait_for(lambda: (lambda t: t if t >= n_lines * 0.95 else None)(
        app_errors(c, "web")[0]), 10, f"about {n_lines} app-errors counted")
    h.check(abs(total - n_lines) <= n_lines * 0.05,
            f"app-error total {total} within 5 % of the {n_lines} lines written")
    total, detail = app_errors(c, "web")
    h.check_eq(detail["json-level"], total, "all of them json-level")
    h.check_eq(detail["last"]["kind"], "json-level", "kind of the last")
    r = c.ctl("status", "web")
    h.check(f"+{total} app json-level" in r.stdout or "app json-level" in r.stdout,
            f"the ERRORS column names the kind:\n{r.stdout}")
    h.wait_for(lambda: notified("resolved"), 20, "the alert resolved after the app stopped")


@h.test
def app_errors_traceback_split_garbage(c):
    """A 40-line traceback counts once; a line split by max-line counts once (its pieces are not
    matched again); a worker writing a megabyte of binary garbage counts nothing."""
    c.write("w.py", r"""
import os, random, sys
out = sys.stdout.buffer
out.write(b"Traceback (most recent call last):\n")
for k in range(19):
    out.write(b'  File "app.py", line %d, in f%d\n    raise ERROR_%d\n' % (k, k, k))
out.write(b"RuntimeError: ERROR in the exception line\n")
out.write(b"[" + b"ERROR x " * 200 + b"]\n")  # 1600 bytes: split at 256
rnd = random.Random(7)
out.write(bytes(rnd.getrandbits(8) for _ in range(1 << 20)))
out.write(b"\ndone\n")
out.flush()
import time
time.sleep(600)
""")
    c.conf(f"""
worker w {{
    command = "{PY} {c.path('w.py')}"
    start-secs = 0
    log {{ max-line = 256 }}
    errors {{ json-level = true traceback = true match = "ERROR" }}
}}
""")
    c.start_daemon(c.path("upkeep.conf"))
    log = os.path.join(c.logdir, "w", "w.log")
    h.wait_for(lambda: os.path.exists(log) and b"\ndone\n" in open(log, "rb").read(), 30,
               "the worker's output written")
    h.wait_for(lambda: app_errors(c, "w")[0] == 2, 10, "two app-errors")
    h.hold_for(lambda: app_errors(c, "w")[0] == 2, 1.0, "still two app-errors")
    total, detail = app_errors(c, "w")
    h.check_eq((detail["traceback"], detail["match"], detail["json-level"]), (1, 1, 0),
               "(traceback, match, json-level)")
    h.check(open(log, "rb").read().count(b"[upkeep: line split]") >= 6,
            "the long line was split")


@h.test
def crash_context_failed_probes(c):
    """A worker restarted for failed probes has its last lines frozen with that restart: the
    SIGTERM that follows is a stop upkeep asked for, and does not forget them."""
    port = h.free_port()
    c.conf(f"""
worker w {{
    command = "{h.WORKER} --http-port {port} --health fail500 --print 5"
    start-secs = 0
    restart {{ backoff = 30s jitter = 0% }}
    health {{ url = "http://127.0.0.1:{port}/health" interval = 200ms start-interval = 200ms
              failures = 2 }}
}}
""")
    d = c.start_daemon(c.path("upkeep.conf"))
    last = h.wait_for(lambda: (lambda le: le if le and le.get("output") else None)(
        c.inst("w")["last_exit"]), 20, "last_exit.output after the restart for failed probes")
    lines = last["output"].split("\n")
    h.check(len(lines) == 5 and all(l.startswith("line ") for l in lines),
            f"the worker's 5 lines: {last['output']!r}")
    h.check_eq(d.output().count("last output before failed probes"), 1,
               "last-output messages in the log")


@h.test
def app_errors_framed_lines(c):
    """What upkeep adds to a line (a timestamp, the stderr mark, the "name | " prefix on
    upkeepd's stdout) is taken off before it is classified: a JSON error line still starts
    with '{' for json-level, and a regex anchored at the start still matches."""
    script = c.write("w.sh", "#!/bin/sh\n"
                     "echo '{\"level\": \"error\", \"msg\": \"on stderr\"}' >&2\n"
                     "echo 'FATAL at the start'\n"
                     "exec sleep 600\n")
    os.chmod(script, 0o755)
    c.conf(f"""
worker marked {{
    command = "{script}"
    log {{ timestamps = true stderr = mark }}
    errors {{ json-level = true match = "^FATAL" }}
}}
worker plain {{
    command = "{script}"
    log-dir = "-"
    errors {{ json-level = true match = "^FATAL" }}
}}
""")
    c.start_daemon(c.path("upkeep.conf"))
    for name in ("marked", "plain"):
        h.wait_for(lambda: app_errors(c, name)[0] == 2, 10, f"{name}: two app-errors")
        _, detail = app_errors(c, name)
        h.check_eq((detail["json-level"], detail["match"]), (1, 1),
                   f"{name}: (json-level, match)")


@h.test
def app_errors_counted_exactly(c):
    """2000 lines, some of them errors by one rule or several (an anchored expression at a
    line's start or end, a JSON level, both): each error line counts exactly once, and no
    other line does, however the writer batches them."""
    lines, expect = [], 0
    for k in range(2000):
        line = f"{k:05d} plain text with a few words"
        if k % 7 == 0:
            line = f"FATAL {k} went wrong"
        if k % 11 == 0:
            line += " x"
        if k % 13 == 0:
            line = '{"level": "error", "k": %d}' % k + (" x" if k % 11 == 0 else "")
        # "^FATAL|x$" per line, or a JSON error object (a JSON line ending in " x" is no JSON)
        is_json = line.startswith("{") and not line.endswith(" x")
        expect += bool(line.startswith("FATAL") or line.endswith("x") or is_json)
        lines.append(line)
    c.write("lines.txt", "\n".join(lines) + "\n")
    c.conf(f"""
worker w {{
    command = "sh -c 'cat {c.path("lines.txt")}; exec sleep 600'"
    errors {{ json-level = true match = "^FATAL|x$" }}
}}
""")
    c.start_daemon(c.path("upkeep.conf"))
    h.wait_for(lambda: app_errors(c, "w")[0] == expect, 10, f"{expect} app-errors")
    h.hold_for(lambda: app_errors(c, "w")[0] == expect, 0.5, f"still {expect}")


def maps_pcre2(d):
    with open(f"/proc/{d.signal_pid}/maps") as f:
        return "libpcre2-8" in f.read()


@h.test
def pcre2_loaded_with_the_first_pattern(c):
    """PCRE2 is loaded only for a configuration with a pattern: upkeepd without one does not map
    libpcre2-8; a reload that adds errors { match } loads it, and the expression counts in the
    worker's next run."""
    script = c.write("w.sh", "#!/bin/sh\n"
                     "while :; do echo 'FATAL at the start'; sleep 0.2; done\n")
    os.chmod(script, 0o755)
    c.conf(f"""
worker w {{
    command = "{script}"
    errors {{ json-level = true }}
}}
""")
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    h.check(not maps_pcre2(d), "libpcre2-8 mapped by upkeepd without a pattern")
    c.conf(f"""
worker w {{
    command = "{script}"
    errors {{ json-level = true match = "^FATAL" }}
}}
""")
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")
    h.check_eq(c.ctl("restart", "w").returncode, 0, "restart w")
    h.wait_for(lambda: app_errors(c, "w")[0] >= 1, 10, "an app-error by the expression")
    h.check(maps_pcre2(d), "libpcre2-8 mapped by upkeepd once a pattern is configured")
