#!/usr/bin/env bash
# Starts deploy/compose.yaml (docker compose where a daemon answers, else podman-compose), runs a class
# through the proxy (deploy/class_drive.py: 10 students × 2 tiny-llama jobs, every stream exact), kills
# one web container and the Ray worker node mid-job, checks every job ended `done` or `failed` with a
# reason and that nothing stored was lost, and tears the stack down (volumes included).
#
# Machines without Docker Hub (FTLAB_LOCAL_BASE=1, automatic when the hub does not answer): the ftlab
# image is built by scripts/container_check.sh --build-only (with the ray extra), and PostgreSQL and
# nginx stand-ins from deploy/local/ on the same local Debian base; FTLAB_IMAGE, FTLAB_POSTGRES_IMAGE and
# FTLAB_PROXY_IMAGE name them for the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=${FTLAB_COMPOSE_PROJECT:-ftlabcheck}
export FTLAB_PORT=${FTLAB_PORT:-18490}
WORK=$(mktemp -d /tmp/ftlab-compose-check-XXXXXX)
HOST_PY=${HOST_PY:-.venv/bin/python}
say() { printf '[compose-check] %s\n' "$*"; }

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  compose=(docker compose -p "$PROJECT" -f deploy/compose.yaml)
  engine=(docker)
else
  # podman-compose calls podman through a wrapper carrying this machine's flags (runc, cgroupfs) and
  # explicit rlimits (see container_check.sh)
  printf '#!/bin/sh\nexec podman --runtime runc --cgroup-manager=cgroupfs "$@"\n' >"$WORK/podman"
  chmod +x "$WORK/podman"
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=65536
  compose=(podman-compose --podman-path "$WORK/podman" -p "$PROJECT" -f deploy/compose.yaml
    "--podman-run-args=--ulimit=nofile=$nofile:$nofile --ulimit=nproc=4096:4096")
  engine=("$WORK/podman")
fi

cleanup() {
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${FTLAB_LOCAL_BASE:-}" ]; then
  if curl -s -o /dev/null -m 10 https://registry-1.docker.io/v2/; then FTLAB_LOCAL_BASE=0; else FTLAB_LOCAL_BASE=1; fi
fi
if [ "$FTLAB_LOCAL_BASE" = 1 ]; then
  export FTLAB_IMAGE=${FTLAB_IMAGE:-localhost/ftlab:ray}
  export FTLAB_POSTGRES_IMAGE=${FTLAB_POSTGRES_IMAGE:-localhost/ftlab-postgres:local}
  export FTLAB_PROXY_IMAGE=${FTLAB_PROXY_IMAGE:-localhost/ftlab-nginx:local}
  FTLAB_CHECK_IMAGE=$FTLAB_IMAGE FTLAB_EXTRAS=ray FTLAB_LOCAL_BASE=1 scripts/container_check.sh --build-only
  for stand_in in postgres nginx; do
    image=$FTLAB_POSTGRES_IMAGE
    [ $stand_in = nginx ] && image=$FTLAB_PROXY_IMAGE
    if ! "${engine[@]}" image exists "$image" 2>/dev/null; then
      say "building $image"
      nice -n 10 "${engine[@]}" build --isolation=chroot --network=host --format docker \
        -f "deploy/local/$stand_in.Containerfile" -t "$image" deploy/local >"$WORK/$stand_in.log" 2>&1 \
        || { tail -20 "$WORK/$stand_in.log"; exit 1; }
    fi
  done
fi

deploy/make-env.sh >"$WORK/env"
set -a
# shellcheck disable=SC1091
. "$WORK/env"
set +a

say "starting the stack"
t0=$(date +%s)
"${compose[@]}" up -d --no-build >"$WORK/up.log" 2>&1 || { tail -30 "$WORK/up.log"; exit 1; }
base=http://127.0.0.1:$FTLAB_PORT
if [ "${engine[0]}" != docker ]; then
  # podman-compose (1.0.x) starts services without waiting for `condition: service_healthy`, and a
  # web process that found no database exits: once PostgreSQL is healthy, start what exited.
  for _ in $(seq 60); do
    "${engine[@]}" healthcheck run "${PROJECT}_postgres_1" >/dev/null 2>&1 && break
    sleep 2
  done
  sleep 5
  # then the Ray head, and once it answers, the nodes that join it (the web processes join too)
  "${engine[@]}" start "${PROJECT}_ray-head_1" >/dev/null 2>&1 || true
  for _ in $(seq 60); do
    "${engine[@]}" healthcheck run "${PROJECT}_ray-head_1" >/dev/null 2>&1 && break
    sleep 2
  done
  for service in ray-worker web1 web2 proxy; do
    "${engine[@]}" start "${PROJECT}_${service}_1" >/dev/null 2>&1 || true
  done
fi
for _ in $(seq 150); do
  curl -sf "$base/api/health" >/dev/null && break
  sleep 2
done
curl -sf "$base/api/health" >/dev/null || { "${compose[@]}" logs --tail 30 || true; say "FAIL: no health"; exit 1; }
say "healthy through the proxy after $(( $(date +%s) - t0 )) s"

container() {  # the container of a compose service
  "${engine[@]}" ps --format '{{.Names}}' | grep -E "^${PROJECT}[_-]$1[_-]1$" | head -1
}
web1=$(container web1)
worker=$(container ray-worker)
# A crash, not an admin's stop: SIGKILL the container's main process from the host, so the restart
# policy brings it back (an engine's `kill` counts as stopped by the user and stays down).
crash() { echo "kill -KILL \$(${engine[*]} inspect --format '{{.State.Pid}}' $1)"; }
say "running the class; $web1 and $worker crash mid-job"
"$HOST_PY" deploy/class_drive.py "$base" "$FTLAB_INSTRUCTOR_TOKEN" "$(crash "$web1")" "$(crash "$worker")" \
  | tee "$WORK/result.json"
say "PASS"
