"""
The supervisord.conf import against supervisord's own parser: a table of real-world-shaped
snippets (Laravel, Celery, gunicorn, container images with their event listeners, AWX's
supervisor_stdout, ...) read by supervisor.options.ServerOptions (Debian's `supervisor`
package) and by upkeep (build/uk-confdump: the configuration as upkeepd understood it), compared
program by program: name, command argv, directory, restart policy, stop signal and timeout, log
path and rotation, required.  Skipped where no python3 can import supervisor.
"""
import json
import os
import re
import shlex
import signal
import subprocess
import sys

import __main__ as h

# What supervisord read, as JSON, from a python3 that has the package (run as a child: the
# interpreter running the tests may be another one).
SUPERVISORD_DUMP = r'''
import json, sys, types
# supervisor_stdout (AWX's listener) is a pip package, not in Debian: its handler, by name
stdout_module = types.ModuleType("supervisor_stdout")
stdout_module.event_handler = lambda event, response: None
sys.modules["supervisor_stdout"] = stdout_module
from supervisor.options import ServerOptions
from supervisor import datatypes
from supervisor.options import ProcessGroupConfig
o = ServerOptions()
o.configfile = sys.argv[1]
o.process_config(do_usage=False)
def policy(a):
    if a is datatypes.RestartWhenExitUnexpected:
        return "on-failure"
    return "always" if a else "never"
def logfile(v):
    return v if isinstance(v, str) else None if v is None else "AUTO"
groups = []
for g in o.process_group_configs:
    kind = "program" if type(g) is ProcessGroupConfig else type(g).__name__
    procs = [dict(name=p.name, command=p.command, directory=p.directory, umask=p.umask,
                  policy=policy(p.autorestart), exitcodes=sorted(p.exitcodes),
                  stop_signal=p.stopsignal, stop_timeout=p.stopwaitsecs,
                  stdout_logfile=logfile(p.stdout_logfile),
                  maxbytes=p.stdout_logfile_maxbytes, backups=p.stdout_logfile_backups,
                  events=bool(p.stdout_events_enabled or p.stderr_events_enabled))
             for p in g.process_configs]
    groups.append(dict(name=g.name, kind=kind, procs=procs))
print(json.dumps(dict(groups=groups, directory=o.directory, umask=o.umask,
                      nodaemon=bool(o.nodaemon), logfile=logfile(o.logfile))))
'''


def supervisor_python():
    for exe in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import supervisor.options"], capture_output=True).returncode == 0:
            return exe
    return None


# Each snippet: the text after a common [unix_http_server] and [supervisord] head (HEAD), and
# what cannot be read from supervisord's parse alone: whether the listeners make every program
# required, and whether a supervisor_stdout listener takes the output.
HEAD = """[unix_http_server]
file=%(here)s/upkeep.sock

[supervisord]
logfile=%(here)s/logs/supervisord.log
childlogdir=%(here)s/logs
"""

