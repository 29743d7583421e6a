#!/bin/sh
# make check-package: the .deb of `make deb` (built again here) passes lintian and installs into
# a clean Debian 12 root with apt (as the README says), where upkeepd --check-config and
# upkeepctl --help work, the unit is enabled and nothing was started, the upkeep group exists;
# then apt purges it, and no path is left that was not there before (the group stays, as for
# Debian's daemons).  Runs in a mount namespace of its own, so /proc of the root goes with it.
# Needs root, network to deb.debian.org, debootstrap, lintian, dpkg-dev and debhelper
# (sh tests/deps.sh package).  About a minute once the root is cached.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
if [ "$(id -u)" -ne 0 ]; then
        echo "skip check-package: needs root (chroot into a Debian root made by debootstrap)"
        exit 0
fi
for t in debootstrap lintian dpkg-buildpackage dh unshare; do
        command -v $t >/dev/null || { echo "$t not found: sh tests/deps.sh package" >&2; exit 1; }
done

step() { echo "== $*"; }
fail() { echo "FAIL check-package: $*" >&2; exit 1; }

step "make deb"
sh tests/package/deb.sh >build-deb.log 2>&1 || { tail -30 build-deb.log >&2; fail "make deb"; }
mv build-deb.log build-deb/
v=$(dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
deb=upkeep_${v}_$arch.deb
echo "$deb: $(dpkg-deb -f "$deb" Depends)"

step "lintian (an error or a warning fails; informational tags are shown)"
lintian --fail-on error,warning --info -I "build-deb/upkeep_${v}_$arch.changes" 2>&1 |
        grep -v "running with root privileges" || true
lintian --fail-on error,warning "build-deb/upkeep_${v}_$arch.changes" >/dev/null 2>&1 ||
        fail "lintian reports an error or a warning"

work=$(mktemp -d "${TMPDIR:-/tmp}/uk-check-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
step "a clean Debian 12 root in $root"
sh tests/package/debian-root.sh "$root"
cp "$deb" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
export deb root
unshare --mount --propagation private sh -eu tests/package/in-root.sh
