#!/bin/sh
# debian-root.sh DIR: a clean Debian 12 root file system in DIR (which must not exist), from a
# debootstrap --variant=minbase kept as build-root/bookworm.tar.gz (made on first use, about
# half a minute from deb.debian.org; DEBIAN_MIRROR overrides the mirror).  Needs root.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1
cache=$top/build-root/bookworm.tar.gz
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -s "$cache" ]; then
        command -v debootstrap >/dev/null || {
                echo "debootstrap not found: sh tests/deps.sh package" >&2; exit 1; }
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/uk-debootstrap.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        echo "debootstrap --variant=minbase bookworm ($mirror), once: cached in $cache"
        if ! debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
                tail -20 "$tmp/log" >&2
                exit 1
        fi
        mkdir -p "$(dirname "$cache")"
        tar -C "$tmp/root" -czf "$cache.part" .
        mv "$cache.part" "$cache"
        rm -rf "$tmp"
        trap - EXIT
fi
mkdir "$dir"
tar -C "$dir" -xzf "$cache"
