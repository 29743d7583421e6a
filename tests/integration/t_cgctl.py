"""
cgroup controllers, end to end in a small virtual machine: this host's cgroup v2 hierarchy has
no memory or cpu controller (they are bound to cgroup v1), so the test boots a Debian kernel
(tests/deps.sh unpacks it under /var/cache/upkeep-test, or $UPKEEP_TEST_KERNEL) with an
initramfs made here: busybox, this build's upkeepd and upkeepctl with their shared libraries,
a static memory leaker and CPU spinner, a configuration and an /init that drives upkeepctl and
prints what it sees as "UKM key value" lines on the serial console, then powers off.

Asserted: upkeepd enables memory and cpu for its instances; memory.max, memory.high,
memory.oom.group and cpu.max hold what the configuration says; a worker leaking past memory.max
is killed by the kernel and its exit is "oom" (status, --json, the memory event counted, the
restart reason memory); one leaking as fast with memory-action = restart is held back at
memory.high until the sampler restarts it, never OOM-killed; a reload changing memory-limit rewrites memory.max; a cpu-limit of 20%
throttles a busy loop (cpu.stat nr_throttled > 0).
"""
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import time

import __main__ as h

CACHE = os.environ.get("UPKEEP_TEST_CACHE", "/var/cache/upkeep-test")
M = 1024 * 1024

# leak STEP_MB MAX_MB: touches STEP_MB more every 20 ms up to MAX_MB, then waits;
# spin: a busy loop
HELPER_C = r'''
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
        if (argc > 1 && strcmp(argv[1], "spin") == 0)
                for (volatile unsigned long n = 0;; n++)
                        ;
        if (argc > 3 && strcmp(argv[1], "leak") == 0) {
                long step = atol(argv[2]) << 20, max = atol(argv[3]) << 20;
                for (long done = 0; done < max; done += step) {
                        char *p = malloc(step);
                        if (p)
                                memset(p, 1, step);
                        usleep(20000);
                }
        }
        for (;;)
                pause();
}
'''

CONF = '''log-dir = "/run/log"
socket = "/run/upkeep.sock"
state-file = "/run/upkeep.state"

worker leak {{
    command = "/bin/uk-helper leak 2 256"
    memory-limit = 32M
    memory-interval = 1s
    memory-for = 1000
    memory-action = alert
    restart {{
        policy = never
    }}
}}

metrics {{
    textfile = "/run/upkeep.prom"
    textfile-interval = 1s
}}

worker oomr {{
    command = "/bin/uk-helper leak 2 256"
    memory-limit = 32M
    memory-for = 1000
    memory-action = alert
    restart {{
        policy = always
        backoff = 100ms
    }}
}}

worker throttled {{
    command = "/bin/uk-helper leak 1 256"
    memory-limit = 32M
    memory-interval = 500ms
    memory-for = 2
    memory-action = restart
    restart {{
        backoff = 30s
    }}
}}

worker steady {{
    command = "/bin/uk-helper spin"
    memory-limit = {steady_limit}
    memory-interval = 1s
    memory-action = restart
    cpu-limit = 20%
}}
'''

