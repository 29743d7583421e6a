"""
Metrics and the status page: `upkeepctl metrics`, the textfile and the HTTP listener of
metrics { }, checked with Prometheus' own promtool and server and with a headless chromium.
Only processes the test started are stopped, by PID (Popen objects).
"""
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import __main__ as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ALLOWED_LABELS = {"worker", "instance", "state", "status", "reason", "kind", "severity", "sink",
                  "result", "le", "version"}


def promtool_check(c, text):
    """promtool check metrics on text: (ok, its complaints)."""
    tool = shutil.which("promtool")
    if not tool:
        raise h.TestSkip("promtool (Debian package prometheus) is not installed")
    r = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=30)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def parse(text):
    """{(name, frozenset(labels.items())): value}, and the families in # TYPE order."""
    samples, families = {}, []
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            families.append(ln.split()[2])
            continue
        if ln.startswith("#") or not ln:
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', ln)
        h.check(m is not None, f"not a sample line: {ln!r}")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return samples, families


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def metrics_text(c):
    r = c.ctl("metrics")
    h.check_eq(r.returncode, 0, f"upkeepctl metrics exit status ({r.stderr.strip()})")
    return r.stdout


def http_get(url, headers=None, timeout=5):
    """(status, headers, body) of one GET; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def crashy(c, name="crashy", **keys):
    return h.worker_block(name, f"{h.WORKER} --exit-after 100", start_secs="0",
                          restart=dict(backoff="200ms", factor=1, jitter="0%", max_delay="1s"),
                          **keys)


@h.test
def metrics_exposition(c):
    """upkeepctl metrics: promtool accepts it; HELP and TYPE once per family, labels only those
    of the list, one state per instance, restarts by reason equal to what status counts (crash
    and manual), events per kind, upkeepd's own process figures, and a final newline."""
    c.conf(h.worker_block("ok", h.WORKER, instances=2) + crashy(c) +
           "notify journal { type = log }\n")
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("ok:0", "RUNNING")
    c.wait_state("ok:1", "RUNNING")
    h.wait_for(lambda: c.inst("crashy")["restarts"] >= 2, 10, "crashy to restart twice")
    r = c.ctl("restart", "ok:1")
    h.check_eq(r.returncode, 0, f"restart ok:1 ({r.stderr.strip()})")
    c.wait_state("ok:1", "RUNNING")

    text = metrics_text(c)
    ok, why = promtool_check(c, text)
    h.check(ok, f"promtool check metrics: {why}")
    h.check(text.endswith("\n"), "the exposition ends with a newline")
    samples, families = parse(text)
    h.check_eq(len(families), len(set(families)), "each family has one # TYPE line")
    helps = [ln.split()[2] for ln in text.splitlines() if ln.startswith("# HELP ")]
    h.check_eq(helps, families, "one # HELP per family, before its # TYPE")
    labels = {k for (_, ls) in samples for k, _ in ls}
    h.check(labels <= ALLOWED_LABELS, f"unexpected labels: {sorted(labels - ALLOWED_LABELS)}")
    for name in ("upkeep_build_info", "upkeep_worker_up", "upkeep_worker_state",
                 "upkeep_worker_restarts_total", "upkeep_worker_start_time_seconds",
                 "upkeep_worker_events_total", "upkeep_worker_backoff_seconds",
                 "upkeep_worker_circuit_open", "upkeep_health_probe_duration_seconds",
                 "upkeep_alerts_firing", "upkeep_alert_deliveries_total",
                 "upkeep_log_bytes_total", "process_cpu_seconds_total",
                 "process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds"):
        h.check(name in families, f"family {name} in the exposition")
    for fam in families:
        if fam.endswith("_total"):
            h.check(re.search(rf"^# TYPE {fam} counter$", text, re.M), f"{fam} is a counter")

    # one state at a time, per instance, among all states
    st = c.instances()
    for iname, inst in st.items():
        worker = iname.split(":")[0]
        ones = [dict(ls)["state"] for (n, ls), v in samples.items()
                if n == "upkeep_worker_state" and dict(ls)["instance"] == iname and v == 1]
        h.check(len(ones) == 1, f"{iname}: one state set, got {ones}")
        states = {dict(ls)["state"] for (n, ls) in samples
                  if n == "upkeep_worker_state" and dict(ls)["instance"] == iname}
        h.check({"RUNNING", "BACKOFF", "FATAL", "STOPPED"} <= states, f"{iname}: all states")
        up = value(samples, "upkeep_worker_up", worker=worker, instance=iname)
        h.check(up in (0, 1), f"{iname}: upkeep_worker_up is 0 or 1")
    h.check_eq(value(samples, "upkeep_worker_up", worker="ok", instance="ok:0"), 1.0, "ok:0 up")

    # restarts by reason: what status counts (automatic) is crash here; the operator's is manual
    text2 = metrics_text(c)
    samples2, _ = parse(text2)
    crashes = value(samples2, "upkeep_worker_restarts_total", worker="crashy", instance="crashy",
                    reason="crash")
    h.check(crashes is not None and crashes >= 2, f"crashy restarts by crash: {crashes}")
    for why in ("health", "memory", "manual", "reload", "schedule"):
        h.check_eq(value(samples2, "upkeep_worker_restarts_total", worker="crashy",
                         instance="crashy", reason=why), 0.0, f"crashy restarts by {why}")
    h.check_eq(value(samples2, "upkeep_worker_restarts_total", worker="ok", instance="ok:1",
                     reason="manual"), 1.0, "ok:1 restarted once by hand")
    h.check_eq(value(samples2, "upkeep_worker_restarts_total", worker="ok", instance="ok:0",
                     reason="manual"), 0.0, "ok:0 not restarted")
    ev = value(samples2, "upkeep_worker_events_total", worker="crashy", kind="crash")
    h.check(ev is not None and ev >= 2, f"crash events of crashy: {ev}")
    status_crash = c.status("crashy")["workers"][0]["events"]["crash"]["total"]
    h.check(status_crash >= ev, "status counts at least the crashes the metrics counted before")
    # the default rules: a warning after 2 restarts in 10 minutes; the sink's deliveries
    firing = {dict(ls)["severity"]: v for (n, ls), v in samples2.items()
              if n == "upkeep_alerts_firing"}
    h.check_eq(sorted(firing), ["critical", "fatal", "warning"], "alerts_firing severities")
    h.check(firing["warning"] + firing["critical"] >= 1, f"crashy's alert firing: {firing}")
    results = {dict(ls)["result"] for (n, ls) in samples2
               if n == "upkeep_alert_deliveries_total" and dict(ls)["sink"] == "journal"}
    h.check_eq(results, {"sent", "failed", "dropped"}, "deliveries of the sink by result")
    fds = value(samples2, "process_open_fds")
    h.check(fds is not None and fds >= 3, f"process_open_fds: {fds}")
    rss = value(samples2, "process_resident_memory_bytes")
    h.check(rss is not None and rss > 1 << 20, f"process_resident_memory_bytes: {rss}")
    start = value(samples2, "process_start_time_seconds")
    h.check(start is not None and abs(start - time.time()) < 3600, f"process start: {start}")

    r = c.ctl("metrics", "--json")
    h.check(r.returncode == 0 and '"text"' in r.stdout, f"metrics --json: {r.stdout[:200]}")
    r = c.ctl("metrics", "extra")
    h.check_eq(r.returncode, 2, "metrics takes no name")


