#!/usr/bin/env bash
# A two-node Ray cluster on loopback for ftlab's tests and benchmarks (one CPU per node, no
# dashboard, token authentication on): `scripts/ray_cluster.sh start` prints the address to export as
# FTLAB_TEST_RAY_ADDRESS; `scripts/ray_cluster.sh stop` stops both nodes.
# Ports: 18250-18299 (gcs 18250; head 18252-18256; second node 18257-18261; workers 18262-18299).
set -euo pipefail
cd "$(dirname "$0")/.."
RAY=${RAY:-.venv/bin/ray}
TEMP=${FTLAB_RAY_TEMP:-/tmp/ftlab-ray}
export RAY_AUTH_MODE=token  # every request to the cluster carries the token (Ray >= 2.52)
export RAY_AUTH_TOKEN_PATH=${RAY_AUTH_TOKEN_PATH:-$TEMP/auth_token}
export RAY_USAGE_STATS_ENABLED=0
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

case "${1:-start}" in
  start)
    mkdir -p "$TEMP"
    [ -s "$RAY_AUTH_TOKEN_PATH" ] || (umask 077; python3 -c "import secrets; print(secrets.token_hex(32))" > "$RAY_AUTH_TOKEN_PATH")
    "$RAY" start --head --node-ip-address=127.0.0.1 --port=18250 --num-cpus=1 --include-dashboard=false \
      --node-manager-port=18252 --object-manager-port=18253 \
      --metrics-export-port=18254 --dashboard-agent-listen-port=18255 --dashboard-agent-grpc-port=18256 \
      --runtime-env-agent-port=18262 --min-worker-port=18263 --max-worker-port=18280 \
      --temp-dir="$TEMP" --disable-usage-stats >/dev/null
    "$RAY" start --address=127.0.0.1:18250 --node-ip-address=127.0.0.1 --num-cpus=1 \
      --node-manager-port=18257 --object-manager-port=18258 --metrics-export-port=18259 \
      --dashboard-agent-listen-port=18260 --dashboard-agent-grpc-port=18261 \
      --runtime-env-agent-port=18281 --min-worker-port=18282 --max-worker-port=18299 \
      --disable-usage-stats >/dev/null
    echo "127.0.0.1:18250"
    ;;
  stop)
    "$RAY" stop --force >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
