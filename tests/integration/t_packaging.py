"""
The ways to get upkeep agree with each other: the build packages are one list
(tests/packages-build.txt) that tests/deps.sh, the container's build stage and the Debian
package's Build-Depends all follow; CI runs exactly the README's test command; the package's
version is the programs'; the shipped configurations are ones upkeepd accepts.  The package and
the image themselves are built and run by make check-package and make check-container.
"""
import os
import re
import subprocess

import __main__ as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def src(*p):
    with open(os.path.join(ROOT, *p)) as f:
        return f.read()


def package_list(name):
    return [ln.split("#")[0].strip() for ln in src("tests", name).splitlines()
            if ln.split("#")[0].strip()]


@h.test
def packaging_one_build_list(c):
    """Every -dev package of tests/packages-build.txt is in debian/control's Build-Depends, the
    Dockerfile's build stage installs that very file, and tests/deps.sh reads it."""
    build = package_list("packages-build.txt")
    h.check("zlib1g-dev" in build and "libsystemd-dev" in build, f"build list: {build}")
    control = src("debian", "control")
    deps = re.search(r"^Build-Depends:(.*?)^\S", control, re.S | re.M).group(1)
    names = {d.strip().split()[0] for d in deps.split(",") if d.strip()}
    # libc6-dev comes with build-essential, which Debian never lists
    missing = [p for p in build if p.endswith("-dev") and p != "libc6-dev" and p not in names]
    h.check(not missing, f"in tests/packages-build.txt but not in Build-Depends: {missing}")
    docker = src("conf", "container", "Dockerfile")
    h.check("COPY tests/packages-build.txt" in docker and "/tmp/packages-build.txt" in
            docker.split("FROM ${BASE}\n")[0].split("COPY . /src")[0],
            "the Dockerfile's build stage does not install tests/packages-build.txt")
    h.check("packages-build.txt" in src("tests", "deps.sh"), "tests/deps.sh ignores the list")
    ignore = src(".dockerignore").split()
    h.check("build" in ignore and "build-*" in ignore, ".dockerignore lets build outputs in")


@h.test
def packaging_ci_is_readme(c):
    """.ci/run runs exactly the README's test command, and the README's demo command installs
    only the demo's packages."""
    ci = [ln for ln in src(".ci", "run").splitlines() if "deps.sh" in ln]
    h.check_eq(len(ci), 1, ".ci/run lines running tests/deps.sh")
    readme = src("README.md")
    h.check(re.search(r"^" + re.escape(ci[0]) + r"\s+#", readme, re.M) is not None,
            f"README has no line starting with CI's command {ci[0]!r}")
    h.check(re.search(r"^sh tests/deps\.sh demo && make demo\s", readme, re.M) is not None,
            "README's demo command is not `sh tests/deps.sh demo && make demo`")


@h.test
def packaging_versions_and_configs(c):
    """debian/changelog's version is UPKEEP_VERSION; the package's and the container's
    configurations pass upkeepd --check-config, the container's with log-dir = "-"."""
    version = re.search(r'#define UPKEEP_VERSION "([^"]+)"', src("include", "proto.h")).group(1)
    top = src("debian", "changelog").splitlines()[0]
    h.check_eq(re.match(r"upkeep \(([^)]+)\)", top).group(1), version, "debian/changelog version")
    for conf in (("debian", "upkeep.conf"), ("conf", "container", "upkeep.conf")):
        r = subprocess.run([h.UPKEEPD, "--check-config", "-c", os.path.join(ROOT, *conf)],
                           capture_output=True, text=True, timeout=30)
        h.check(r.returncode == 0, f"{'/'.join(conf)}: {r.stderr.strip()}")
    h.check(re.search(r'^log-dir\s*=\s*"-"', src("conf", "container", "upkeep.conf"), re.M),
            "conf/container/upkeep.conf does not send worker output to docker logs")
