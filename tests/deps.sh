#!/bin/sh
# Install what upkeep needs to build, run its demo and pass its tests on Debian 12, but only
# the packages that are missing.  Uses sudo when not run as root.
set -eu
PKGS="make gcc libc6-dev pkg-config libsystemd-dev libcurl4-openssl-dev libconfuse-dev
libinih-dev libjansson-dev zlib1g-dev libcmocka-dev python3 util-linux man-db prometheus-alertmanager
gunicorn python3-flask"
missing=""
for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing:$missing"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
