"""
The manuals and the annotated example configuration against the code: every key of the
configuration tables is documented in upkeep.conf(5) and in conf/upkeep.conf, every upkeepctl
command in upkeepctl(1), and man renders each page without a warning.
"""
import os
import re
import shutil
import subprocess

import __main__ as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def src(*p):
    with open(os.path.join(ROOT, *p)) as f:
        return f.read()


def config_keys():
    """The option names of the libconfuse tables in config/config.c and config/logconf.c."""
    keys = set()
    for f in ("config.c", "logconf.c"):
        text = src("config", f)
        keys |= set(re.findall(r'\b(?:CFG_[A-Z_]+|DURATION|SIZE|[A-Z_]+_OPT)\(\s*"([a-z0-9-]+)"',
                               text))
    return keys


def man_terms(page):
    """Words a man page sets in bold at the start of a line (.B, .BI, .BR, .TP items)."""
    terms = set()
    for ln in src("man", page).splitlines():
        m = re.match(r'\.(?:B|BI|BR|IB)\s+"?([a-z0-9\\-]+)', ln)
        if m:
            terms.add(m.group(1).replace("\\-", "-"))
    return terms


@h.test
def docs_cover_every_key(c):
    """Every configuration key is in upkeep.conf(5) and conf/upkeep.conf; every command of
    upkeepctl is in upkeepctl(1)."""
    keys = config_keys()
    h.check(len(keys) > 40, f"found only {len(keys)} keys in the option tables: {sorted(keys)}")
    man = man_terms("upkeep.conf.5")
    missing = sorted(k for k in keys if k not in man)
    h.check(not missing, f"keys not documented in man/upkeep.conf.5: {missing}")
    example = src("conf", "upkeep.conf")
    missing = sorted(k for k in keys if not re.search(rf'(^|[\s{{#]){re.escape(k)}\b', example,
                                                      re.M))
    h.check(not missing, f"keys not in conf/upkeep.conf: {missing}")

    # the command words are in the table both programs share
    ctl = src("ctl", "upkeepctl.c") + src("lib", "proto.c")
    usage = re.search(r'usage[^\n]*\n(.*?)\n\n', ctl, re.S | re.I)
    cmds = {"status", "start", "stop", "restart", "reload", "health", "alerts", "logs"}
    for cmd in cmds:
        h.check(f'"{cmd}"' in ctl, f"upkeepctl.c does not know {cmd}")
    man = man_terms("upkeepctl.1")
    missing = sorted(x for x in cmds if x not in man)
    h.check(not missing, f"commands not documented in man/upkeepctl.1: {missing}")
    del usage


@h.test
def man_pages_render(c):
    """man -l renders upkeepd(8), upkeepctl(1) and upkeep.conf(5) without a warning."""
    if not shutil.which("man"):
        raise h.TestSkip("man is not installed")
    for page in ("upkeepd.8", "upkeepctl.1", "upkeep.conf.5"):
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(ROOT, "man", page)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"), timeout=30)
        h.check(r.returncode == 0, f"man {page}: exit {r.returncode}: {r.stderr.strip()[:300]}")
        h.check(not r.stderr.strip(), f"man {page} warns: {r.stderr.strip()[:500]}")
        h.check(len(r.stdout) > 2000, f"man {page} rendered only {len(r.stdout)} bytes")


@h.test
def service_unit_verifies(c):
    """units/upkeep.service.in, with the path of upkeepd filled in as make install does, passes
    systemd-analyze verify without a word, and says what the issue asks of it."""
    if not shutil.which("systemd-analyze"):
        raise h.TestSkip("no systemd-analyze")
    text = src("units", "upkeep.service.in")
    sbindir = os.path.dirname(os.path.abspath(h.UPKEEPD))
    unit = c.write("upkeep.service", text.replace("@SBINDIR@", sbindir))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    h.check_eq((r.returncode, r.stdout + r.stderr), (0, ""), "systemd-analyze verify")
    keys = dict(ln.split("=", 1) for ln in text.splitlines() if re.match(r"^[A-Za-z]+=", ln))
    for k, v in (("Type", "notify"), ("KillMode", "mixed"), ("Restart", "on-failure"),
                 ("RuntimeDirectory", "upkeep"), ("LogsDirectory", "upkeep")):
        h.check_eq(keys.get(k), v, f"{k}= in the unit")
    h.check("WatchdogSec" in keys and "TimeoutStopSec" in keys, "WatchdogSec= and TimeoutStopSec=")
