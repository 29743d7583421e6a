"""
Configuration hardening: what --check-config refuses with file:line (an unterminated comment,
a NUL byte, NaN or infinite numbers, reserved or unsafe worker names, a socket path longer than
sun_path, duplicate names, too many workers), and a reload of such a file that keeps every
worker running.
"""
import os
import re
import subprocess
import time

import __main__ as h


def check_config(path):
    return subprocess.run([h.UPKEEPD, "--check-config", "-c", path], capture_output=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def expect_refused(path, line, words, what):
    r = check_config(path)
    err = r.stderr.decode(errors="replace")
    h.check_eq(r.returncode, 2, f"{what}: exit code of --check-config (stderr {err!r})")
    m = re.search(r"^" + re.escape(path) + r":(\d+): (.*)$", err, re.M)
    h.check(m, f"{what}: no '{path}:LINE: ...' in {err!r}")
    h.check_eq(int(m.group(1)), line, f"{what}: line of the error {err.strip()!r}")
    for w in words:
        h.check(w in m.group(2), f"{what}: {w!r} not in {err.strip()!r}")


@h.test
def config_hardening_check(c):
    """--check-config exits 2 with file:line for each hardened rule, and fast past the limit."""
    ok = h.worker_block("a", "/bin/true")  # lines 4-6 after the 3 header lines
    cases = [
        ("unterminated comment", ok + "/* old workers\nworker b { command = \"/bin/true\" }\n",
         7, ["comment", "'*/'"]),
        ("factor nan", h.worker_block("a", "/bin/true", restart=dict(factor="nan")), 7,
         ["factor", "nan"]),
        ("factor inf", h.worker_block("a", "/bin/true", restart=dict(factor="inf")), 7,
         ["factor", "inf"]),
        ("jitter nan", h.worker_block("a", "/bin/true", restart=dict(jitter="nan")), 7,
         ["jitter"]),
        ("worker all", ok + h.worker_block("all", "/bin/true"), 9, ["'all'", "reserved"]),
        ("worker ..", h.worker_block('".."', "/bin/true"), 6, ["'..'", "invalid name"]),
        ("worker .", h.worker_block(".", "/bin/true"), 6, ["'.'", "invalid name"]),
        ("duplicate", ok + h.worker_block("a", "/bin/false"), 9, ["'a'", "already used"]),
    ]
    for what, body, line, words in cases:
        path = c.conf(body, name=re.sub(r"\W+", "-", what) + ".conf")
        expect_refused(path, line, words, what)

    long_sock = "/tmp/" + "s" * 103  # 108 bytes: one more than sun_path holds with its NUL
    path = c.conf(ok, name="long-socket.conf", sock=long_sock)
    expect_refused(path, 2, ["socket", "108"], "socket path too long")

    path = c.path("nul.conf")
    with open(path, "wb") as f:
        f.write(b'log-dir = "/tmp"\n\nworker a {\n    command = "/bin/true"\x00\n}\n')
    expect_refused(path, 4, ["NUL byte"], "NUL byte")

    # 25 000 one-line workers: libconfuse alone took seconds to refuse them
    body = "".join(f'worker w{i} {{ command = "/bin/true" }}\n' for i in range(25000))
    path = c.conf(body, name="too-many.conf")
    t = time.monotonic()
    expect_refused(path, 3 + 10001, ["more than 10000 workers"], "too many workers")
    t = time.monotonic() - t
    h.check(t < 1.0 * h.TIME_SCALE, f"refusing 25000 workers took {t:.2f}s")


@h.test
def config_hardening_reload(c):
    """A reload of a file with an unterminated comment is refused at its line; every worker
    keeps its process."""
    body = h.worker_block("a", h.WORKER) + h.worker_block("b", h.WORKER)
    c.conf(body)
    c.start_daemon(c.path("upkeep.conf"))
    pids = {n: c.wait_state(n, "RUNNING")["pid"] for n in "ab"}
    # "b" below an unclosed comment: the old parser saw a file with "a" alone and stopped b
    c.conf(h.worker_block("a", h.WORKER) + "/* b is next\n" + h.worker_block("b", h.WORKER))
    r = c.ctl("reload")
    h.check_eq(r.returncode, 1, f"reload of a file with an unterminated comment "
               f"({r.stdout} {r.stderr})")
    h.check(re.search(r"upkeep\.conf:7: unterminated comment", r.stderr),
            f"file:line of the comment in {r.stderr!r}")
    h.hold_for(lambda: all(c.inst(n)["state"] == "RUNNING" and c.inst(n)["pid"] == pids[n]
                           for n in "ab"), 1.0, "a and b keep running with their processes")