SNIPPETS = {
    # Laravel's documented queue worker: numprocs with a padded name, one log file
    "laravel": (HEAD + """nodaemon=true

[program:laravel-worker]
process_name=%(program_name)s_%(process_num)02d
command=php %(here)s/artisan queue:work sqs --sleep=3 --tries=3 --max-time=3600
autostart=true
autorestart=true
stopasgroup=true
killasgroup=true
numprocs=4
redirect_stderr=true
stdout_logfile=%(here)s/storage/logs/worker.log
stopwaitsecs=3600
""", dict(required=False, events_stdout=False)),
    # Celery: a quoted node name with %h, one file per process, rotation
    "celery": (HEAD + """
[program:celery]
command=celery -A proj worker --loglevel=INFO -n "worker%(process_num)d@%%h"
directory=%(here)s
numprocs=2
process_name=%(program_name)s_%(process_num)d
stdout_logfile=%(here)s/celery/worker-%(process_num)d.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
autostart=true
autorestart=unexpected
startsecs=10
stopwaitsecs = 600
stopasgroup=true
priority=1000
""", dict(required=False, events_stdout=False)),
    # gunicorn behind nginx, [supervisord] directory and umask (supervisord daemonizes)
    "gunicorn": (HEAD + """directory=%(here)s/srv
umask=027

[program:gunicorn]
command=%(here)s/venv/bin/gunicorn app.wsgi:application --bind "127.0.0.1:8000" --access-logfile - --error-logfile -
stopsignal=QUIT
stopwaitsecs=30
exitcodes=0,2
stdout_logfile=%(here)s/app/gunicorn.log
stdout_logfile_maxbytes=0

[program:nginx]
command=/usr/sbin/nginx -g "daemon off;"
autorestart=true
stopsignal=INT
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
""", dict(required=False, events_stdout=False)),
    # the shell's rules are not shlex's: backslashes inside double quotes, escapes outside
    "shlex": (HEAD + r"""
[program:tricky]
command=/bin/sh -c "echo \$HOME \`date\` \\ done" 'single \$' esc\ aped
autorestart=false
startsecs=0
""", dict(required=False, events_stdout=False)),
    # a container image: stop the container when a program dies, output on stdout
    "container": (HEAD + """nodaemon=true

[program:php-fpm]
command=php-fpm8.2 -F
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
redirect_stderr=true
autorestart=unexpected
stopsignal=QUIT

[program:nginx]
command=nginx -g 'daemon off;'
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
redirect_stderr=true

[eventlistener:processes]
command=bash -c "printf 'READY\\n' && while read line; do kill -SIGQUIT $PPID; done < /dev/stdin"
events=PROCESS_STATE_STOPPED,PROCESS_STATE_EXITED,PROCESS_STATE_FATAL
""", dict(required=True, events_stdout=False,
            warnings=["[eventlistener:processes] stops supervisord when a program dies"])),
    # AWX: supervisor_stdout forwards the programs' output to the container's stdout
    "awx": (HEAD + """nodaemon=true

[program:dispatcher]
command=awx-manage run_dispatcher
directory=%(here)s
autorestart=true
stopasgroup=true
killasgroup=true
stdout_events_enabled=true
stderr_events_enabled=true

[program:callback-receiver]
command=awx-manage run_callback_receiver
autorestart=true
stopsignal=KILL
stdout_events_enabled=true
stderr_events_enabled=true

[eventlistener:stdout]
command = supervisor_stdout
buffer_size = 100
events = PROCESS_LOG
result_handler = supervisor_stdout:event_handler

[eventlistener:superwatcher]
command=stop-supervisor
events=PROCESS_STATE_FATAL
""", dict(required=True, events_stdout=True,
            warnings=["[eventlistener:stdout] supervisor_stdout",
                      "[eventlistener:superwatcher] stops supervisord when a program dies"])),
    # CVAT/Zulip-style FastCGI program: its socket held by upkeep, passed as standard input
    "fcgi": (HEAD + """
[fcgi-program:uvicorn]
socket=unix://%(here)s/uvicorn.sock
command=uvicorn --fd 0 app:app
numprocs=2
process_name=%(program_name)s-%(process_num)s

[program:worker]
command=python3 -m app.worker
""", dict(required=False, events_stdout=False, warnings=[])),
}


def expand_instance(s, index):
    """upkeep's %i (the instance number) and %% (a '%')."""
    return re.sub(r"%(%|i)", lambda m: "%" if m.group(1) == "%" else str(index), s)


def signal_name(n):
    return signal.Signals(n).name[3:]


def upkeep_process(workers, group, k, proc):
    """The upkeep worker (and instance number) standing for process k of a supervisord group:
    a worker of the process's name, or the group's worker with instances."""
    by_name = {w["name"]: w for w in workers}
    if proc["name"] in by_name and by_name[proc["name"]]["instances"] == 1:
        return by_name[proc["name"]], 0
    w = by_name.get(group["name"])
    h.check(w is not None, f"no worker for {proc['name']} (have {sorted(by_name)})")
    h.check_eq(w["instances"], len(group["procs"]), f"instances of {w['name']}")
    return w, k


