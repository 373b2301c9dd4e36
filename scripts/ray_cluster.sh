#!/usr/bin/env bash
# A two-node Ray cluster on loopback for ftlab's tests and benchmarks (one CPU per node, no
# dashboard, token authentication on). Several can run side by side on one machine, each on its own
# port range and temp dir:
#   FTLAB_RAY_PORT_BASE=18250 FTLAB_RAY_TEMP=/tmp/ftlab-ray scripts/ray_cluster.sh start
# prints the address to export as FTLAB_TEST_RAY_ADDRESS (with RAY_AUTH_MODE=token and
# RAY_AUTH_TOKEN_PATH=$FTLAB_RAY_TEMP/auth_token); `... stop` (same variables) stops that cluster only.
# Ports, from the base B: gcs B, head B+2..B+6, second node B+7..B+11, runtime-env
# agents B+12 and B+31, worker ports B+13..B+30 and B+32..B+49.
#
# `ray stop` would kill every Ray process on the machine (other clusters included), so `stop` never
# calls it: it signals exactly this cluster's processes (see own_pids), never its caller.
set -euo pipefail
cd "$(dirname "$0")/.."
RAY=${RAY:-.venv/bin/ray}
BASE=${FTLAB_RAY_PORT_BASE:-18250}
TEMP=${FTLAB_RAY_TEMP:-/tmp/ftlab-ray}
TEMP=$(realpath -m "$TEMP")  # absolute: matched against open files
export RAY_AUTH_MODE=token  # every request to the cluster carries the token (Ray >= 2.52)
export RAY_AUTH_TOKEN_PATH=${RAY_AUTH_TOKEN_PATH:-$TEMP/auth_token}
export RAY_USAGE_STATS_ENABLED=0
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

# The pids of this cluster's processes: those whose environment names its temp dir, and those holding
# a file open under it (Ray's agents rewrite their environment area with their process title, but
# every Ray process keeps its log files open in the temp dir). This script's own processes carry the
# variable only while starting; the caller (a test session, say) is never counted.
own_pids() {
  {
    grep -lzxF "FTLAB_RAY_CLUSTER=$TEMP" /proc/[0-9]*/environ 2>/dev/null
    find /proc/[0-9]*/fd -maxdepth 1 -lname "$TEMP/*" 2>/dev/null
  } | sed -n 's#^/proc/\([0-9]*\)/.*#\1#p' | sort -u | grep -vx -e "$$" -e "$PPID" || true
}

case "${1:-start}" in
  start)
    export FTLAB_RAY_CLUSTER=$TEMP  # inherited by every process of the cluster (see `stop`)
    mkdir -p "$TEMP"
    [ -s "$RAY_AUTH_TOKEN_PATH" ] || (umask 077; python3 -c "import secrets; print(secrets.token_hex(32))" > "$RAY_AUTH_TOKEN_PATH")
    "$RAY" start --head --node-ip-address=127.0.0.1 --port="$BASE" --num-cpus=1 --include-dashboard=false \
      --node-manager-port=$((BASE + 2)) --object-manager-port=$((BASE + 3)) \
      --metrics-export-port=$((BASE + 4)) --dashboard-agent-listen-port=$((BASE + 5)) \
      --dashboard-agent-grpc-port=$((BASE + 6)) --runtime-env-agent-port=$((BASE + 12)) \
      --min-worker-port=$((BASE + 13)) --max-worker-port=$((BASE + 30)) \
      --temp-dir="$TEMP" --disable-usage-stats >"$TEMP/start-head.log" 2>&1 \
      || { cat "$TEMP/start-head.log" >&2; exit 1; }
    "$RAY" start --address="127.0.0.1:$BASE" --node-ip-address=127.0.0.1 --num-cpus=1 \
      --node-manager-port=$((BASE + 7)) --object-manager-port=$((BASE + 8)) \
      --metrics-export-port=$((BASE + 9)) --dashboard-agent-listen-port=$((BASE + 10)) \
      --dashboard-agent-grpc-port=$((BASE + 11)) --runtime-env-agent-port=$((BASE + 31)) \
      --min-worker-port=$((BASE + 32)) --max-worker-port=$((BASE + 49)) \
      --disable-usage-stats >"$TEMP/start-node.log" 2>&1 \
      || { cat "$TEMP/start-node.log" >&2; exit 1; }
    echo "127.0.0.1:$BASE"
    ;;
  stop)
    pids=$(own_pids)
    [ -z "$pids" ] && exit 0
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 20); do
      pids=$(own_pids)
      [ -z "$pids" ] && exit 0
      sleep 0.25
    done
    kill -KILL $pids 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
