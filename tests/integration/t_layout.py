"""
The layout against doc/ARCHITECTURE.md: every arrow between the parts points down (programs ->
runtime -> configuration -> lib), no two modules (foo.c with foo.h) include each other through
any chain, and no C file is over 1000 lines.
"""
import os
import re

import __main__ as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# a part may include its own folder and those of a lower rank
RANK = {"include": 0, "lib": 0, "config": 1, "daemon": 2, "ctl": 2}


def sources():
    """{"supervisor.c": "daemon", ...} for every .c and .h of the parts."""
    files = {}
    for part in RANK:
        for f in os.listdir(os.path.join(ROOT, part)):
            if f.endswith((".c", ".h")):
                files[f] = part
    return files


def includes(part, f):
    with open(os.path.join(ROOT, part, f)) as fh:
        return re.findall(r'^\s*#\s*include\s+"([^"/]+)"', fh.read(), re.M)


@h.test
def layout_arrows_point_down(c):
    """No lib/ or include/ file includes configuration or runtime, no configuration file
    includes the runtime, neither program's folder includes the other's, and upkeepctl reads
    no configuration."""
    files = sources()
    up = []
    for f, part in files.items():
        for i in includes(part, f):
            to = files.get(i)
            if to is None or to == part:
                continue
            if RANK[to] > RANK[part] or {part, to} == {"daemon", "ctl"} or \
                    (part, to) == ("ctl", "config"):
                up.append(f"{part}/{f} includes {to}/{i}")
    h.check(not up, "arrows running back up: " + "; ".join(sorted(up)))


@h.test
def layout_no_include_cycles(c):
    """Modules (foo.c with foo.h) form no cycle through their includes."""
    files = sources()
    graph = {}
    for f, part in files.items():
        m = f[:-2]
        graph.setdefault(m, set())
        for i in includes(part, f):
            if i in files and i[:-2] != m:
                graph[m].add(i[:-2])
    # Tarjan's strongly connected components; a component of more than one module is a cycle
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(" <-> ".join(sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    h.check(not cycles, "include cycles: " + "; ".join(cycles))


@h.test
def layout_files_under_1000_lines(c):
    """No C source file of the parts is over 1000 lines."""
    big = []
    for f, part in sources().items():
        if f.endswith(".c"):
            with open(os.path.join(ROOT, part, f)) as fh:
                n = sum(1 for _ in fh)
            if n > 1000:
                big.append(f"{part}/{f}: {n}")
    h.check(not big, "files over 1000 lines: " + ", ".join(sorted(big)))
