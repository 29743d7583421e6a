"""
upkeepd as PID 1 of a container (a new PID namespace): a required worker's end is the
container's exit code, and SIGTERM or SIGINT is never lost, even when it arrives before the
workers are up.
"""
import signal

import __main__ as h


@h.test
def pid1_required_exit_code(c):
    """As PID 1, a required worker that gives up ends upkeepd with that worker's exit code."""
    c.conf(h.worker_block("must", "sh -c 'exit 7'", start_secs="0", required=True,
                          restart=dict(backoff="50ms", jitter="0%", give_up="2 in 1m")) +
           h.worker_block("other", f"{h.WORKER}"))
    d = h.start_as_pid1(c)
    rc = d.wait(15)
    d.checked = True
    h.check_eq(rc, 7, "exit code of the container (unshare -f passes upkeepd's on)")


@h.test
def pid1_early_signals(c):
    """As PID 1, SIGTERM sent before the workers are up, and SIGINT later, both stop upkeepd
    cleanly (exit 0, no worker left)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        c.conf(h.worker_block("slow", f"{h.WORKER}", instances=3, start_secs="2s"))
        d = h.start_as_pid1(c)
        if sig == signal.SIGINT:
            c.wait_ready(d)
            # status shows pids of the namespace: take the host's view of upkeepd's children
            pids = [p for p, _ in h.descendants(d.signal_pid)]
            h.check_eq(len(pids), 3, "workers seen from the host")
        else:
            # as early as a signal can be kept: upkeepd has blocked it (before it reads its
            # configuration); its workers may not exist yet
            def blocked():
                with open(f"/proc/{d.signal_pid}/status") as f:
                    mask = next(ln for ln in f if ln.startswith("SigBlk:")).split()[1]
                # upkeepd's own mask: SIGCHLD is in it, unlike the SIGINT|SIGTERM that
                # unshare -f blocks around its fork
                want = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGCHLD - 1))
                return int(mask, 16) & want == want
            h.wait_for(blocked, 5, "upkeepd blocking SIGTERM", interval=0.0005)
            pids = []
        d.send(sig)
        rc = d.wait(10)
        d.checked = True
        h.check(rc is not None, f"PID 1 still running 10 s after {sig.name}")
        h.check_eq(rc, 0, f"exit code after {sig.name}")
        for p in pids:
            h.wait_for(lambda: h.pid_gone(p), 5, f"worker {p} gone after {sig.name}")
