"""
What real apps and real supervisord.conf files showed, second part: health answers in the words
apps use (an unknown word is degraded, never healthy; a worker's own words and status field).
"""
import http.server
import json
import os
import threading

import __main__ as h


def steerable_endpoint(c):
    """An HTTP server on 127.0.0.1 answering GET PATH with the body set in bodies[PATH]
    (200, application/json); returns (port, bodies, lock)."""
    bodies, lock = {}, threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                body = bodies.get(self.path, "{}").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    c.background(srv.serve_forever)
    c.closers.append(srv.shutdown)
    return srv.server_address[1], bodies, lock


def answer(bodies, lock, path, obj):
    with lock:
        bodies[path] = json.dumps(obj)


def health_state(c, name):
    hl = c.inst(name)["health"]
    return hl["state"], (hl["last"] or {}).get("reason") or ""


@h.test
def health_status_words(c):
    """An app's {"status": "critical"} restarts it; an unknown word is degraded with the word in
    the reason; a worker's status-words and status-field (a JSON pointer) are honoured."""
    port, bodies, lock = steerable_endpoint(c)
    url = f"http://127.0.0.1:{port}"
    answer(bodies, lock, "/plain", {"status": "ok"})
    answer(bodies, lock, "/own", {"status": "ok", "data": {"status": "green"}})
    probe = """        interval = "200ms"
        timeout = "150ms"
        failures = 2
"""
    c.conf(f"""worker plain {{
    command = "sleep 1000"
    stop-timeout = "2s"
    restart {{ backoff = "100ms" }}
    health {{
        url = "{url}/plain"
{probe}    }}
}}
worker own {{
    command = "sleep 1000"
    stop-timeout = "2s"
    restart {{ backoff = "100ms" }}
    health {{
        url = "{url}/own"
{probe}        status-field = "/data/status"
        status-words {{
            unhealthy = {{ "meltdown" }}
            degraded = {{ "tea-time", "critical" }}
        }}
    }}
}}
""")
    d = c.start_daemon(c.path("upkeep.conf"))
    for n in ("plain", "own"):
        c.wait_state(n, "RUNNING", timeout=10)
        h.wait_for(lambda n=n: health_state(c, n)[0] == "healthy", 10, f"{n} healthy")

    # an unknown word: degraded, the word in the reason, no restart
    pid = c.inst("plain")["pid"]
    answer(bodies, lock, "/plain", {"status": "sideways", "total_errors": 0})
    h.wait_for(lambda: health_state(c, "plain")[0] == "degraded", 10, "plain degraded")
    h.check("sideways" in health_state(c, "plain")[1],
            f"the word in the reason: {health_state(c, 'plain')}")
    h.check_eq(c.inst("plain")["pid"], pid, "a degraded worker is not restarted")

    # the app's own word for its worst state: unhealthy, restarted
    answer(bodies, lock, "/plain", {"status": "critical", "total_errors": 3})
    h.wait_for(lambda: c.inst("plain")["restarts"] >= 1, 10, "plain restarted on 'critical'")

    # the worker's own field: the top-level "status" is not read
    pid = c.inst("own")["pid"]
    answer(bodies, lock, "/own", {"status": "ok", "data": {"status": "Tea-Time"}})
    h.wait_for(lambda: health_state(c, "own")[0] == "degraded", 10, "own degraded (its word)")
    answer(bodies, lock, "/own", {"status": "ok", "data": {"status": "critical"}})
    h.wait_for(lambda: "critical" in health_state(c, "own")[1], 10, "critical answered")
    h.check_eq((health_state(c, "own")[0], c.inst("own")["pid"]), ("degraded", pid),
               "critical moved to degraded by the worker's words: no restart")
    answer(bodies, lock, "/own", {"status": "fail", "data": {"status": "meltdown"}})
    h.wait_for(lambda: c.inst("own")["restarts"] >= 1, 10, "own restarted on its 'meltdown'")
    # the field missing: degraded, saying where it looked
    answer(bodies, lock, "/own", {"status": "ok"})
    h.wait_for(lambda: "no status at /data/status" in health_state(c, "own")[1], 10,
               "own: the missing field in the reason")
    h.check(d.alive(), "upkeepd alive")


