#!/usr/bin/env bash
# Starts deploy/compose.yaml (docker compose where a daemon answers, else podman-compose), runs a class
# through the proxy (deploy/class_drive.py: 10 students × 2 tiny-llama jobs, every stream exact), crashes
# the web container whose process schedules the queue (its Ray actors run the jobs) mid-job and, once
# the queue has moved on, the Ray worker node mid-job; checks every job ended `done` or `failed` with a
# reason, that nothing stored was lost and the queue kept moving, that the restart policy brought both
# containers back, and tears the stack down (volumes and network included) leaving nothing of the
# project behind. Prints the figures.
#
# The ftlab image (with the ray extra) is always built, by scripts/container_check.sh --build-only
# (layer-cached: a code change rebuilds the last layers only). Machines without Docker Hub
# (FTLAB_LOCAL_BASE=1, automatic when the hub does not answer) get the local Debian base there, and
# PostgreSQL and nginx stand-ins from deploy/local/ built on it here (layer-cached too); FTLAB_IMAGE,
# FTLAB_POSTGRES_IMAGE and FTLAB_PROXY_IMAGE name the images for the stack.
# Knobs: FTLAB_COMPOSE_PROJECT (ftlabcheck), FTLAB_PORT (18490), HOST_PY (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=${FTLAB_COMPOSE_PROJECT:-ftlabcheck}
export FTLAB_PORT=${FTLAB_PORT:-18490}
WORK=$(mktemp -d /tmp/ftlab-compose-check-XXXXXX)
HOST_PY=${HOST_PY:-.venv/bin/python}
say() { printf '[compose-check] %s\n' "$*"; }
t_check=$(date +%s)
say "load at the start: $(uptime)"

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

