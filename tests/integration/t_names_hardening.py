"""
Names and strings as upkeepd shows them: signals without a name in the classic table (16, the
real-time ones) keep their number or RTMIN+N name everywhere, and bytes that are not UTF-8 in a
reason or a path become U+FFFD in every JSON output, which stays valid JSON.

upkeepd's own log is read as bytes and decoded strictly: one invalid byte fails the test, as it
would fail a JSON reader.
"""
import json
import os
import signal

import __main__ as h

RT3 = signal.SIGRTMIN + 3  # glibc's, as upkeepd's; 37 on Linux
FFFD = "\ufffd"


def json_log(d):
    """Every line of upkeepd's log (log-format json) as an object; fails on any invalid line."""
    with open(d.log_path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        h.fail(f"upkeepd's JSON log is not UTF-8 at byte {e.start}: "
               f"{raw[max(0, e.start - 80):e.start + 40]!r}")
    out = []
    for ln in text.splitlines():
        if not ln.strip():
            continue
        try:
            out.append(json.loads(ln))
        except ValueError:
            h.fail(f"upkeepd's log: a line that is not JSON: {ln[:200]!r}")
    return out


def status_json(c, *args):
    """upkeepctl status --json, parsed (its stdout decoded strictly)."""
    r = c.ctl("status", "--json", *args)
    try:
        return json.loads(r.stdout)
    except ValueError:
        h.fail(f"upkeepctl status --json is not JSON (rc {r.returncode}):\n{r.stdout[:400]}"
               f"\n{r.stderr[:400]}")


def inst_of(st, name):
    for w in st["workers"]:
        for i in w["instances"]:
            if i["name"] == name:
                return i
    h.fail(f"no instance {name!r} in {st}")


def state_changes(lines, worker, cause):
    return [e for e in lines if e.get("event") == "state-change" and e.get("worker") == worker
            and e.get("cause") == cause]


@h.test
def names_unnamed_signals(c):
    """A worker killed by signal 16 and one killed by SIGRTMIN+3: status text ("signal 16",
    "SIGRTMIN+3"), status JSON and the JSON log's state-change event ("signal": "16",
    "RTMIN+3") keep the number, never "?"."""
    rs = dict(policy="always", backoff="30s", factor=1, max_delay="30s", jitter="0%")
    c.conf('log-format = "json"\n\n' +
           h.worker_block("sig16", f"{h.WORKER} --exit-after 100 --exit-signal 16",
                          start_secs="10ms", restart=rs) +
           h.worker_block("rt3", f"{h.WORKER} --exit-after 100 --exit-signal {RT3}",
                          start_secs="10ms", restart=rs))
    d = c.start_daemon(c.path("upkeep.conf"))
    want = {"sig16": ("16", "signal 16"), "rt3": ("RTMIN+3", "SIGRTMIN+3")}
    for name in want:
        h.wait_for(lambda: c.inst(name)["last_exit"] is not None, 10, f"{name} to exit")

    st = status_json(c)
    text = c.ctl("status").stdout
    for name, (short, label) in want.items():
        i = inst_of(st, name)
        h.check_eq(i["last_exit"], {"signal": short}, f"{name}: status --json last_exit")
        h.check_eq(c.inst(name)["last_exit"], {"signal": short}, f"{name}: status last_exit")
        row = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), None)
        h.check(row is not None and label in row,
                f"{name}: status text does not show {label!r}:\n{text}")
        h.check("SIG?" not in row, f"{name}: status text shows SIG?: {row!r}")

    def logged():
        lines = json_log(d)
        return all(state_changes(lines, n, "exit") for n in want) and lines
    lines = h.wait_for(logged, 5, "a state-change event per worker in the JSON log")
    for name, (short, label) in want.items():
        ev = state_changes(lines, name, "exit")[0]
        h.check_eq(ev.get("signal"), short, f"{name}: state-change event's signal field")
        h.check(f"killed by {label}" in ev["message"],
                f"{name}: state-change message does not say 'killed by {label}': {ev}")
    h.check(not any('"?"' in json.dumps(e) or "SIG?" in e["message"] for e in lines),
            "a '?' for a signal in upkeepd's log")