@h.test
def health_status_words_refused(c):
    """A status-field that is no JSON pointer is refused with file:line."""
    conf = c.conf("""worker w {
    command = "sleep 1000"
    health {
        url = "http://127.0.0.1:1/h"
        status-field = "data/status"
    }
}
""")
    r = h.subprocess.run([h.UPKEEPD, "--check-config", "-c", conf], capture_output=True,
                         text=True, timeout=30, stdin=h.subprocess.DEVNULL)
    h.check(r.returncode != 0, "refused")
    h.check("upkeep.conf:" in r.stderr and "JSON pointer" in r.stderr, f"error: {r.stderr}")


@h.test
def supervisord_unexpected_signal_restarts(c):
    """Under autorestart=unexpected a program killed by SIGTERM (or any signal) is restarted, as
    supervisord does; one that exits with a code of exitcodes is not."""
    ini = c.write("supervisord.conf", """[unix_http_server]
file=%(here)s/upkeep.sock

[supervisord]
childlogdir=%(here)s/logs

[program:killed]
command=sh -c 'echo x >> %(here)s/killed.runs; sleep 0.3; kill -TERM $$; sleep 5'
startsecs=0

[program:expected]
command=sh -c 'echo x >> %(here)s/expected.runs; sleep 0.3; exit 3'
startsecs=0
exitcodes=0,3
""")
    d = c.start_daemon(ini)

    def runs(name):
        try:
            with open(c.path(f"{name}.runs")) as f:
                return len(f.readlines())
        except FileNotFoundError:
            return 0
    h.wait_for(lambda: runs("killed") >= 3, 15, "killed (SIGTERM) restarted twice")
    c.wait_state("expected", "EXITED", timeout=10)
    h.check_eq(runs("expected"), 1, "an exit code of exitcodes is not restarted")
    h.check(d.alive(), "upkeepd alive")


@h.test
def clean_exit_native(c):
    """restart { clean-exit = {...} }: what on-failure does not restart; a bad entry is refused
    with file:line."""
    c.conf(h.worker_block("w", f"sh -c 'echo x >> {c.path('w.runs')}; sleep 0.2; kill -TERM $$'",
                          start_secs="0s", restart=dict(policy="on-failure", backoff="100ms",
                                                        clean_exit=["0", "USR1"])) +
           h.worker_block("d", "sh -c 'sleep 0.2; kill -TERM $$'", start_secs="0s",
                          restart=dict(policy="on-failure")))
    d = c.start_daemon(c.path("upkeep.conf"))

    def runs():
        try:
            with open(c.path("w.runs")) as f:
                return len(f.readlines())
        except FileNotFoundError:
            return 0
    h.wait_for(lambda: runs() >= 2, 10, "w (SIGTERM not clean) restarted")
    c.wait_state("d", "EXITED", timeout=10)  # the default: SIGTERM is clean
    h.check(d.alive(), "upkeepd alive")
    bad = c.conf(h.worker_block("w", "sleep 1", restart=dict(clean_exit=["0", "NOPE"])),
                 name="bad.conf")
    r = h.subprocess.run([h.UPKEEPD, "--check-config", "-c", bad], capture_output=True,
                         text=True, timeout=30, stdin=h.subprocess.DEVNULL)
    h.check(r.returncode != 0 and "bad.conf:" in r.stderr and "NOPE" in r.stderr,
            f"refused: {r.returncode} {r.stderr}")


# Commands where a shell's rules and Python's shlex.split() (which supervisord uses) differ, or
# that are easy to get wrong.  None holds " ;", " #" or "%" (supervisord.conf syntax).
SHLEX_TABLE = [
    r'"\$HOME" "\`date\`" "a\\b" "q\"q"',
    'a\\\nb "x\\\ny"',  # continuation lines: configparser strips their indent
    r"'single \$ \` \\' 'it'\''s' '' """,
    r'esc\ aped \$dollar \"dq \'sq back\\slash',
    r'mixed"dq part"'"'sq part'"r'tail \t tab',
    'h#ash# x#y "" "#"',
    'tab\there cr\rhere',
    r'"$HOME" ${X} $(id) `id`',
    r'a"b\"c"d e\\"f"',
]