@h.test
def metrics_textfile(c):
    """metrics { textfile }: written at start and every interval by rename (no temporary file
    left), without timestamps, accepted by promtool; a failure to write is logged once and upkeepd
    goes on."""
    tf = c.path("prom", "upkeep.prom")
    os.makedirs(os.path.dirname(tf))
    c.conf(h.worker_block("ok", h.WORKER) + crashy(c) +
           f"metrics {{\n    textfile = {h.q(tf)}\n    textfile-interval = 1s\n}}\n")
    d = c.start_daemon(c.path("upkeep.conf"))
    h.wait_for(lambda: os.path.exists(tf), 10, "the textfile")
    def ident():
        st = os.stat(tf)
        return st.st_ino, st.st_mtime_ns
    first = ident()

    def rewritten():
        try:
            return ident() != first
        except FileNotFoundError:
            return False
    h.wait_for(rewritten, 10, "the textfile replaced by a new one (rename)")
    with open(tf) as f:
        text = f.read()
    ok, why = promtool_check(c, text)
    h.check(ok, f"promtool check metrics on the textfile: {why}")
    samples, _ = parse(text)
    h.check(all(len(ln.split(" ")) == 2 for ln in text.splitlines() if not ln.startswith("#")),
            "no timestamps after the values")
    h.check("upkeep_worker_up" in text and 'worker="crashy"' in text, "the workers are in it")
    h.check_eq([f for f in os.listdir(os.path.dirname(tf)) if f != "upkeep.prom"], [],
               "no temporary file left beside the textfile")

    # the directory made unwritable: logged once, upkeepd goes on; writable again: logged
    os.rename(os.path.dirname(tf), c.path("prom-gone"))
    h.wait_for(lambda: "cannot write" in d.output(), 10, "a warning about the textfile")
    time.sleep(0)  # the warning is not repeated: counted after more intervals below
    c.wait_state("ok", "RUNNING")
    os.rename(c.path("prom-gone"), os.path.dirname(tf))
    h.wait_for(lambda: "written again" in d.output(), 10, "the recovery logged")
    h.check_eq(d.output().count("cannot write"), 1, "the failure was logged once")


