#!/bin/sh
# Install the Debian 12 packages upkeep needs, only those that are missing, with sudo when not
# run as root:
#   sh tests/deps.sh demo   what builds upkeep and runs `make demo` (tests/packages-build.txt)
#   sh tests/deps.sh test   that and what the tests need (tests/packages-test.txt)
#   sh tests/deps.sh package      what make deb and make check-package need
#   sh tests/deps.sh container    what make check-container needs
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
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
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
