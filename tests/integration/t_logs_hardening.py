"""
Worker output capture against hostile or broken log paths (hardening issue, items 1, 9, 12,
13): a log file swapped for a symlink is not followed by root, a FIFO or an unread stdout
stalls only its own worker, a deleted log directory is made again, and an overflow = drop
flood logs a bounded number of episode lines.  Writers and helpers come from t_logs.py.
"""
import os
import pwd
import shutil
import subprocess
import time

import __main__ as h
import t_logs as tl


def nobody():
    if os.geteuid() != 0:
        raise h.TestSkip("needs root (upkeepd drops to user nobody)")
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise h.TestSkip("no user nobody")


def size(p):
    try:
        return os.path.getsize(p)
    except OSError:
        return -1


def grows(path, by, timeout, what):
    s0 = size(path)
    h.wait_for(lambda: size(path) >= s0 + by, timeout, what)


@h.test
def logs_symlink_not_followed(c):
    """user = nobody owns its log directory and swaps its log for a symlink to a root-owned
    file: after `upkeepctl logs --reopen` (and SIGUSR1) root writes nothing there; the refusal
    is in status (failing) and in upkeepd's log; the worker's output is held, not lost, and
    flows again into a fresh file once the link is gone."""
    nb = nobody()
    os.chmod(c.dir, 0o755)  # nobody reads the writer script
    w = tl.writer(c)
    c.conf('log-format = json\n\n' + tl.wb("w", f"{w} forever 200", start_secs="100ms",
                                            user="nobody"))
    d = c.start_daemon(c.path("upkeep.conf"))
    wdir = os.path.join(c.logdir, "w")
    log = os.path.join(wdir, "w.log")
    h.wait_for(lambda: size(log) > 1000, 10, f"lines in {log}")
    os.chown(wdir, nb.pw_uid, nb.pw_gid)  # what the worker may be given by its admin
    target = c.write("precious", "root's file\n")
    os.chmod(target, 0o644)
    before = open(target, "rb").read()
    # what the worker can do in a directory it owns (done here, as root, for determinism)
    os.symlink(target, log + ".new")
    os.rename(log + ".new", log)
    r = c.ctl("logs", "--reopen")
    h.check_eq(r.returncode, 0, f"upkeepctl logs --reopen ({r.stderr!r})")
    h.hold_for(lambda: open(target, "rb").read() == before, 1.0,
               "the symlink's target unchanged")
    h.wait_for(lambda: tl.output_of(c, "w")["failing"], 10, "w's output failing after reopen")
    ev = [e for e in tl.json_lines(d.output(), "upkeepd output") if e.get("instance") == "w"]
    h.check(any(e.get("event") == "log-write-error" and "symbolic link" in e.get("message", "")
                for e in ev), f"no refusal naming the symbolic link in upkeepd's log: {ev}")
    h.check(os.path.islink(log), "upkeepd replaced the worker's symlink itself")
    os.unlink(log)  # the admin removes the link: output flows again, into a regular file
    h.wait_for(lambda: not tl.output_of(c, "w")["failing"], 15, "w writing again")
    h.wait_for(lambda: size(log) > 1000, 10, f"lines in a new {log}")
    st = os.lstat(log)
    h.check(not os.path.islink(log) and st.st_uid == 0, f"{log}: not a root-owned file")
    h.check_eq(open(target, "rb").read(), before, "the symlink's target")


@h.test
def logs_fifo_isolated(c):
    """One worker's log replaced by a FIFO nobody reads: after a reopen the writer does not
    block in open(2); the other worker's file keeps growing; the FIFO is refused (status
    failing), and once it is gone the held output lands in a fresh file, none lost."""
    w = tl.writer(c)
    c.conf(tl.wb("a", f"{w} forever 200", start_secs="100ms") +
           tl.wb("b", f"{w} forever 200", start_secs="100ms"))
    c.start_daemon(c.path("upkeep.conf"))
    la = os.path.join(c.logdir, "a", "a.log")
    lb = os.path.join(c.logdir, "b", "b.log")
    h.wait_for(lambda: size(la) > 1000 and size(lb) > 1000, 10, "lines in both files")
    os.rename(la, la + ".old")
    os.mkfifo(la)
    r = c.ctl("logs", "--reopen")
    h.check_eq(r.returncode, 0, f"upkeepctl logs --reopen ({r.stderr!r})")
    h.wait_for(lambda: tl.output_of(c, "a")["failing"], 10, "a's output failing on the FIFO")
    grows(lb, 5000, 10, "b's file to keep growing while a's path is a FIFO")
    h.check(tl.output_of(c, "b")["failing"] is False, "b failing")
    os.unlink(la)
    h.wait_for(lambda: not tl.output_of(c, "a")["failing"], 15, "a writing again")
    grows(la, 2000, 10, "a's new file to grow")
    seqs = tl.seqs_of(tl.read_any(la + ".old"), "a.log.old")
    seqs += tl.seqs_of(tl.read_any(la), "a.log")
    h.check(seqs == list(range(len(seqs))), "a: a line lost or repeated around the FIFO")


