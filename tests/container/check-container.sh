#!/bin/bash
# make check-container: build the image of conf/container/Dockerfile from this tree (dirty or
# not) on a Debian 12 base made by debootstrap + docker import, run it, and check that upkeepd is
# PID 1, the HEALTHCHECK turns healthy, the worker answers on the container's address and its
# lines reach `docker logs`, a killed worker is restarted, `docker stop` exits 0 within the grace
# period, and a `required` worker's failure ends the container with its exit code.
#
# Uses the Docker engine `docker info` reaches; without one, and as root with dockerd installed
# (sh tests/deps.sh container), starts a private one for the run: its own socket, data in
# build-root/docker (the layer cache of later runs), no iptables rules, its own bridge
# uk-check0, all removed at the end.  Skipped, saying why, where no engine can run.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

GRACE=30                # docker stop's grace period, above the worker's stop-timeout (10 s)
IMAGE=upkeep-check:latest
BASE=upkeep-check-base:bookworm
BRIDGE=uk-check0
BRIDGE_ADDR=172.31.251.1/24
export DOCKER_BUILDKIT=0        # the classic builder is in every engine, buildx is a plugin
docker=$(command -v /usr/bin/docker || command -v docker || true)

skip() { echo "skip check-container: $*"; exit 0; }
fail() { echo "FAIL check-container: $*" >&2; exit 1; }
step() { echo "== $*"; }
now() { echo $(( $(date +%s%N) / 1000000 )); }    # milliseconds
secs() { printf '%d.%02d' $(( $1 / 1000 )) $(( $1 % 1000 / 10 )); }

run=""
dockerd_pid=""
containers=()
cleanup() {
        set +e
        for c in "${containers[@]}"; do "$docker" rm -f "$c" >/dev/null 2>&1; done
        if [ -n "$dockerd_pid" ]; then
                kill -TERM "$dockerd_pid" 2>/dev/null
                for _ in $(seq 1 200); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$dockerd_pid" 2>/dev/null
        fi
        if [ -n "$run" ]; then
                ip link delete "$BRIDGE" 2>/dev/null
                # dockerd leaves its network namespace mounted in its exec-root
                grep -o " $run/[^ ]*" /proc/mounts | sort -r | xargs -r umount
                rm -rf "$run"
        fi
}
trap cleanup EXIT

[ -n "$docker" ] || skip "no docker client (sh tests/deps.sh container installs docker.io)"
if ! "$docker" info >/dev/null 2>&1; then
        [ "$(id -u)" -eq 0 ] || skip "no Docker engine answers, and starting one needs root"
        command -v dockerd >/dev/null ||
                skip "no Docker engine answers and dockerd is not installed (sh tests/deps.sh container)"
        step "a private dockerd for this run"
        run=$(mktemp -d /tmp/uk-dockerd.XXXXXX)
        ip link add "$BRIDGE" type bridge && ip addr add "$BRIDGE_ADDR" dev "$BRIDGE" &&
                ip link set "$BRIDGE" up || skip "cannot create the bridge $BRIDGE (ip link add)"
        mkdir -p build-root/docker
        dockerd --data-root "$top/build-root/docker" --exec-root "$run/exec" \
                --pidfile "$run/dockerd.pid" -H "unix://$run/docker.sock" --bridge "$BRIDGE" \
                --iptables=false --ip-forward=false --ip-masq=false >"$run/dockerd.log" 2>&1 &
        dockerd_pid=$!
        export DOCKER_HOST=unix://$run/docker.sock
        for _ in $(seq 1 300); do
                "$docker" info >/dev/null 2>&1 && break
                kill -0 "$dockerd_pid" 2>/dev/null || break
                sleep 0.1
        done
        if ! "$docker" info >/dev/null 2>&1; then
                tail -5 "$run/dockerd.log"
                skip "dockerd does not start here (its last lines above)"
        fi
fi
"$docker" version --format 'engine {{.Server.Version}}, client {{.Client.Version}}'

step "base image $BASE: debootstrap + docker import"
if ! "$docker" image inspect "$BASE" >/dev/null 2>&1; then
        tmp=$(mktemp -d /tmp/uk-base.XXXXXX)
        sh tests/package/debian-root.sh "$tmp/root"
        tar -C "$tmp/root" -c . | "$docker" import - "$BASE" >/dev/null
        rm -rf "$tmp"
fi
# a container must run at all on this kernel (cgroups, namespaces): if not, say why and skip
if ! out=$("$docker" run --rm --network none "$BASE" true 2>&1); then
        skip "the engine cannot run a container here: $out"
fi

step "docker build -f conf/container/Dockerfile (from this tree as it is; build outputs stay out)"
t0=$(now)
# the build stage fetches its packages from the host's network: no NAT on the private bridge
if ! "$docker" build --network host -f conf/container/Dockerfile --build-arg BASE="$BASE" \
                -t "$IMAGE" . >build-root/container-build.log 2>&1; then
        tail -30 build-root/container-build.log
        fail "docker build (build-root/container-build.log)"