# The machine's /init: every wait is bounded; "UKM" lines are what the test reads.
INIT = r'''#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /run/log
mark() { echo "UKM $*"; }
at() { mark t.$1 $(cut -d' ' -f1 /proc/uptime); }
ctl() { /usr/bin/upkeepctl -s /run/upkeep.sock "$@"; }
mark boot
# as under systemd with Delegate=yes: upkeepd starts alone in a cgroup whose parent offers it
# the controllers
echo "+memory +cpu" > /sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/svc
sh -c 'echo $$ > /sys/fs/cgroup/svc/cgroup.procs && exec /usr/sbin/upkeepd -c /etc/upkeep.conf' \
        > /run/upkeepd.log 2>&1 &
UPK=$!
n=0
until ctl status > /dev/null 2>&1; do
        n=$((n + 1)); [ $n -gt 100 ] && break; sleep 0.1
done
at up
cg=$(ls -d /sys/fs/cgroup/svc/upkeepd-*)
mark subtree $(cat $cg/cgroup.subtree_control)
mark svc.subtree $(cat /sys/fs/cgroup/svc/cgroup.subtree_control)
# the leaker meets memory.max: wait for its end (EXITED, restart never)
n=0
until ctl status leak 2>/dev/null | grep -q EXITED; do
        n=$((n + 1)); [ $n -gt 300 ] && break; sleep 0.1
done
at leakdone
for f in memory.max memory.high memory.oom.group; do
        mark leak.$f $(cat $cg/w-leak/$f)
done
mark leak.oom_kill $(grep '^oom_kill ' $cg/w-leak/memory.events | cut -d' ' -f2)
mark leak.status $(ctl status leak | tail -n 1)
mark leak.json $(ctl status leak --json | base64 -w 0)
at ctl1
for f in memory.max memory.high memory.oom.group cpu.max; do
        mark steady.$f $(cat $cg/w-steady/$f)
done
# a second of the busy loop under its quota
sleep 1
mark steady.nr_throttled $(grep '^nr_throttled ' $cg/w-steady/cpu.stat | cut -d' ' -f2)
mark steady.pid $(ctl status steady --json | base64 -w 0)
# reload with another memory-limit: memory.max follows, the process stays
# throttled: memory.high holds its leak back until the sampler restarts it, before memory.max
n=0
until grep -q "throttled: restarted: memory" /run/upkeepd.log; do
        n=$((n + 1)); [ $n -gt 200 ] && break; sleep 0.1
done
mark throttled.status $(grep "throttled: restarted: memory" /run/upkeepd.log)
mark throttled.oom_kill $(grep '^oom_kill ' $cg/w-throttled/memory.events | cut -d' ' -f2)
mark throttled.high $(grep '^high ' $cg/w-throttled/memory.events | cut -d' ' -f2)
# the restart after an OOM kill is counted under the reason memory
n=0
until grep -q 'upkeep_worker_restarts_total{.*oomr.*reason="memory"} [1-9]' /run/upkeep.prom 2>/dev/null; do
        n=$((n + 1)); [ $n -gt 100 ] && break; sleep 0.1
done
mark oomr.restarts $(grep 'upkeep_worker_restarts_total{.*oomr' /run/upkeep.prom | base64 -w 0)
at reload
cp /etc/upkeep-reload.conf /etc/upkeep.conf
ctl reload > /dev/null 2>&1
mark reloaded $?
n=0
until [ "$(cat $cg/w-steady/memory.max)" = 125829120 ]; do
        n=$((n + 1)); [ $n -gt 50 ] && break; sleep 0.1
done
mark reload.memory.max $(cat $cg/w-steady/memory.max)
mark reload.memory.high $(cat $cg/w-steady/memory.high)
mark steady.pid2 $(ctl status steady --json | base64 -w 0)
at end
kill $UPK
n=0
while kill -0 $UPK 2> /dev/null; do
        n=$((n + 1)); [ $n -gt 50 ] && break; sleep 0.1
done
mark after.svc $(ls /sys/fs/cgroup/svc | grep upkeepd-)
mark after.svc.subtree $(cat /sys/fs/cgroup/svc/cgroup.subtree_control)
mark after.exited $(kill -0 $UPK 2> /dev/null && echo no || echo yes)
mark log $(base64 -w 0 < /run/upkeepd.log)
mark done
poweroff -f
'''


def kernel():
    """The unpacked kernel, or None."""
    k = os.environ.get("UPKEEP_TEST_KERNEL")
    if k:
        return k if os.path.exists(k) else None
    found = sorted(glob.glob(os.path.join(CACHE, "vmlinuz*")))
    return found[-1] if found else None


def copy_with_libs(root, prog, dest):
    """prog at dest in root, with every library ldd names at its own path (and the loader)."""
    shutil.copy2(prog, os.path.join(root, dest.lstrip("/")))
    out = subprocess.run(["ldd", prog], capture_output=True, text=True, timeout=30).stdout
    for lib in re.findall(r"(/\S+) \(0x", out):
        to = os.path.join(root, lib.lstrip("/"))
        if not os.path.exists(to):
            os.makedirs(os.path.dirname(to), exist_ok=True)
            shutil.copy2(os.path.realpath(lib), to)