def compare(name, sv, uk, expect):
    programs = [g for g in sv["groups"] if g["kind"] in ("program", "FastCGIGroupConfig")]
    h.check(programs, f"{name}: supervisord read programs")
    daemonizes = not sv["nodaemon"]
    count = 0
    for g in programs:
        for k, p in enumerate(g["procs"]):
            w, i = upkeep_process(uk["workers"], g, k, p)
            what = f"{name}: {p['name']} as {w['name']}"
            h.check_eq([expand_instance(a, i) for a in w["argv"]], shlex.split(p["command"]),
                       f"{what}: argv")
            directory = p["directory"] or (sv["directory"] if daemonizes else None)
            h.check_eq(w["directory"], directory, f"{what}: directory")
            umask = p["umask"] if p["umask"] is not None else \
                (sv["umask"] if daemonizes else None)
            h.check_eq(w["umask"], -1 if umask is None else umask, f"{what}: umask")
            h.check_eq(w["policy"], p["policy"], f"{what}: restart policy")
            if p["policy"] == "on-failure":
                # supervisord restarts a death by any signal: its status is never expected
                h.check_eq((w["clean"]["codes"], w["clean"]["signals"]), (p["exitcodes"], []),
                           f"{what}: clean ends")
            h.check_eq(w["stop_signal"], signal_name(p["stop_signal"]), f"{what}: stop signal")
            h.check_eq(w["stop_timeout_s"], float(p["stop_timeout"]), f"{what}: stop timeout")
            log = p["stdout_logfile"]
            if expect["events_stdout"] and p["events"]:
                h.check_eq(w["log_dir"], "-", f"{what}: output on upkeepd's stdout")
            elif log in ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"):
                h.check_eq((w["log_dir"], w["log_file"]), ("-", None), f"{what}: stdout")
            elif log == "AUTO":
                h.check_eq(w["log_file"], None, f"{what}: log under childlogdir")
                h.check_eq((w["log_max_size"], w["log_keep"]), (p["maxbytes"], p["backups"]),
                           f"{what}: rotation")
            elif log:
                h.check_eq(expand_instance(w["log_file"] or "", i), log, f"{what}: log path")
                h.check_eq((w["log_max_size"], w["log_keep"]), (p["maxbytes"], p["backups"]),
                           f"{what}: rotation")
            h.check_eq(w["required"], expect["required"], f"{what}: required")
            count += 1
    h.check_eq(sum(w["instances"] for w in uk["workers"]), count,
               f"{name}: as many processes as supervisord's")
    for want in expect.get("warnings", []):
        h.check(want in (uk["warnings"] or ""), f"{name}: a warning {want!r}: {uk['warnings']}")
    if sv["logfile"] and sv["logfile"].startswith("/") and not sv["logfile"].startswith("/dev/"):
        h.check_eq(uk["log_file"], sv["logfile"], f"{name}: upkeepd's own log-file")
    return count


@h.test
def supervisord_compare_parser(c):
    """Every snippet of the table read by supervisord's own parser and by upkeep: the same
    programs, argv, directory, restart policy, stop signal and timeout, log path and rotation,
    required."""
    exe = supervisor_python()
    if not exe:
        raise h.TestSkip("no python3 here can import supervisor.options (Debian: supervisor)")
    for d in ("logs", "storage/logs", "celery", "app", "srv", "venv/bin"):
        os.makedirs(c.path(d), exist_ok=True)
    total = 0
    for name, (text, expect) in SNIPPETS.items():
        path = c.write(f"{name}.conf", text)
        r = subprocess.run([exe, "-c", SUPERVISORD_DUMP, path], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        h.check_eq(r.returncode, 0, f"{name}: supervisord's parser: {r.stderr}")
        sv = json.loads(r.stdout)
        r = subprocess.run([os.path.join(h.BUILD, "uk-confdump"), path],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        h.check_eq(r.returncode, 0, f"{name}: upkeep: {r.stderr}")
        total += compare(name, sv, json.loads(r.stdout), expect)
    h.check_eq(total, 16, "processes compared")