@h.test
def metrics_sample_every_worker(c):
    """With metrics { sample-all = yes }, a worker without memory-* or cpu-warn is sampled too:
    its memory is in the exposition and in status; with metrics alone it is not (memory null,
    no CPU between scrapes)."""
    tf = c.path("upkeep.prom")
    plain = h.worker_block("plain", h.WORKER, memory_interval="200ms")
    metrics = f"metrics {{\n    textfile = {h.q(tf)}\n    textfile-interval = 1s\n"
    c.conf(plain + metrics + "}\n")
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("plain", "RUNNING")
    h.wait_for(lambda: os.path.exists(tf), 10, "the textfile")
    h.check_eq(c.inst("plain")["memory"], None, "status memory with metrics alone")
    c.conf(plain + metrics + "    sample-all = yes\n}\n")
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload: {r.stdout} {r.stderr}")

    def sampled():
        try:
            with open(tf) as f:
                samples, _ = parse(f.read())
        except FileNotFoundError:
            return None
        v = value(samples, "upkeep_worker_memory_bytes", worker="plain", instance="plain")
        return v if v and v > 0 else None
    mem = h.wait_for(sampled, 10, "upkeep_worker_memory_bytes of plain in the textfile")
    i = c.inst("plain")
    h.check(i["memory"] is not None and i["memory"]["bytes"] > 0,
            f"status memory of plain with metrics: {i['memory']}")
    with open(f"/proc/{i['pid']}/status") as f:
        rss = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmRSS:"))
    h.check(0 < mem <= rss * 1.1, f"its memory {mem} against the process's RSS {rss}")


@h.test
def metrics_config_errors(c):
    """A listen address that is not ADDRESS:PORT, an interval out of range, a token file that
    cannot be read: refused with file:line (or at start), nothing served."""
    for bad, needle in (('listen = "localhost:9310"', "expected ADDRESS:PORT"),
                        ('listen = "127.0.0.1"', "expected ADDRESS:PORT"),
                        ('listen = "127.0.0.1:99999"', "expected ADDRESS:PORT"),
                        ('listen = "[::1:9310"', "expected ADDRESS:PORT"),
                        ('textfile-interval = 10ms', "out of range"),
                        ('textfile = ""', "empty path")):
        conf = c.conf(h.worker_block("w", h.WORKER) + f"metrics {{\n    {bad}\n}}\n")
        r = subprocess.run([h.UPKEEPD, "--check-config", "-c", conf], capture_output=True,
                           text=True, timeout=30)
        h.check_eq(r.returncode, 2, f"--check-config exit status for {bad}")
        h.check(re.search(r"upkeep\.conf:\d+: ", r.stderr) and needle in r.stderr,
                f"{bad}: file:line and {needle!r} in {r.stderr.strip()!r}")
    port = h.free_port()
    conf = c.conf(h.worker_block("w", h.WORKER) +
                  f'metrics {{\n    listen = "127.0.0.1:{port}"\n'
                  f'    token-file = {h.q(c.path("missing-token"))}\n}}\n')
    d = c.start_daemon(conf, wait_ready=False)
    rc = d.wait(20)
    d.checked = True
    h.check(rc not in (None, 0), f"upkeepd refuses to start without its token file (rc {rc})")
    h.check("missing-token" in d.output(), "the error names the token file")