def initramfs(c, root, out):
    """root as a gzip'd newc cpio archive at out (cpio(1) from Debian)."""
    names = subprocess.run("find . | sort", shell=True, cwd=root, capture_output=True,
                           check=True, timeout=30).stdout
    with open(out, "wb") as f:
        cp = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"], stdin=cp.stdout, stdout=f)
        cp.stdout.close()
        cp.communicate(names, timeout=60)
        gz.wait(timeout=60)
    if cp.returncode or gz.returncode:
        h.fail("cannot make the initramfs")


def build_root(c, root):
    for d in ("bin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "run", "tmp", "dev"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", os.path.join(root, "bin/busybox"))
    os.symlink("busybox", os.path.join(root, "bin/sh"))
    copy_with_libs(root, h.UPKEEPD, "/usr/sbin/upkeepd")
    copy_with_libs(root, h.UPKEEPCTL, "/usr/bin/upkeepctl")
    src = c.write("uk-helper.c", HELPER_C)
    r = subprocess.run(["gcc", "-static", "-O1", "-o", os.path.join(root, "bin/uk-helper"), src],
                       capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise h.TestSkip(f"cannot link a static helper: {r.stderr.strip()[:200]}")
    with open(os.path.join(root, "etc/upkeep.conf"), "w") as f:
        f.write(CONF.format(steady_limit="64M"))
    with open(os.path.join(root, "etc/upkeep-reload.conf"), "w") as f:
        f.write(CONF.format(steady_limit="96M"))
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(root, "init"), 0o755)


def boot(c, vmlinuz, initrd, timeout):
    """Boot the machine: its UKM lines as a dict, and the whole console output.  Emulated
    (TCG: the whole test takes about 10 s): KVM is not required, and where it was tried here
    (nested) the guest hung at boot; UPKEEP_TEST_ACCEL=kvm asks for it."""
    accel = os.environ.get("UPKEEP_TEST_ACCEL", "tcg")
    argv = ["qemu-system-x86_64", "-accel", accel, "-m", "512", "-smp", "1",
            "-kernel", vmlinuz, "-initrd", initrd, "-nographic", "-no-reboot",
            "-append", "console=ttyS0 quiet loglevel=1 panic=-1"]
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        h.fail(f"the machine did not power off within {timeout} s; console:\n"
               f"{(e.stdout or b'').decode(errors='replace')[-3000:]}")
    console = r.stdout.decode(errors="replace")
    marks = {}
    for line in console.splitlines():
        # the first line follows the firmware's escape sequences; the kernel's own messages
        # (an OOM kill's report) are kept off the console by loglevel=1
        m = re.search(r"UKM (\S+) ?(.*)$", line.strip("\r"))
        if m:
            marks[m.group(1)] = m.group(2).strip()
    c.write("console.txt", console)
    if os.environ.get("UPKEEP_TEST_SHOW"): print(console)
    print(f"  machine ran {time.monotonic() - t0:.1f} s", flush=True)
    return marks, console


def decode_json(marks, key):
    try:
        return json.loads(base64.b64decode(marks.get(key, "")))
    except ValueError:
        h.fail(f"{key}: no JSON in {marks.get(key)!r}")


def instance_of(answer, name):
    for w in answer.get("workers", []):
        for i in w.get("instances", []):
            if i.get("name") == name:
                return w, i
    h.fail(f"no instance {name} in {answer}")


