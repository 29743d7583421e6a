#!/bin/sh
# make deb: build upkeep_<version>_<arch>.deb with dpkg-buildpackage from a copy of this tree in
# build-deb/ (dpkg-buildpackage writes its results beside the source, so into build-deb/ and
# not into the parent of the checkout), then copy the .deb to the top of the tree.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
v=$(dpkg-parsechangelog -S Version)
pv=$(sed -n 's/^#define UPKEEP_VERSION "\(.*\)"/\1/p' include/proto.h)
if [ "$v" != "$pv" ]; then
        echo "debian/changelog is at $v but include/proto.h says $pv: add a changelog entry" >&2
        exit 1
fi
arch=$(dpkg --print-architecture)
out=$top/build-deb
rm -rf "$out"
mkdir -p "$out/upkeep-$v"
# the tree as it is, without build outputs and git's store
tar -c --exclude='./build*' --exclude=./.git --exclude='./upkeep_*' --exclude=__pycache__ . |
        tar -x -C "$out/upkeep-$v"
(cd "$out/upkeep-$v" && dpkg-buildpackage -us -uc -b)
cp "$out/upkeep_${v}_$arch.deb" "$top/"
echo "built upkeep_${v}_$arch.deb"