def listener_conf(c, port, extra="", workers=None):
    return c.conf((workers or h.worker_block("ok", h.WORKER)) +
                  f'metrics {{\n    listen = "127.0.0.1:{port}"\n{extra}}}\n')


@h.test
def metrics_http(c):
    """The listener: /metrics equals the families of upkeepctl metrics, /status.json is the
    status document, /healthz, a 404, 405 for POST (and the connection closed), the security
    headers; with token-file every path but /healthz needs the bearer token."""
    port = h.free_port()
    tok = c.write("token", "s3cret-token\n")
    os.chmod(tok, 0o600)
    listener_conf(c, port, f"    token-file = {h.q(tok)}\n")
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("ok", "RUNNING")
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Bearer s3cret-token"}

    code, hd, body = http_get(base + "/healthz")
    h.check_eq((code, body), (200, "ok\n"), "/healthz without a token")
    for path in ("/metrics", "/status.json", "/"):
        code, hd, _ = http_get(base + path)
        h.check_eq(code, 401, f"{path} without the token")
        code, _, _ = http_get(base + path, {"Authorization": "Bearer s3cret-tokeX"})
        h.check_eq(code, 401, f"{path} with a wrong token")
        code, _, _ = http_get(base + path, {"Authorization": "Bearer s3cret-token-longer"})
        h.check_eq(code, 401, f"{path} with a longer token")
    code, hd, body = http_get(base + "/metrics", auth)
    h.check_eq(code, 200, "/metrics with the token")
    h.check(hd["Content-Type"].startswith("text/plain; version=0.0.4"), hd["Content-Type"])
    ok, why = promtool_check(c, body)
    h.check(ok, f"promtool check metrics on /metrics: {why}")
    h.check_eq(parse(body)[1], parse(metrics_text(c))[1], "the same families as upkeepctl")
    code, hd, body = http_get(base + "/status.json", auth)
    h.check_eq(code, 200, "/status.json")
    import json
    st = json.loads(body)
    h.check(st["ok"] is True and st["workers"][0]["name"] == "ok", "the status document")
    h.check_status_schema(st)
    code, hd, body = http_get(base + "/", auth)
    h.check_eq(code, 200, "/")
    h.check_eq(hd["Content-Security-Policy"], "default-src 'none'; style-src 'unsafe-inline'",
               "CSP of the page")
    h.check_eq(hd["X-Content-Type-Options"], "nosniff", "nosniff")
    h.check(hd["Content-Type"].startswith("text/html"), "the page is HTML")
    h.check("<script" not in body.lower(), "no script in the page")
    code, _, _ = http_get(base + "/nope", auth)
    h.check_eq(code, 404, "an unknown path")

    # POST: 405, and the connection is closed after the answer
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    buf = b""
    deadline = time.monotonic() + 5 * h.TIME_SCALE
    while time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    h.check(buf.startswith(b"HTTP/1.1 405"), f"POST answered 405: {buf[:80]!r}")
    h.check(b"Allow: GET, HEAD" in buf, "with Allow")
    h.check(time.monotonic() < deadline, "and the connection closed")


def control_and_probe_keep_pace(c, probe_file, seconds):
    """For `seconds`, the control socket answers every request within 2 s and the probed worker
    stays RUNNING and healthy, its probe counter going up."""
    first = c.inst("probed")["health"]["probes_sent"]
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        t0 = time.monotonic()
        i = c.inst("probed")
        h.check(time.monotonic() - t0 < 2 * h.TIME_SCALE, "a status answer within 2 s")
        h.check_eq((i["state"], i["health"]["state"]), ("RUNNING", "healthy"), "probed worker")
        n += 1
        time.sleep(0.1)
    h.wait_for(lambda: c.inst("probed")["health"]["probes_sent"] > first + 2, 5,
               "probes going on")
    return n


