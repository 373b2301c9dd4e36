#!/usr/bin/env bash
# The lesson's recorded runs, three seeds each: every SmolLM2 method at the learning rate the sweep
# chose for it (scripts/sweep_lr.sh, kept in recorded/sweep.json), on the same steps, batch and
# sequence length, evaluated every 5 steps so the held-out curve shows; plus one longer full
# fine-tuning run that shows over-fitting, and the MiniLM head's default run per seed.
# Two runs at a time, one torch thread each; logs and runs in $SEED_DIR; then
# scripts/pick_seeds.py copies them into lessons/fine-tuning-llms/recorded/.
#   scripts/record_seeds.sh [METHOD:LR:SEED ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
SEED_DIR=${SEED_DIR:-data/seeds}
JOBS=${JOBS:-2}
SAME="--model smollm2-135m --steps 20 --batch-size 4 --seq-len 128 --eval-every 5 --spectrum-every 5"
# Each method's rate as the sweep chose it (recorded/sweep.json), as METHOD:LR words.
RATES=$("$PYTHON" -c 'import json, sys
chosen = json.load(open(sys.argv[1]))["chosen"]
print(" ".join(f"{m}:{lr:g}" for m, lr in chosen.items()))' lessons/fine-tuning-llms/recorded/sweep.json)
FULL_LR=$(tr ' ' '\n' <<<"$RATES" | sed -n 's/^full://p')
# The over-fitting run: full fine-tuning at its chosen rate for 100 steps (about three passes over
# tone's training examples), evaluated every 5.
LONG="--model smollm2-135m --method full --task tone --lr $FULL_LR --steps 100 --batch-size 4 --seq-len 128 --eval-every 5 --spectrum-every 10"
declare -A task=([dpo]=tone-preference)
mkdir -p "$SEED_DIR"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHON SEED_DIR SAME LONG

one_run() {  # NAME ARGS...: one run into $SEED_DIR/NAME.jsonl (kept only if it ends in done)
  local name=$1; shift
  local out="$SEED_DIR/$name.jsonl"
  [ -s "$out" ] && tail -1 "$out" | grep -q '"type":"done"' && { echo "[seeds] $name: already done" >&2; return 0; }
  echo "[seeds] $(date -u +%T) start $name" >&2
  if "$PYTHON" -m app.cli train "$@" --jsonl > "$out.tmp" 2> "$out.log" && tail -1 "$out.tmp" | grep -q '"type":"done"'; then
    mv "$out.tmp" "$out"
    echo "[seeds] $(date -u +%T) done $name" >&2
  else
    echo "[seeds] $(date -u +%T) $name did not end in done: $(tail -1 "$out.tmp")" >&2
  fi
}
export -f one_run

{
  if [ $# -gt 0 ]; then
    for item in "$@"; do
      IFS=: read -r m lr s <<<"$item"
      echo "$m-seed$s $SAME --method $m --task ${task[$m]:-tone} --lr $lr --seed $s"
    done
  else
    echo "full-overfit $LONG"
    for s in 0 1 2; do
      for item in $RATES; do
        m=${item%%:*}
        echo "$m-seed$s $SAME --method $m --task ${task[$m]:-tone} --lr ${item#*:} --seed $s"
      done
      echo "head-seed$s --model minilm-l6 --method head --task sentiment --seed $s"
    done
  fi
} | xargs -P "$JOBS" -L 1 bash -c 'one_run "$@"' _
echo "[seeds] $(date -u +%T) finished" >&2