@h.test
def cgroup_controllers_vm(c):
    """memory.max/high/oom.group and cpu.max in a VM; an OOM kill is an "oom" exit"""
    if h.WRAPPER:
        raise h.TestSkip(f"under {os.path.basename(h.WRAPPER[0])}: the machine runs the "
                         "programs without it")
    if "libasan" in subprocess.run(["ldd", h.UPKEEPD], capture_output=True, text=True,
                                   timeout=30).stdout:
        raise h.TestSkip("the sanitizer runtime takes upkeepd about 35 s to start in the "
                         "emulated machine (10 s for the whole test in the plain build)")
    vmlinuz = kernel()
    missing = [p for p in ("qemu-system-x86_64", "busybox", "cpio", "gcc")
               if not shutil.which(p) and not (p == "busybox" and os.path.exists("/bin/busybox"))]
    if missing or not vmlinuz:
        raise h.TestSkip(f"needs {', '.join(missing) or 'a kernel'} (sh tests/deps.sh test)")
    root = c.path("root")
    build_root(c, root)
    initrd = c.path("initrd.gz")
    initramfs(c, root, initrd)
    marks, console = boot(c, vmlinuz, initrd, timeout=50)
    if "done" not in marks:
        h.fail(f"the machine's script did not finish; console:\n{console[-3000:]}")
    log = base64.b64decode(marks.get("log", "")).decode(errors="replace")

    # upkeepd gave its instances both controllers, and said so once
    h.check(re.search(r"\bmemory\b", marks.get("subtree", "")) and
            re.search(r"\bcpu\b", marks.get("subtree", "")),
            f"subtree_control of upkeepd's cgroup: {marks.get('subtree')!r}")
    h.check("cgroup controllers: memory cpu" in log, f"the controllers line in the log:\n{log}")
    h.check_eq(marks.get("svc.subtree"), "cpu memory", "what upkeepd enabled in its own cgroup")
    # at exit it gave them back, went back into its cgroup and removed its sub-tree
    h.check_eq(marks.get("after.exited"), "yes", "upkeepd exited after SIGTERM")
    h.check_eq(marks.get("after.svc"), "", "upkeepd's sub-tree is removed at its exit")
    h.check_eq(marks.get("after.svc.subtree"), "", "its cgroup's subtree_control after its exit")
    h.check("cannot" not in log, f"no failure in upkeepd's log:\n{log}")

    # leak: memory.max above memory-limit by a quarter, at least 16M (32M + 16M),
    # no memory.high (memory-action = alert), the instance OOM-killed as a whole
    h.check_eq(marks.get("leak.memory.max"), str(48 * M), "leak's memory.max")
    h.check_eq(marks.get("leak.memory.high"), "max", "leak's memory.high")
    h.check_eq(marks.get("leak.memory.oom.group"), "1", "leak's memory.oom.group")
    h.check(int(marks.get("leak.oom_kill") or 0) >= 1,
            f"oom_kill in leak's memory.events: {marks.get('leak.oom_kill')!r}")
    h.check(" oom " in f" {marks.get('leak.status', '')} ",
            f"status row of leak says oom: {marks.get('leak.status')!r}")
    w, i = instance_of(decode_json(marks, "leak.json"), "leak")
    h.check_eq(i.get("last_exit", {}).get("oom"), True, f"last_exit of leak: {i.get('last_exit')}")
    h.check_eq(i.get("last_exit", {}).get("signal"), "KILL", "the signal of an OOM kill")
    h.check(w["events"]["memory"]["total"] >= 1, f"memory events of leak: {w['events']}")
    h.check(re.search(r"leak.*oom: killed by the kernel at memory.max 48M", log),
            f"the oom line in the log:\n{log}")
    h.check(re.search(r"leak.*-> (EXITED|FATAL) \(oom\)", log),
            f"the state change of leak says oom:\n{log}")

    # oomr restarts after each OOM kill: those restarts are counted under memory
    restarts = base64.b64decode(marks.get("oomr.restarts", "")).decode(errors="replace")
    m = re.search(r'reason="memory"\} (\d+)', restarts)
    h.check(m and int(m.group(1)) >= 1, f"oomr's restarts by reason:\n{restarts}")
    h.check(re.search(r'reason="crash"\} 0\b', restarts),
            f"no restart of oomr counted as a crash:\n{restarts}")

    # throttled: over memory.high (= memory-limit, memory-action restart) the kernel slowed
    # it, and the sampler restarted it gracefully before it reached memory.max
    h.check("restarted: memory" in marks.get("throttled.status", ""),
            f"throttled restarted by the sampler: {marks.get('throttled.status')!r}")
    h.check(int(marks.get("throttled.high") or 0) > 0,
            f"memory.events high of throttled: {marks.get('throttled.high')!r}")
    h.check_eq(marks.get("throttled.oom_kill"), "0", "OOM kills of throttled")

    # steady: memory-action = restart: memory.high at memory-limit; cpu-limit 20%
    h.check_eq(marks.get("steady.memory.max"), str(80 * M), "steady's memory.max")
    h.check_eq(marks.get("steady.memory.high"), str(64 * M), "steady's memory.high")
    h.check_eq(marks.get("steady.memory.oom.group"), "1", "steady's memory.oom.group")
    h.check_eq(marks.get("steady.cpu.max"), "20000 100000", "steady's cpu.max")
    h.check(int(marks.get("steady.nr_throttled") or 0) > 0,
            f"the busy loop under cpu.max was throttled: nr_throttled "
            f"{marks.get('steady.nr_throttled')!r}")

    # the reload rewrote memory.max and memory.high of the running process
    h.check_eq(marks.get("reloaded"), "0", "upkeepctl reload's exit code")
    h.check_eq(marks.get("reload.memory.max"), str(120 * M), "steady's memory.max after reload")
    h.check_eq(marks.get("reload.memory.high"), str(96 * M), "steady's memory.high after reload")
    _, before = instance_of(decode_json(marks, "steady.pid"), "steady")
    _, after = instance_of(decode_json(marks, "steady.pid2"), "steady")
    h.check(before.get("pid") and before.get("pid") == after.get("pid"),
            f"steady kept its process across the reload: {before.get('pid')} then "
            f"{after.get('pid')}")