@h.test
def metrics_hostile_clients(c):
    """1000 idle connections, a 1 MB header, POST with a body, a slowloris: refused or dropped,
    while the control socket answers and a probed worker is probed every 200 ms and stays
    healthy; afterwards the listener serves again."""
    port, hport = h.free_port(), h.free_port()
    hf, blk = h.health_worker(c, "probed", hport)
    h.set_health(hf, "healthy")
    blk = h.with_health(blk, url=f"http://127.0.0.1:{hport}/health", interval="200ms",
                        timeout="1s", start_interval="100ms")
    listener_conf(c, port, workers=blk)
    d = c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("probed", "RUNNING")
    base = f"http://127.0.0.1:{port}"
    h.check_eq(http_get(base + "/healthz")[0], 200, "the listener answers")
    t0, sent0 = time.monotonic(), c.inst("probed")["health"]["probes_sent"]

    # 1000 idle connections (as many as the kernel accepts into the backlog)
    idle = []
    for _ in range(1000):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        idle.append(s)
    c.closers.append(lambda: [s.close() for s in idle])
    n = control_and_probe_keep_pace(c, hf, 2)
    h.check(n > 5, "the control socket answered while 1000 connections were held")
    h.check(d.alive(), "upkeepd alive")
    fds = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    h.check(fds < 200, f"upkeepd holds {fds} descriptors: the connections are capped")
    for s in idle:
        s.close()
    idle.clear()

    # a 1 MB header: refused (431 or closed), not buffered
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        ans = s.recv(4096)
    except OSError:
        ans = b""  # closed while we sent: dropped
    s.close()
    h.check(ans == b"" or ans.startswith(b"HTTP/1.1 431") or ans.startswith(b"HTTP/1.1 413")
            or ans.startswith(b"HTTP/1.1 400"), f"a 1 MB header is refused: {ans[:60]!r}")

    # slowloris: 20 clients sending a header byte by byte; the listener drops them at its
    # memory limit or idle timeout, and meanwhile everything else keeps its pace
    slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
    c.closers.append(lambda: [s.close() for s in slow])
    for s in slow:
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass  # refused at once (over the cap): dropped is what we want
    end = time.monotonic() + 2
    while time.monotonic() < end:
        for s in slow:
            try:
                s.sendall(b"X")
            except OSError:
                pass
        control_and_probe_keep_pace(c, hf, 0.2)
    for s in slow:
        s.close()

    # a POST with a body: 405 (the method is refused before the body is read), or the
    # connection reset when it closes with the body unread
    def served_again():
        try:
            return http_get(base + "/metrics")[0] == 200
        except OSError:
            return False
    h.wait_for(served_again, 15, "/metrics served after the slow clients")
    req = urllib.request.Request(base + "/metrics", data=b"x" * 1000, method="POST")
    try:
        urllib.request.urlopen(req, timeout=5)
        h.fail("POST accepted")
    except urllib.error.HTTPError as e:
        h.check_eq(e.code, 405, "POST refused")
    except ConnectionResetError:
        pass

    # afterwards: served again, and the probes kept their period (200 ms) all along: at least
    # half of the probes due were sent (a stalled loop would send none)
    h.wait_for(served_again, 15, "/metrics served again")
    h.check(d.alive(), "upkeepd alive after all that")
    due = (time.monotonic() - t0) / 0.2
    sent = c.inst("probed")["health"]["probes_sent"] - sent0
    h.check(sent >= due / 2, f"{sent} probes sent of {due:.0f} due during the attack")


