#!/bin/sh
# The part of check-package.sh inside the root ($root, the package /tmp/$deb), in a mount
# namespace of its own.
set -eu
step() { echo "== $*"; }
fail() { echo "FAIL check-package: $*" >&2; exit 1; }
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"; }
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"

# every path of the root but the package manager's own records and caches, and /run (a tmpfs
# on a running system: adduser leaves its lock file there)
paths() {
        in_root find / -xdev \( -path /proc -o -path /dev -o -path /run -o -path /tmp -o -path /var/cache/apt \
                -o -path /var/cache/debconf -o -path /var/lib/apt -o -path /var/lib/dpkg \
                -o -path /var/log/apt \) -prune -o -print |
                grep -v -e '^/var/log/dpkg.log$' -e '^/var/log/alternatives.log$' \
                        -e '^/etc/ld.so.cache$' -e '^/etc/group-$' -e '^/etc/gshadow-$' | sort
}
# upkeepd processes whose root is the chroot: none may run after install
started() {
        for p in /proc/[0-9]*; do
                [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] || continue
                [ "$(cat "$p/comm" 2>/dev/null)" = upkeepd ] && echo "${p#/proc/}"
        done
        true
}

step "apt-get update in the root"
in_root apt-get update -q >/dev/null || fail "apt-get update in the root"
paths >"$root/../before"

step "apt install ./$deb"
in_root sh -c "cd /tmp && apt-get install -y -q --no-install-recommends ./$deb" |
        grep -E '^(Setting up|Created symlink|The following NEW)' || true
in_root dpkg-query -W -f='${Status}\n' upkeep | grep -q "install ok installed" ||
        fail "upkeep is not installed"

step "upkeepd --check-config (/etc/upkeep/upkeep.conf)"
in_root upkeepd --check-config || fail "upkeepd --check-config"
in_root upkeepd --check-config -c /usr/share/doc/upkeep/examples/upkeep.conf ||
        fail "upkeepd --check-config on the example"
step "upkeepctl --help"
in_root upkeepctl --help | head -3
in_root upkeepctl --help >/dev/null || fail "upkeepctl --help"

step "what the package installed"
for f in /usr/sbin/upkeepd /usr/bin/upkeepctl /usr/share/man/man8/upkeepd.8.gz \
        /usr/share/man/man1/upkeepctl.1.gz /usr/share/man/man5/upkeep.conf.5.gz \
        /usr/share/bash-completion/completions/upkeepctl /lib/systemd/system/upkeep.service; do
        [ -e "$root$f" ] || fail "$f missing"
        echo "$f"
done
[ -d "$root/var/log/upkeep" ] || fail "/var/log/upkeep missing"
echo "/var/log/upkeep/"
in_root dpkg-query -W -f='${Conffiles}\n' upkeep | grep -q '^ /etc/upkeep/upkeep.conf ' ||
        fail "/etc/upkeep/upkeep.conf is not a conffile"
echo "conffile /etc/upkeep/upkeep.conf"
in_root getent group upkeep || fail "no group upkeep"
[ -L "$root/etc/systemd/system/multi-user.target.wants/upkeep.service" ] ||
        fail "upkeep.service is not enabled"
echo "enabled: /etc/systemd/system/multi-user.target.wants/upkeep.service"
pids=$(started)
[ -z "$pids" ] || fail "upkeepd started on install (pid $pids)"
echo "not started: no upkeepd runs in the root"

step "a worker under the packaged upkeepd, its log in /var/log/upkeep"
cat >"$root/tmp/w.conf" <<'CONF'
log-dir = "/var/log/upkeep"
socket = "/run/upkeep/upkeep.sock"
socket-group = "upkeep"
worker hello { command = "/bin/sh -c 'echo hello from upkeep; exec sleep 600'" }
CONF
mkdir -p "$root/run/upkeep"
in_root upkeepd -c /tmp/w.conf >"$root/../upkeepd.out" 2>&1 &
ok=
for i in $(seq 1 100); do
        if in_root upkeepctl -s /run/upkeep/upkeep.sock status hello >"$root/../status" 2>&1 &&
                grep -q "hello from upkeep" "$root/var/log/upkeep/hello/hello.log" 2>/dev/null; then
                ok=1; break
        fi
        sleep 0.1
done
cat "$root/../status"
[ -n "$ok" ] || { cat "$root/../upkeepd.out"; fail "the worker did not run"; }
in_root stat -c '%n group %G mode %a' /run/upkeep/upkeep.sock
for p in $(started); do kill -TERM "$p"; done
for i in $(seq 1 100); do [ -z "$(started)" ] && break; sleep 0.1; done
[ -z "$(started)" ] || fail "upkeepd did not stop on SIGTERM"
rm -rf "$root/run/upkeep" "$root/tmp/w.conf"

step "apt purge --autoremove upkeep"
in_root apt-get purge -y -q --autoremove upkeep | grep -E '^(Removing|Purging)' || true
status=$(in_root dpkg-query -W -f='${Status}' upkeep 2>/dev/null || true)
case $status in
""|*not-installed) ;;
*) fail "after purge, dpkg says upkeep is $status" ;;
esac
paths >"$root/../after"
if ! diff "$root/../before" "$root/../after" >"$root/../diff"; then
        cat "$root/../diff"
        fail "paths left or lost by install and purge (< lost, > left)"
fi
echo "nothing left behind: the paths of the root are those before the install"
in_root getent group upkeep >/dev/null || fail "the upkeep group was removed"
echo "group upkeep kept, as Debian's daemons keep theirs"
echo "check-package: ok"
