#!/bin/sh
# Install the Debian 12 packages upkeep needs, only those that are missing, with sudo when not
# run as root:
#   sh tests/deps.sh demo   what builds upkeep and runs `make demo` (tests/packages-build.txt)
#   sh tests/deps.sh test   that and what the tests need (tests/packages-test.txt)
#   sh tests/deps.sh package      what make deb and make check-package need
#   sh tests/deps.sh container    what make check-container needs
# test also unpacks a Debian kernel under /var/cache/upkeep-test ($UPKEEP_TEST_CACHE) for the
# virtual machine of tests/integration/t_cgctl.py.
# No argument means test.  While installing, a policy-rc.d refusing every service start is in
# place (an existing one is set aside and put back), so a server installed for the tests, such
# as prometheus-alertmanager, is not left running as a system service.
set -eu
here=$(dirname "$0")
purpose=${1:-test}
case $purpose in
demo)   lists="$here/packages-build.txt" ;;
test)   lists="$here/packages-build.txt $here/packages-test.txt" ;;
package) lists="$here/packages-build.txt $here/packages-package.txt" ;;
container) lists="$here/packages-container.txt" ;;
*)      echo "usage: sh tests/deps.sh [demo|test|package|container]" >&2; exit 2 ;;
esac
PKGS=$(sed 's/#.*//' $lists)
missing=""
for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

# The kernel tests/integration/t_cgctl.py boots in qemu: the one linux-image-amd64 names,
# downloaded (not installed) and unpacked, vmlinuz alone, into the test cache.
kernel() {
        kcache=${UPKEEP_TEST_CACHE:-/var/cache/upkeep-test}
        [ "$purpose" = test ] && [ "$(dpkg --print-architecture)" = amd64 ] || return 0
        ls "$kcache"/vmlinuz-* > /dev/null 2>&1 && return 0
        image=$(apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
        if [ -z "$image" ]; then
                $sudo apt-get update -q
                image=$(apt-cache depends linux-image-amd64 |
                        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
        fi
        [ -n "$image" ] || { echo "no linux-image-amd64 in the package lists" >&2; return 1; }
        echo "downloading $image into $kcache (for the cgroup controller test)"
        $sudo sh -ec "mkdir -p '$kcache'; cd '$kcache'; rm -rf unpack
                apt-get download -q '$image'
                mkdir unpack; dpkg-deb --fsys-tarfile '$image'_*.deb | tar -x -C unpack ./boot
                cp unpack/boot/vmlinuz-* .; rm -rf unpack '$image'_*.deb"
}

if [ -z "$missing" ]; then
        kernel
        exit 0
fi
echo "installing for $purpose:$missing"

# invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d; 101 is "action forbidden"
policy=/usr/sbin/policy-rc.d
saved=$policy.upkeep-deps
$sudo sh -c "if [ -e $policy ]; then mv $policy $saved; fi
printf '#!/bin/sh\nexit 101\n' > $policy && chmod 0755 $policy"
restore() {
        $sudo sh -c "rm -f $policy; if [ -e $saved ]; then mv $saved $policy; fi"
}
trap restore EXIT
trap 'exit 130' INT TERM
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
kernel