@h.test
def metrics_prometheus_scrape(c):
    """The real Prometheus server scrapes the listener: its API reports the target up == 1, and
    upkeep_worker_restarts_total{reason="crash"} queried from it equals the restarts upkeep
    shows for the crashing worker once it gave up."""
    prom = shutil.which("prometheus")
    if not prom:
        raise h.TestSkip("prometheus is not installed")
    port, pport = h.free_port(), h.free_port()
    listener_conf(c, port, workers=h.worker_block(
        "crashy", f"{h.WORKER} --exit-after 100", start_secs="0",
        restart=dict(backoff="100ms", factor=1, jitter="0%", give_up="3 in 1m")))
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("crashy", "FATAL", timeout=20)
    restarts = c.inst("crashy")["restarts"]
    h.check(restarts >= 1, f"crashy restarted before giving up ({restarts})")
    # the shipped example, with this test's target and a 1 s scrape interval
    with open(os.path.join(ROOT, "conf", "prometheus", "prometheus.yml")) as f:
        conf = f.read()
    conf = conf.replace("127.0.0.1:9310", f"127.0.0.1:{port}")
    conf = re.sub(r"(scrape|evaluation)_interval: \S+", r"\1_interval: 1s", conf)
    h.check(f"127.0.0.1:{port}" in conf, "the example's target replaced")
    c.write("prom.yml", conf)
    shutil.copy(os.path.join(ROOT, "conf", "prometheus", "upkeep-rules.yml"), c.path())
    log = open(c.path("prometheus.log"), "wb")
    p = subprocess.Popen([prom, f"--config.file={c.path('prom.yml')}",
                          f"--storage.tsdb.path={c.path('tsdb')}",
                          f"--web.listen-address=127.0.0.1:{pport}"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    c.closers.append(lambda: (p.terminate(), p.wait(20)))
    import json
    api = f"http://127.0.0.1:{pport}/api/v1"

    def get(path):
        try:
            code, _, body = http_get(api + path, timeout=3)
            return json.loads(body) if code == 200 else None
        except (OSError, ValueError):
            return None

    def target_up():
        t = get("/targets")
        act = t and t["data"]["activeTargets"]
        return act if act and act[0]["health"] == "up" else None
    h.wait_for(target_up, 60, "Prometheus to report the target up")
    q = urllib.parse.quote('upkeep_worker_restarts_total{worker="crashy",reason="crash",'
                           'upkeep_instance="crashy"}')

    def queried():
        r = get(f"/query?query={q}")
        res = r and r["data"]["result"]
        return res if res else None
    res = h.wait_for(queried, 30, "the restarts in Prometheus")
    h.check_eq(float(res[0]["value"][1]), float(restarts), "restarts queried from Prometheus")
    up = get("/query?query=" + urllib.parse.quote('up{job="upkeep"}'))["data"]["result"]
    h.check_eq(up[0]["value"][1], "1", "up == 1")


@h.test
def metrics_page_chromium(c):
    """The page rendered by headless chromium shows every worker and its state; a reason with
    HTML in it (a command named <script>...) is shown as text, and no script runs."""
    chromium = shutil.which("chromium")
    if not chromium:
        raise h.TestSkip("chromium is not installed")
    port = h.free_port()
    evil = "/nonexistent/<script>document.title=1</script><b>bold</b>"
    workers = (h.worker_block("web", h.WORKER, instances=2) +
               h.worker_block("evil", evil, restart=dict(backoff="10m", max_delay="10m")) +
               h.worker_block("idle", h.WORKER, autostart=False))
    listener_conf(c, port, workers=workers)
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("web:1", "RUNNING")
    c.wait_state("evil", "BACKOFF", timeout=20)
    home = c.path("chromium-home")
    os.makedirs(home)
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={home}", "--dump-dom", f"http://127.0.0.1:{port}/"],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=home))
    dom = r.stdout
    h.check("<table" in dom, f"chromium rendered the page: {dom[:300]!r} {r.stderr[-300:]!r}")
    for name, state in (("web:0", "RUNNING"), ("web:1", "RUNNING"), ("evil", "BACKOFF"),
                        ("idle", "STOPPED")):
        h.check(re.search(rf"<td>{re.escape(name)}(<div[^>]*>.*?</div>)?</td><td><span "
                          rf"class=\"st [a-z]+\">{state}</span>", dom),
                f"{name} shown {state}")
    h.check("&lt;script&gt;document.title=1&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in dom,
            f"the reason shown as text: {dom[dom.find('<td>evil'):][:400]!r}")
    h.check("<b>bold</b>" not in dom and "<title>upkeep</title>" in dom, "no HTML from the reason")
    shot = c.path("page.png")
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={home}", "--window-size=412,800",
                        f"--screenshot={shot}", f"http://127.0.0.1:{port}/"],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=home))
    h.check(os.path.exists(shot) and os.path.getsize(shot) > 1000, "a screenshot was taken")


