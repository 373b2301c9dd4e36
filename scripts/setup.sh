#!/usr/bin/env bash
# Sets up ftlab in .venv: torch (CPU build unless an NVIDIA GPU is present), the package,
# and the default models in the cache. Idempotent: a second run takes seconds.
#   scripts/setup.sh          runtime only
#   scripts/setup.sh --test   also the test tools, a system Chromium for the browser tests and the
#                             PostgreSQL server binaries (the tests start a throwaway cluster of their own)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FTLAB_VENV:-.venv}
PY=${PYTHON:-python3}
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
PIP="$VENV/bin/pip"

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    spec=${FTLAB_TORCH_SPEC:-torch}
  else
    # No NVIDIA GPU: never pull the multi-GB CUDA build. 2.13.0 is a CPU build on these machines;
    # elsewhere set FTLAB_TORCH_SPEC (and PIP_INDEX_URL) to a CPU build.
    spec=${FTLAB_TORCH_SPEC:-torch==2.13.0}
  fi
  echo "[setup] installing $spec"
  "$PIP" install -q "$spec"
fi

stamp="$VENV/.ftlab-installed"
extras=""
[ $want_test = 1 ] && extras="[test]"
if [ ! -f "$stamp$extras" ] || [ pyproject.toml -nt "$stamp$extras" ]; then
  echo "[setup] installing ftlab$extras"
  "$PIP" install -q -e ".$extras"
  touch "$stamp$extras"
fi

if [ $want_test = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "[setup] no /usr/bin/chromium: browser tests will be skipped (they fail when CI is set)"
  fi
fi

# PostgreSQL for the store tests: the session starts its own throwaway cluster with Debian's initdb and
# pg_ctl (tests/utils/services.py), so only the binaries are needed.
if [ $want_test = 1 ] && ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing Debian's postgresql for the store tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "[setup] no PostgreSQL server binaries: the PostgreSQL tests will be skipped (they fail when CI is set)"
  fi
fi

# axe-core (pinned in package.json / package-lock.json) for the accessibility checks of tests/browser.
if [ $want_test = 1 ]; then
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  if command -v npm >/dev/null; then
    echo "[setup] installing axe-core for the browser tests"
    npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
  else
    echo "[setup] no npm: the accessibility browser tests will be skipped (they fail when CI is set)"
  fi
fi

"$VENV/bin/ftlab" models fetch