@h.test
def names_stop_signal_realtime(c):
    """stop-signal accepts the names upkeepd prints (RTMIN+3), and a stop with it shows it."""
    c.conf(h.worker_block("w", h.WORKER, start_secs="100ms", stop_signal="RTMIN+3",
                          stop_timeout="5s"))
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("w", "RUNNING")
    r = c.ctl("stop", "w")
    h.check_eq(r.returncode, 0, f"upkeepctl stop w ({r.stdout} {r.stderr})")
    i = c.wait_state("w", "STOPPED")
    h.check_eq(i["last_exit"], {"signal": "RTMIN+3"}, "last_exit after a stop with RTMIN+3")


def replace_in_file(path, old, new):
    with open(path, "rb") as f:
        data = f.read()
    h.check(old in data, f"{old!r} not in {path}")
    with open(path, "wb") as f:
        f.write(data.replace(old, new))


@h.test
def names_invalid_utf8_reason(c):
    """A spawn-failure reason naming a directory with a byte that is not UTF-8 (0xFF): status
    JSON (socket and upkeepctl) carries it as U+FFFD, not null, and every line of the JSON log
    stays valid JSON with U+FFFD in the state-change event's reason."""
    rs = dict(policy="always", backoff="200ms", factor=1, max_delay="1s", jitter="0%")
    c.conf('log-format = "json"\n\n' +
           h.worker_block("baddir", h.WORKER, directory="/nonexistent/uk-@FF@-dir",
                          start_secs="1s", restart=rs) +
           h.worker_block("good", h.WORKER, start_secs="100ms"))
    replace_in_file(c.path("upkeep.conf"), b"@FF@", b"\xff")
    d = c.start_daemon(c.path("upkeep.conf"))
    want = f"/nonexistent/uk-{FFFD}-dir"

    def reason():
        i = c.inst("baddir")
        return i if i["restarts"] >= 1 and i["reason"] is not None else None
    i = h.wait_for(reason, 10, "baddir to have failed with a reason (not null)")
    h.check(want in i["reason"] and "chdir" in i["reason"],
            f"reason does not carry the directory with U+FFFD: {i['reason']!r}")
    i = inst_of(status_json(c), "baddir")
    h.check(i["reason"] is not None and want in i["reason"],
            f"upkeepctl status --json reason: {i['reason']!r}")
    h.check(want in c.ctl("status").stdout, "plain status does not show the reason")
    c.wait_state("good", "RUNNING")

    def logged():
        return state_changes(json_log(d), "baddir", "spawn-failed")
    ev = h.wait_for(logged, 5, "a spawn-failed state-change in the JSON log")[0]
    h.check(want in ev.get("reason", ""), f"JSON log reason: {ev}")
    h.check(want in ev["message"], f"JSON log message: {ev}")
    h.check(d.alive(), "upkeepd died")


@h.test
def names_invalid_utf8_config_path(c):
    """upkeepd started on a configuration file whose name is not UTF-8 still answers status:
    the "config" field has U+FFFD where the byte was (the whole answer used to fail)."""
    c.conf(h.worker_block("w", h.WORKER, start_secs="100ms"))
    bad = os.path.join(os.fsencode(c.dir), b"upkeep-\xff.conf")
    os.rename(c.path("upkeep.conf"), bad)
    c.start_daemon(os.fsdecode(bad))
    st = c.status()
    h.check_eq(st["daemon"]["config"], os.path.join(c.dir, f"upkeep-{FFFD}.conf"),
               "status daemon.config")
    c.wait_state("w", "RUNNING")
    r = c.ctl("status")
    h.check_eq(r.returncode, 0, f"upkeepctl status ({r.stderr})")