@h.test
def supervisord_command_shlex(c):
    """Each [program:x] command is split as Python's shlex.split() splits it (what supervisord
    runs), compared with python3's shlex on a table of tricky commands."""
    import shlex
    import sys
    dump = (f"{sys.executable} -c \"import sys,json,os;open(sys.argv[1]+'.tmp','w')"
            f".write(json.dumps(sys.argv[2:]));os.rename(sys.argv[1]+'.tmp',sys.argv[1])\"")
    ini = ["[unix_http_server]", "file=%(here)s/upkeep.sock", "", "[supervisord]",
           "childlogdir=%(here)s/logs", ""]
    for n, tail in enumerate(SHLEX_TABLE):
        # a continuation line starts indented, as configparser wants: the command holds a
        # newline only through a continued value
        tail_ini = tail.replace("\n", "\n    ")
        ini += [f"[program:p{n}]", f"command={dump} %(here)s/p{n}.argv {tail_ini}",
                "autorestart=false", "startsecs=0", ""]
    path = c.write("supervisord.conf", "\n".join(ini))
    d = c.start_daemon(path)
    for n, tail in enumerate(SHLEX_TABLE):
        out = c.path(f"p{n}.argv")
        h.wait_for(lambda out=out: os.path.exists(out), 15, f"{out} written")
        with open(out) as f:
            got = json.load(f)
        h.check_eq(got, shlex.split(tail), f"argv of {tail!r}")
    h.check(d.alive(), "upkeepd alive")