container() {  # the container of a compose service
  "${engine[@]}" ps -a --format '{{.Names}}' | grep -E "^${PROJECT}[_-]$1[_-]1$" | head -1
}
project_label=com.docker.compose.project=$PROJECT  # docker compose and podman-compose both set it
leftovers() {  # what of the project still exists: containers, volumes, networks
  "${engine[@]}" ps -a -q --filter "label=$project_label"
  "${engine[@]}" volume ls -q --filter "label=$project_label"
  "${engine[@]}" network ls -q --filter "label=$project_label"
}
teardown() {
  "${compose[@]}" down -v >"$WORK/down.log" 2>&1 || true
  # podman-compose 1.0.x leaves the project's network behind
  "${engine[@]}" network ls -q --filter "label=$project_label" \
    | xargs -r "${engine[@]}" network rm >/dev/null 2>&1 || true
}
torn_down=
cleanup() {
  local code=$? name service
  if [ "$code" != 0 ] && [ -z "$torn_down" ]; then
    for service in web1 web2 ray-head ray-worker; do
      name=$(container "$service" 2>/dev/null || true)
      [ -n "$name" ] || continue
      say "last lines of $name:"
      "${engine[@]}" logs --tail 25 "$name" 2>&1 || true
    done
  fi
  [ -n "$torn_down" ] || teardown
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- images -------------------------------------------------------------------------------------------
if [ -z "${FTLAB_LOCAL_BASE:-}" ]; then
  if curl -s -o /dev/null -m 10 https://registry-1.docker.io/v2/; then FTLAB_LOCAL_BASE=0; else FTLAB_LOCAL_BASE=1; fi
fi
export FTLAB_IMAGE=${FTLAB_IMAGE:-localhost/ftlab:ray}
t0=$(date +%s)
FTLAB_CHECK_IMAGE=$FTLAB_IMAGE FTLAB_EXTRAS=ray FTLAB_LOCAL_BASE=$FTLAB_LOCAL_BASE \
  scripts/container_check.sh --build-only
if [ "$FTLAB_LOCAL_BASE" = 1 ]; then
  export FTLAB_POSTGRES_IMAGE=${FTLAB_POSTGRES_IMAGE:-localhost/ftlab-postgres:local}
  export FTLAB_PROXY_IMAGE=${FTLAB_PROXY_IMAGE:-localhost/ftlab-nginx:local}
  build_flags=()
  [ "${engine[0]}" = docker ] || build_flags=(--isolation=chroot --network=host --format docker --layers)
  for stand_in in postgres nginx; do
    image=$FTLAB_POSTGRES_IMAGE
    [ $stand_in = nginx ] && image=$FTLAB_PROXY_IMAGE
    t1=$(date +%s)
    nice -n 10 "${engine[@]}" build "${build_flags[@]}" \
      -f "deploy/local/$stand_in.Containerfile" -t "$image" deploy/local >"$WORK/$stand_in.log" 2>&1 \
      || { tail -20 "$WORK/$stand_in.log"; exit 1; }
    say "built $image (deploy/local/$stand_in.Containerfile) in $(($(date +%s) - t1)) s"
  done
fi
say "images ready after $(($(date +%s) - t0)) s"

# --- up -----------------------------------------------------------------------------------------------
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
curl -sf "$base/api/health" >/dev/null || { say "FAIL: no health"; exit 1; }
say "healthy through the proxy after $(($(date +%s) - t0)) s"

# --- the class, and the faults ------------------------------------------------------------------------
# A crash, not an admin's stop: SIGKILL the container's main process from the host, so the restart
# policy brings it back (an engine's `kill` counts as stopped by the user and stays down). The web
# container crashed is the one whose process holds the scheduler lease (the leases table names its
# host): its Ray actors, and so the jobs it started, die with it.
engine_q=$(printf '%q ' "${engine[@]}")
postgres=$(container postgres)
worker=$(container ray-worker)
webs="$(container web1) $(container web2)"
{
  echo '#!/usr/bin/env bash'
  echo 'set -euo pipefail'
  echo "host=\$($engine_q exec $postgres psql -U ftlab -d ftlab -tAc \"select host from leases where name = 'scheduler'\")"
  echo "for name in $webs; do"
  echo "  if [ \"\$($engine_q inspect --format '{{.Config.Hostname}}' \$name)\" = \"\$host\" ]; then"
  echo "    kill -KILL \"\$($engine_q inspect --format '{{.State.Pid}}' \$name)\""
  echo '    echo "$name"'
  echo '    exit 0'
  echo '  fi'
  echo 'done'
  echo "echo \"no web container has the scheduler lease's host name '\$host'\" >&2"
  echo 'exit 1'
} >"$WORK/crash-scheduler-web"
{
  echo '#!/usr/bin/env bash'
  echo "kill -KILL \"\$($engine_q inspect --format '{{.State.Pid}}' $worker)\""
  echo "echo $worker"
} >"$WORK/crash-worker"
chmod +x "$WORK/crash-scheduler-web" "$WORK/crash-worker"
restarts() { "${engine[@]}" inspect --format '{{.RestartCount}}' "$1"; }
# shellcheck disable=SC2086
before="$(restarts "$worker") $(for w in $webs; do restarts "$w"; done | xargs)"
say "running the class; the scheduling web container, then $worker, crash mid-job"
"$HOST_PY" deploy/class_drive.py "$base" "$FTLAB_INSTRUCTOR_TOKEN" "$WORK/crash-scheduler-web" \
  "$WORK/crash-worker" | tee "$WORK/result.json"

# the restart policy brought both crashed containers back, and both web processes serve again
after="$(restarts "$worker") $(for w in $webs; do restarts "$w"; done | xargs)"
say "restart counts (ray-worker web1 web2): before $before, after $after"
[ "${after%% *}" -gt "${before%% *}" ] || { say "FAIL: $worker was not restarted"; exit 1; }
[ "${after#* }" != "${before#* }" ] || { say "FAIL: no web container was restarted"; exit 1; }
serves() { "${engine[@]}" exec "$1" python3 -c \
  "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)" >/dev/null 2>&1; }
for name in $worker $webs; do
  for _ in $(seq 90); do
    [ "$("${engine[@]}" inspect --format '{{.State.Status}}' "$name")" = running ] \
      && { [ "$name" = "$worker" ] || serves "$name"; } && break
    sleep 2
  done
  [ "$("${engine[@]}" inspect --format '{{.State.Status}}' "$name")" = running ] \
    || { say "FAIL: $name is not running after the class (restart policy)"; exit 1; }
  [ "$name" = "$worker" ] || serves "$name" || { say "FAIL: $name does not serve after the class"; exit 1; }
done
say "both crashed containers are back (restart policy); both web processes serve"

# --- down ---------------------------------------------------------------------------------------------
say "tearing down (volumes included)"
t0=$(date +%s)
teardown
torn_down=1
left=$(leftovers)
[ -z "$left" ] || { say "FAIL: left behind after teardown: $left"; exit 1; }
say "torn down in $(($(date +%s) - t0)) s; nothing of project $PROJECT is left (containers, volumes, networks)"
say "load at the end: $(uptime)"
say "PASS in $(($(date +%s) - t_check)) s"
