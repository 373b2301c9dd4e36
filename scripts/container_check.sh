#!/usr/bin/env bash
# Builds the CPU image and proves it works as a self-hoster would run it (docker where a daemon
# answers, else podman): start on a named volume, wait for the image's own HEALTHCHECK, train a
# tiny-llama and a short SmolLM2 job to `done` through the HTTP API and the websocket, load the
# downloaded adapter with plain peft on the host, stop within the default 10 s grace, start again on
# the same volume with networking off and drive it from inside (every job and its events still there,
# one more job and a SmolLM2 generation offline), check it runs as a non-root user, print the image size.
#
# Machines without Docker Hub (FTLAB_LOCAL_BASE=1, automatic when the hub does not answer): the base is
# a Debian bookworm made with mmdebstrap and imported (cached as localhost/ftlab-base:bookworm); pip in
# the build uses what this machine's pip uses: its index, its local wheel dir (find-links, mounted: the
# CPU torch lies there; FTLAB_TORCH_SPEC overrides the pick) and its CA bundle (mounted).
# Other knobs: FTLAB_CHECK_IMAGE (default localhost/ftlab:check), FTLAB_CHECK_PORT (18480),
# FTLAB_CHECK_SKIP_BUILD=1 (reuse the image), FTLAB_EXTRAS (package extras, e.g. ray),
# ENGINE=docker|podman. `container_check.sh --build-only` builds the image (and the base) and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${FTLAB_CHECK_IMAGE:-localhost/ftlab:check}
PORT=${FTLAB_CHECK_PORT:-18480}
NAME=ftlab-check-$$
VOLUME=ftlab-check-data-$$
WORK=$(mktemp -d /tmp/ftlab-container-check-XXXXXX)
HOST_PY=${HOST_PY:-.venv/bin/python}
CA_BUNDLE=${FTLAB_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

say() { printf '[container-check] %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if [ -z "${ENGINE:-}" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
engine=("$ENGINE")
run_flags=()
if [ "$ENGINE" = podman ]; then
  # This machine's hybrid cgroups and rlimits: crun refuses them, runc with cgroupfs works; runc may
  # not set podman's default rlimits (nor --ulimit host's) here, so explicit ones within the host's.
  engine=(podman --runtime runc --cgroup-manager=cgroupfs)
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=65536
  run_flags=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
fi

cleanup() {
  "${engine[@]}" rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  "${engine[@]}" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. build ---------------------------------------------------------------------------------------
build_args=()
build_flags=()
if [ -z "${FTLAB_LOCAL_BASE:-}" ]; then
  if curl -s -o /dev/null -m 10 https://registry-1.docker.io/v2/; then FTLAB_LOCAL_BASE=0; else FTLAB_LOCAL_BASE=1; fi
fi
if [ "$FTLAB_LOCAL_BASE" = 1 ]; then
  base=localhost/ftlab-base:bookworm
  if ! "${engine[@]}" image exists "$base" 2>/dev/null && ! "${engine[@]}" image inspect "$base" >/dev/null 2>&1; then
    say "building the Debian base with mmdebstrap (cached as $base)"
    nice -n 10 mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$WORK/base.tar" http://deb.debian.org/debian >"$WORK/mmdebstrap.log" 2>&1 \
      || { tail -20 "$WORK/mmdebstrap.log"; exit 1; }
    "${engine[@]}" import "$WORK/base.tar" "$base" >/dev/null
    rm -f "$WORK/base.tar"
  fi
  index=$(python3 -m pip config get global.index-url 2>/dev/null || echo https://pypi.org/simple)
  wheels=${FTLAB_WHEELS_DIR:-$(python3 -m pip config get global.find-links 2>/dev/null || true)}
  torch_spec=${FTLAB_TORCH_SPEC:-}
  if [ -n "$wheels" ] && [ -d "$wheels" ]; then
    build_flags+=(-v "$wheels:/opt/wheels:ro")
    build_args+=(--build-arg PIP_FIND_LINKS=/opt/wheels)
    if [ -z "$torch_spec" ]; then  # the CPU wheel the machine holds for the base's Python (3.11)
      cpu=$(find "$wheels" -maxdepth 1 -name 'torch-*+cpu-cp311-*.whl' -printf '%f\n' | sort | tail -1)
      [ -n "$cpu" ] && torch_spec="torch==$(echo "$cpu" | cut -d- -f2)"
    fi
  fi
  build_args+=(--build-arg "BASE=$base" --build-arg "TORCH_SPEC=${torch_spec:-torch==2.13.0}"
    --build-arg "TORCH_INDEX=$index" --build-arg "PIP_INDEX_URL=$index")
  if [ -s "$CA_BUNDLE" ]; then
    build_args+=(--build-arg "PIP_CERT=/etc/ssl/certs/ca-certificates.crt")
    build_flags+=(-v "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
  fi
fi
if [ "$ENGINE" = podman ]; then
  # docker format keeps the HEALTHCHECK; chroot isolation and the host network build here.
  build_flags+=(--format docker --isolation=chroot --network=host --layers)
fi
[ -n "${FTLAB_EXTRAS:-}" ] && build_args+=(--build-arg "EXTRAS=$FTLAB_EXTRAS")
if [ -z "${FTLAB_CHECK_SKIP_BUILD:-}" ]; then
  say "building $IMAGE with $ENGINE"
  t0=$(now)
  nice -n 10 "${engine[@]}" build "${build_flags[@]}" "${build_args[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log"; exit 1; }
  say "build time: $(since "$t0") s"
fi
size=$("${engine[@]}" image inspect --format '{{.Size}}' "$IMAGE")
say "image size: $(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }') ($size bytes)"
[ "${1:-}" = --build-only ] && exit 0

# --- 2. start on a named volume and wait for the image's own HEALTHCHECK ------------------------------
start() {  # start NETWORK_FLAGS...
  "${engine[@]}" run -d --name "$NAME" "${run_flags[@]}" -v "$VOLUME:/data" \
    -e FTLAB_INSTRUCTOR_TOKEN=container-check-token-0123456789 "$@" "$IMAGE" >/dev/null
}
wait_healthy() {
  local t0 status
  t0=$(now)
  for _ in $(seq 120); do
    if [ "$ENGINE" = podman ]; then
      # podman runs the image's HEALTHCHECK command on request (no systemd timer here)
      if podman healthcheck run "$NAME" >/dev/null 2>&1; then status=healthy; else status=starting; fi
    else
      status=$(docker inspect --format '{{.State.Health.Status}}' "$NAME")
    fi
    if [ "$status" = healthy ]; then
      say "healthy (the image's HEALTHCHECK passed) after $(since "$t0") s"
      return 0
    fi
    sleep 2
  done
  "${engine[@]}" logs "$NAME" | tail -30
  say "FAIL: never healthy"
  return 1
}
"${engine[@]}" volume create "$VOLUME" >/dev/null
start -p "127.0.0.1:$PORT:8000"
wait_healthy

uid=$("${engine[@]}" exec "$NAME" sh -c 'stat -c %u /proc/1')
user=$("${engine[@]}" exec "$NAME" id -un)
[ "$uid" != 0 ] || { say "FAIL: the server runs as root"; exit 1; }
say "the server (PID 1) runs as uid $uid ($user), not root"

# --- 3. jobs through the HTTP API and the websocket; the adapter with plain peft on the host --------
say "training a tiny-llama and a short SmolLM2 LoRA job through the API and the websocket"
"$HOST_PY" scripts/container_probe.py train "http://127.0.0.1:$PORT" "$WORK/out"
"$HOST_PY" scripts/container_probe.py peft "$WORK/out"

# --- 4. stop within the default grace period --------------------------------------------------------
t0=$(now)
"${engine[@]}" stop "$NAME" >/dev/null  # the engine's default: SIGTERM, SIGKILL after 10 s
stop_s=$(since "$t0")
code=$("${engine[@]}" inspect --format '{{.State.ExitCode}}' "$NAME")
say "stopped in $stop_s s, exit code $code"
if [ "$code" = 137 ] || awk -v s="$stop_s" 'BEGIN { exit !(s >= 10) }'; then
  say "FAIL: the server did not stop on SIGTERM within the grace period"
  exit 1
fi
"${engine[@]}" rm "$NAME" >/dev/null

# --- 5. again on the same volume, networking off, driven from inside --------------------------------
start --network none
wait_healthy
"${engine[@]}" cp "$WORK/out/jobs.json" "$NAME:/tmp/jobs.json"
"${engine[@]}" exec "$NAME" sh -c '! python3 -c "import socket; socket.create_connection((\"pypi.org\", 443), 3)" 2>/dev/null' \
  || { say "FAIL: the container reached the network"; exit 1; }
say "the container has no network; driving it from inside"
"${engine[@]}" exec "$NAME" python3 scripts/container_probe.py verify http://127.0.0.1:8000 /tmp/jobs.json
t0=$(now)
"${engine[@]}" stop "$NAME" >/dev/null
say "stopped again in $(since "$t0") s"
say "PASS: image $IMAGE, $(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }')"