fi
grep -m1 "Sending build context" build-root/container-build.log || true
grep -q "Nothing to be done" build-root/container-build.log &&
        fail "the build stage found binaries already built: build outputs reached the context"
echo "built in $(secs $(( $(now) - t0 ))) s"

container_ip() { "$docker" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
health() { "$docker" inspect -f '{{.State.Health.Status}}' "$1"; }
wait_for() {    # wait_for SECONDS WHAT COMMAND...: poll every 0.2 s until COMMAND succeeds
        local limit=$1 what=$2; shift 2
        local end=$(( $(date +%s) + limit ))
        until "$@" >/dev/null 2>&1; do
                [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${limit}s waiting for $what"
                sleep 0.2
        done
}
worker_pid() {
        "$docker" exec "$1" upkeepctl -s /run/upkeep/upkeep.sock status api --json |
                python3 -c 'import json,sys; i=json.load(sys.stdin)["workers"][0]["instances"][0]
print(i["pid"] if i["state"] == "RUNNING" and i["pid"] else "")'
}

step "docker run the image"
c=upkeep-check-$$
containers+=("$c")
"$docker" run -d --name "$c" --stop-timeout "$GRACE" "$IMAGE" >/dev/null
pid1=$("$docker" exec "$c" cat /proc/1/comm)
[ "$pid1" = upkeepd ] || fail "PID 1 is $pid1, not upkeepd"
echo "PID 1: $pid1"
t0=$(now)
wait_for 60 "the HEALTHCHECK to report healthy" sh -c "[ \"\$('$docker' inspect -f '{{.State.Health.Status}}' $c)\" = healthy ]"
echo "healthy after $(secs $(( $(now) - t0 ))) s"
ip=$(container_ip "$c")
if [ -n "$ip" ]; then
        wait_for 10 "the worker to answer on $ip:8000" curl -sf "http://$ip:8000/health"
        echo "worker answers on the container's address $ip:8000: $(curl -s "http://$ip:8000/health")"
else
        echo "the container has no address on a bridge network: the 0.0.0.0 check is not made"
fi
wait_for 20 "a worker line in docker logs" sh -c "'$docker' logs $c 2>&1 | grep -q '^api | line '"
echo "docker logs: $("$docker" logs "$c" 2>&1 | grep -m1 '^api | line ')"

step "kill the worker (docker exec kill -KILL): upkeepd restarts it"
old=$(worker_pid "$c")
[ -n "$old" ] || fail "no running worker pid"
"$docker" exec "$c" kill -KILL "$old"
t0=$(now)
wait_for 20 "a new worker after killing $old" sh -c "p=\$('$docker' exec $c upkeepctl -s /run/upkeep/upkeep.sock status api --json | python3 -c 'import json,sys; i=json.load(sys.stdin)[\"workers\"][0][\"instances\"][0]; print(i[\"pid\"] if i[\"state\"]==\"RUNNING\" else \"\")'); [ -n \"\$p\" ] && [ \"\$p\" != $old ]"
echo "worker $old killed, $(worker_pid "$c") running $(secs $(( $(now) - t0 ))) s later"

step "docker stop (grace period ${GRACE}s)"
t0=$(now)
"$docker" stop "$c" >/dev/null || fail "docker stop failed"
dt=$(( $(now) - t0 ))
code=$("$docker" inspect -f '{{.State.ExitCode}}' "$c")
echo "stopped in $(secs "$dt") s, exit code $code"
[ "$code" = 0 ] || fail "upkeepd exited $code on docker stop, not 0"
[ "$dt" -lt $(( GRACE * 1000 )) ] || fail "docker stop took the whole grace period"

step "a required worker that fails for good ends the container with its exit code"
conf=$(mktemp /tmp/uk-required.XXXXXX.conf)
chmod 0644 "$conf"
cat >"$conf" <<'CONF'
log-dir = "-"
socket  = "/run/upkeep/upkeep.sock"
worker job {
    command  = "uk-worker --exit-after 300 --exit-code 7"
    required = true
    restart { policy = never }
}
CONF
c2=upkeep-check-req-$$
containers+=("$c2")
"$docker" run -d --name "$c2" -v "$conf:/etc/upkeep/upkeep.conf:ro" "$IMAGE" >/dev/null
wait_for 30 "the container to end" sh -c "[ \"\$('$docker' inspect -f '{{.State.Status}}' $c2)\" = exited ]"
rm -f "$conf"
code=$("$docker" inspect -f '{{.State.ExitCode}}' "$c2")
echo "container ended with exit code $code"
[ "$code" = 7 ] || { "$docker" logs "$c2" 2>&1 | tail -5; fail "exit code $code, expected the worker's 7"; }

echo "check-container: ok"