def host_offers_cpu():
    """Does upkeepd's cgroup here offer the cpu controller (what upkeepd checks)?"""
    try:
        with open("/proc/self/cgroup") as f:
            own = next(ln.split(":", 2)[2].strip() for ln in f if ln.startswith("0::"))
    except (OSError, StopIteration):
        return False
    for mnt in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        try:
            with open(os.path.join(mnt + own, "cgroup.controllers")) as f:
                return "cpu" in f.read().split()
        except OSError:
            continue
    return False


@h.test
def cpu_limit_config(c):
    """cpu-limit: out of range is a file:line error; where upkeepd has no cpu controller,
    --check-config, the start and a reload warn that it is not enforced, and the worker runs"""
    def check(path):
        return subprocess.run([h.UPKEEPD, "--check-config", "-c", path], capture_output=True,
                              text=True, timeout=20, stdin=subprocess.DEVNULL)
    for bad in ('"0%"', '"150"', '"-5%"', f'"{100 * os.cpu_count() + 1}%"', '"x"'):
        path = c.write("bad.conf", f'worker w {{\n    command = "sleep 1"\n'
                                   f'    cpu-limit = {bad}\n}}\n')
        r = check(path)
        h.check(r.returncode == 2 and f"{path}:3: cpu-limit" in r.stderr,
                f"cpu-limit = {bad}: {r.returncode} {r.stderr!r}")
    conf = c.conf(h.worker_block("w", "sleep 100000", cpu_limit="150%", start_secs="100ms"))
    r = check(conf)
    h.check_eq(r.returncode, 0, f"--check-config of a valid cpu-limit ({r.stderr!r})")
    warning = "worker 'w': cpu-limit needs the cgroup v2 cpu controller: not enforced here"
    d = c.start_daemon(conf)
    c.wait_state("w", "RUNNING")
    if host_offers_cpu() and "UPKEEP_CGROUP" not in os.environ:
        h.check(warning not in r.stderr, f"no warning with a cpu controller: {r.stderr!r}")
        return
    h.check(warning in r.stderr, f"--check-config warns: {r.stderr!r}")
    h.wait_for(lambda: warning in d.output(), 5, "the warning in upkeepd's log")
    r = c.ctl("reload")
    h.check_eq(r.returncode, 0, f"upkeepctl reload ({r.stderr!r})")
    h.wait_for(lambda: d.output().count(warning) == 2, 5, "the warning again after the reload")
    h.check("cgroup controllers: none" in d.output() or
            "process tracking: environment" in d.output(),
            f"the controllers line:\n{d.output()}")