@h.test
def metrics_examples(c):
    """conf/prometheus: the scrape configuration passes promtool check config, the alerting
    rules promtool check rules, and every upkeep_ metric the rules and the Grafana dashboard
    name is one upkeepd exposes."""
    tool = shutil.which("promtool")
    if not tool:
        raise h.TestSkip("promtool (Debian package prometheus) is not installed")
    d = os.path.join(ROOT, "conf", "prometheus")
    for what, f in (("rules", "upkeep-rules.yml"), ("config", "prometheus.yml")):
        r = subprocess.run([tool, "check", what, os.path.join(d, f)], capture_output=True,
                           text=True, timeout=30)
        h.check_eq(r.returncode, 0, f"promtool check {what} {f}: {r.stdout}{r.stderr}")
    import json
    with open(os.path.join(d, "grafana-dashboard.json")) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    with open(os.path.join(d, "upkeep-rules.yml")) as f:
        exprs.append(f.read())
    c.conf(h.worker_block("ok", h.WORKER))
    c.start_daemon(c.path("upkeep.conf"))
    _, families = parse(metrics_text(c))
    named = set(re.findall(r"\b((?:upkeep|process)_[a-z_]+?)(?:_bucket)?\b", " ".join(exprs)))
    named.discard("upkeep_instance")  # the label the scrape configuration renames to
    h.check(len(named) >= 8, f"the examples name the metrics: {sorted(named)}")
    unknown = sorted(n for n in named if n not in families)
    h.check(not unknown, f"metrics the examples name but upkeepd does not expose: {unknown}")


@h.test
def metrics_restart_reasons_and_reload(c):
    """Restarts counted by reason: health when the probes asked for it, reload when a reload
    changed the command, kept across that reload; a reload adds the listener, changes the
    token (the new one asked for from then on) and removes the listener again."""
    hport, port = h.free_port(), h.free_port()
    hf, blk = h.health_worker(c, "probed", hport)
    h.set_health(hf, "healthy")
    blk = h.with_health(blk, url=f"http://127.0.0.1:{hport}/health", interval="100ms",
                        timeout="1s", failures=2, start_interval="100ms")
    other = h.worker_block("other", h.WORKER)
    c.conf(blk + other)
    c.start_daemon(c.path("upkeep.conf"))
    c.wait_state("probed", "RUNNING")
    c.wait_state("other", "RUNNING")

    def restarts(worker, why):
        return value(parse(metrics_text(c))[0], "upkeep_worker_restarts_total", worker=worker,
                     instance=worker, reason=why)
    h.set_health(hf, "fail500")
    h.wait_for(lambda: restarts("probed", "health") == 1, 15, "a restart by health")
    h.set_health(hf, "healthy")
    c.wait_state("probed", "RUNNING")
    h.check_eq(restarts("probed", "crash"), 0.0, "not counted as a crash")

    # a reload that changes other's command restarts it, and adds the listener with a token
    tok = c.write("token", "first\n")
    c.conf(blk + h.worker_block("other", h.WORKER + " --term-delay 0") +
           f'metrics {{\n    listen = "127.0.0.1:{port}"\n    token-file = {h.q(tok)}\n}}\n')
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"reload ({r.stdout}{r.stderr})")
    c.wait_state("other", "RUNNING")
    h.wait_for(lambda: restarts("other", "reload") == 1, 10, "other restarted by the reload")
    h.check_eq(restarts("probed", "health"), 1.0, "probed's count kept across the reload")
    base = f"http://127.0.0.1:{port}"
    h.check_eq(http_get(base + "/metrics", {"Authorization": "Bearer first"})[0], 200,
               "the listener added by the reload, with its token")
    c.write("token", "second\n")
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, "reload with a new token")
    h.check_eq(http_get(base + "/metrics", {"Authorization": "Bearer first"})[0], 401,
               "the old token refused")
    h.check_eq(http_get(base + "/metrics", {"Authorization": "Bearer second"})[0], 200,
               "the new token accepted")
    c.conf(blk + h.worker_block("other", h.WORKER + " --term-delay 0"))
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, "reload without metrics")

    def refused():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return False
        except OSError:
            return True
    h.wait_for(refused, 10, "the listener closed by the reload")