def lines_of(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


@h.test
def supervisord_log_files(c):
    """stdout_logfile is that very file, rotated by its maxbytes and backups; stderr_logfile
    elsewhere is a warning and goes to the same file; [supervisord] logfile is upkeepd's own
    log-file."""
    ini = c.write("supervisord.conf", """[unix_http_server]
file=%(here)s/upkeep.sock

[supervisord]
logfile=%(here)s/sd/supervisord.log
childlogdir=%(here)s/logs

[program:app]
command=sh -c 'for i in $(seq 1 200); do echo "line $i of the app, long enough to fill"; done; exec sleep 1000'
stdout_logfile=%(here)s/app/app.log
stdout_logfile_maxbytes=2KB
stdout_logfile_backups=2
redirect_stderr=true

[program:split]
command=sh -c 'echo to-out; echo to-err >&2; exec sleep 1000'
stdout_logfile=%(here)s/split/out.log
stderr_logfile=%(here)s/split/err.log
""")
    os.mkdir(c.path("sd"))
    d = c.start_daemon(ini)
    c.wait_state("app", "RUNNING", timeout=10)
    app = c.path("app", "app.log")
    h.wait_for(lambda: any("line 200 " in x for x in lines_of(app)), 10, f"{app} written")
    h.check(os.path.exists(app + ".1") and os.path.exists(app + ".2"),
            f"rotated at 2KB: {sorted(os.listdir(c.path('app')))}")
    h.check(not os.path.exists(app + ".3"), "backups=2 keeps two")
    h.check(os.path.getsize(app) <= 2048, f"{app} at most 2KB")
    h.check(not os.path.exists(c.path("logs", "app")), "nothing under childlogdir for app")
    out = c.path("split", "out.log")
    h.wait_for(lambda: {"to-out", "to-err"} <= set(lines_of(out)), 10,
               f"both streams in {out}: {lines_of(out)}")
    h.check(not os.path.exists(c.path("split", "err.log")), "no second file")
    sd = c.path("sd", "supervisord.log")
    h.wait_for(lambda: any("app" in x and "RUNNING" in x for x in lines_of(sd)), 10,
               f"upkeepd's own log in {sd}")
    h.check(d.alive(), "upkeepd alive")
    r = h.subprocess.run([h.UPKEEPD, "--convert", ini], capture_output=True, text=True,
                         timeout=30, stdin=h.subprocess.DEVNULL)
    h.check(f"{ini}:18: [program:split] stderr_logfile: upkeep writes stdout and stderr into "
            "one file" in r.stderr, f"a warning for stderr_logfile: {r.stderr}")


@h.test
def worker_log_file(c):
    """log-file: the exact path (%i the instance), upkeepctl logs reads it; a relative path is
    refused."""
    c.conf(h.worker_block("w", "sh -c 'echo hello-from-$0; exec sleep 1000' %i", instances=2,
                          log_file=c.path("out", "w-%i.log")))
    d = c.start_daemon(c.path("upkeep.conf"))
    for k in (0, 1):
        p = c.path("out", f"w-{k}.log")
        h.wait_for(lambda p=p, k=k: f"hello-from-{k}" in lines_of(p), 10, f"{p} written")
    r = c.ctl("logs", "w:1", "-n", "5")
    h.check(r.returncode == 0 and "hello-from-1" in r.stdout, f"upkeepctl logs w:1: {r}")
    h.check(d.alive(), "upkeepd alive")
    bad = c.conf(h.worker_block("w", "sleep 1", log_file="rel/w.log"), name="bad.conf")
    r = h.subprocess.run([h.UPKEEPD, "--check-config", "-c", bad], capture_output=True,
                         text=True, timeout=30, stdin=h.subprocess.DEVNULL)
    h.check(r.returncode != 0 and "bad.conf:" in r.stderr and "absolute" in r.stderr,
            f"refused: {r.stderr}")


@h.test
def supervisord_event_listeners(c):
    """The "stop the container when a program dies" listener makes every program required
    (upkeepd ends with the dead one's code); supervisor_stdout puts the output of the programs
    that send events on upkeepd's stdout; another listener is a warning naming it."""
    ini = c.write("supervisord.conf", f"""[unix_http_server]
file=%(here)s/upkeep.sock

[supervisord]
nodaemon=true
childlogdir=%(here)s/logs

[program:talker]
command=sh -c 'echo hello-on-stdout; exec sleep 1000'
stdout_events_enabled=true
stderr_events_enabled=true

[program:stays]
command={h.WORKER} --pidfile %(here)s/stays.pid

[program:dies]
command=sh -c 'while [ ! -e %(here)s/die ]; do sleep 0.05; done; exit 3'
autorestart=false
startsecs=0

[eventlistener:processes]
command=bash -c "printf 'READY\\n' && while read line; do kill -SIGQUIT $PPID; done < /dev/stdin"
events=PROCESS_STATE_STOPPED,PROCESS_STATE_EXITED,PROCESS_STATE_FATAL

[eventlistener:stdout]
command = supervisor_stdout
buffer_size = 100
events = PROCESS_LOG
result_handler = supervisor_stdout:event_handler

[eventlistener:memmon]
command=memmon -a 200MB
events=TICK_60
""")
    d = c.start_daemon(ini)
    stays = c.read_pidfile(c.path("stays.pid"))
    h.wait_for(lambda: "talker | hello-on-stdout" in d.output(), 10,
               "talker's output on upkeepd's stdout")
    out = d.output()
    h.check(f"{ini}:31: [eventlistener:memmon] the event listener protocol is not supported"
            in out, f"a warning naming memmon:\n{out[-2000:]}")
    h.check(f"{ini}:21: [eventlistener:processes] stops supervisord when a program dies" in out,
            "the translation said")
    with open(c.path("die"), "w"):
        pass
    rc = d.wait(15)
    d.checked = True
    h.check_eq(rc, 3, "upkeepd's exit code once a program died (required by the listener)")
    h.wait_for(lambda: h.pid_gone(stays), 5, "the other programs stopped")


@h.test
def demo_shows_health_and_alerts(c):
    """conf/demo.conf (its paths, ports and weather cycle made local and short) shows what the
    README says: web healthy, api degraded and back, alerts printed by the console sink, flaky's
    crashes in ERRORS."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "conf", "demo.conf")) as f:
        text = f.read()
    build = os.path.dirname(h.UPKEEPD)
    for old, new in (("/tmp/upkeep-demo", c.dir), ("build/uk-worker", h.WORKER),
                     ("8101", str(h.free_port())), ("8102", str(h.free_port())),
                     ("sleep 60", "sleep 3"), ("sleep 15", "sleep 3")):
        h.check(old in text, f"{old!r} in demo.conf")
        text = text.replace(old, new)
    d = c.start_daemon(c.write("demo.conf", text))
    status = lambda: h.subprocess.run([os.path.join(build, "upkeepctl"), "-s", c.sock, "status"],
                                      capture_output=True, text=True, timeout=30).stdout
    row = lambda name: next((ln.split() for ln in status().splitlines()
                             if ln.split() and ln.split()[0] == name), [])
    h.wait_for(lambda: "healthy" in row("web"), 15, "web healthy in status")
    h.wait_for(lambda: "degraded" in row("api"), 20, "api degraded in status")
    h.wait_for(lambda: "healthy" in row("api"), 20, "api healthy again")
    h.wait_for(lambda: "alerts: console: ALERT firing warning api" in d.output(), 20,
               "the console sink printed api's alert")
    h.wait_for(lambda: row("flaky") and row("flaky")[-1] != "0/5m" and
               any(x.endswith("/5m") and x != "0/5m" for x in row("flaky")), 20,
               "flaky's crashes in ERRORS")
    h.check(d.alive(), "upkeepd alive")