class PipeDaemon(h.Daemon):
    """upkeepd whose stdout is a pipe the test never reads (stderr goes to the usual file)."""

    def __init__(self, ctx, argv, sock, log_path, env):
        self.rfd, wfd = os.pipe()
        self.ctx = ctx
        self.prefix = []
        self.sock = sock
        self.log_path = log_path
        self.argv = argv
        self.checked = False
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=wfd,
                                     stderr=self._log, env=env, start_new_session=True)
        os.close(wfd)
        self.t_start = time.monotonic()
        self.signal_pid = self.proc.pid
        self.signal_start = None

    def close(self):
        super().close()
        os.close(self.rfd)


@h.test
def logs_stdout_unread(c):
    """log-dir = "-" for one worker while nobody reads upkeepd's stdout: another worker's file
    and upkeepd's own log-file keep being written, the control socket answers."""
    w = tl.writer(c)
    own = c.path("upkeepd-own.log")
    c.conf(f'log-file = "{own}"\n\n' +
           tl.wb("s", f"{w} forever 4000", start_secs="100ms", log_dir="-") +
           tl.wb("f", f"{w} forever 200", start_secs="100ms"))
    d = PipeDaemon(c, [h.UPKEEPD, "-c", c.path("upkeep.conf")], c.sock,
                   c.path("upkeepd.log"), os.environ.copy())
    c.daemons.append(d)
    c.wait_ready(d)
    lf = os.path.join(c.logdir, "f", "f.log")
    # the pipe (64K, or 1M once grown) is full within a few seconds at ~370 KB/s
    h.wait_for(lambda: tl.output_of(c, "s")["bytes_written"] >= 60000, 10,
               "s's output to fill upkeepd's stdout pipe")
    grows(lf, 20000, 15, "f's file to keep growing while upkeepd's stdout is not read")
    r = c.ctl("logs", "--reopen")
    h.check_eq(r.returncode, 0, f"upkeepctl logs --reopen ({r.stderr!r})")
    h.wait_for(lambda: "reopening every log file" in open(own, errors="replace").read(), 10,
               "upkeepd's own log-file written while its stdout is not read")
    grows(lf, 20000, 15, "f's file to keep growing after the reopen")


@h.test
def logs_dir_recreated(c):
    """log-dir/<worker>/ deleted while the worker writes: `upkeepctl logs --reopen` makes it
    again and every line from then on is in the new file; deleted again, `upkeepctl restart`
    makes it again and the restarted worker's lines are all there from its first."""
    w = tl.writer(c)
    c.conf(tl.wb("w", f"{w} forever 200", start_secs="100ms"))
    c.start_daemon(c.path("upkeep.conf"))
    wdir = os.path.join(c.logdir, "w")
    log = os.path.join(wdir, "w.log")
    h.wait_for(lambda: size(log) > 1000, 10, f"lines in {log}")
    shutil.rmtree(wdir)
    r = c.ctl("logs", "--reopen")
    h.check_eq(r.returncode, 0, f"upkeepctl logs --reopen ({r.stderr!r})")
    h.wait_for(lambda: size(log) > 3000, 10, f"{log} made again after logs --reopen")
    seqs = tl.seqs_of(tl.read_any(log), "w.log after reopen")
    h.check(seqs == list(range(seqs[0], seqs[0] + len(seqs))),
            "w.log after reopen: a line lost or repeated")
    h.check_eq(tl.output_of(c, "w")["failing"], False, "w failing after the reopen")

    shutil.rmtree(wdir)
    r = c.ctl("restart", "w")
    h.check_eq(r.returncode, 0, f"upkeepctl restart w ({r.stderr!r})")
    h.wait_for(lambda: size(log) > 3000, 10, f"{log} made again after restart")
    seqs = tl.seqs_of(tl.read_any(log), "w.log after restart")
    # the old instance's last lines may come first; the new one's start at 0, all of them
    k = seqs.index(0) if 0 in seqs else -1
    h.check(k >= 0, f"w.log after restart: the restarted worker's first line is missing "
            f"(first lines {seqs[:3]})")
    h.check(seqs[k:] == list(range(len(seqs) - k)), "w.log after restart: a line lost")


@h.test
def logs_drop_flood_bounded(c):
    """overflow = drop with a small buffer and a flood: upkeepd's log says when dropping
    starts and when it ends, a few times, not once per buffer refill; the file still marks
    every gap."""
    n, rate = 150000, 50000
    w = tl.writer(c)
    c.conf('log-format = json\nlog { buffer-size = 16K  overflow = drop }\n\n' +
           tl.wb("w", f"{w} lines {n} {rate} {c.path('done')}", start_secs="100ms"))
    d = c.start_daemon(c.path("upkeep.conf"))
    h.wait_for(lambda: os.path.exists(c.path("done")), 30, "the flood to end")
    h.wait_for(lambda: tl.output_of(c, "w")["bytes_dropped"] > 0, 5, "some output dropped")

    def events():
        return [e.get("event") for e in tl.json_lines(d.output(), "upkeepd output")
                if e.get("instance") == "w"]
    h.wait_for(lambda: events().count("output-resumed") >= 1, 10,
               "the episode's end in upkeepd's log once the flood is over")
    ev = events()
    starts, ends = ev.count("output-dropping"), ev.count("output-resumed")
    h.check(starts <= 4 and ends <= 4 and starts - ends in (0, 1),
            f"{starts} output-dropping and {ends} output-resumed lines for a 3 s flood")
    data = tl.read_any(os.path.join(c.logdir, "w", "w.log")).decode()
    h.check(tl.MARK.search(data), "w.log: no dropped-output marker")
