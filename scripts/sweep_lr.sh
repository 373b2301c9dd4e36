#!/usr/bin/env bash
# The lesson's like-for-like recorded runs: every SmolLM2 method on the same steps, batch and
# sequence length, at two or three learning rates each (an idle 2-core CPU runs one SmolLM2 adapter
# run in 2.5-4 minutes, two at a time);
# scripts/pick_sweep.py then keeps, per method, the run with the lowest held-out loss among those whose held-out replies do not loop (see its rule),
# copies it to recorded/<method>.jsonl and writes the whole sweep to recorded/sweep.json.
# Two runs at a time, one torch thread each (a shared 2-core machine); logs in $SWEEP_DIR.
#   scripts/sweep_lr.sh [METHOD:LR ...]       (default: the rounds below, then the head run)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
SWEEP_DIR=${SWEEP_DIR:-data/sweep}
JOBS=${JOBS:-2}
SAME="--model smollm2-135m --steps 20 --batch-size 4 --seq-len 128 --eval-every 20 --spectrum-every 5"
declare -A task=([dpo]=tone-preference)
# Rounds, most important first, so a sweep cut short still leaves every method recorded like for
# like: round 1 gives each method one rate (full fine-tuning two), round 2 a second rate each (three
# times the first for the adapters: short runs favour larger rates), rounds 3 and 4 one more beyond
# wherever the best rate so far sat at the edge of those tried, until every chosen rate had a worse
# one on each side. The explorer's ΔW is exported from the full run chosen last.
ROUND1="full:1e-5 full:3e-5 dpo:3e-4 lora:2e-3 qlora:2e-3 prompt:3e-2 prefix:1e-2 sft:2e-3"
ROUND2="lora:6e-3 prompt:1e-1 qlora:6e-3 prefix:3e-2 sft:6e-3 dpo:1e-3"
ROUND3="full:1e-4 lora:2e-2 qlora:2e-2 prefix:1e-1 sft:2e-2 dpo:3e-3"
ROUND4="full:3e-4 full:1e-3 prompt:1e-2 export"
[ $# -gt 0 ] && ROUND1="$*" && ROUND2="" && ROUND3="" && ROUND4=""
mkdir -p "$SWEEP_DIR"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHON SWEEP_DIR SAME

one_run() {  # METHOD TASK LR: one run into $SWEEP_DIR/METHOD-LR.jsonl (kept only if it ends in done)
  if [ "$1" = export ]; then  # the explorer's real ΔW: the full run at the better of its rates, again
    while ls "$SWEEP_DIR"/full-*.jsonl.tmp >/dev/null 2>&1; do sleep 10; done  # wait for full's runs
    echo "[sweep] $(date -u +%T) start export" >&2
    if "$PYTHON" scripts/export_delta.py "$("$PYTHON" scripts/pick_sweep.py --best full "$SWEEP_DIR")" \
        > "$SWEEP_DIR/export.log" 2>&1; then
      echo "[sweep] $(date -u +%T) exported ΔW" >&2
    else
      echo "[sweep] export failed: $(tail -1 "$SWEEP_DIR/export.log")" >&2
    fi
    return 0
  fi
  local out="$SWEEP_DIR/$1-$3.jsonl"
  [ -s "$out" ] && tail -1 "$out" | grep -q '"type":"done"' && { echo "[sweep] $1 lr $3: already done" >&2; return 0; }
  echo "[sweep] $(date -u +%T) start $1 lr $3" >&2
  # shellcheck disable=SC2086
  if "$PYTHON" -m app.cli train $SAME --method "$1" --task "$2" --lr "$3" --jsonl > "$out.tmp" 2> "$out.log" \
      && tail -1 "$out.tmp" | grep -q '"type":"done"'; then
    mv "$out.tmp" "$out"
    echo "[sweep] $(date -u +%T) done $1 lr $3" >&2
  else
    echo "[sweep] $(date -u +%T) $1 lr $3 did not end in done: $(tail -1 "$out.tmp")" >&2
  fi
}
export -f one_run

for item in $ROUND1 $ROUND2 $ROUND3 $ROUND4; do
  if [ "$item" = export ]; then
    [ -z "${NO_EXPORT:-}" ] && echo "export - -"
  else
    m=${item%%:*}
    echo "$m ${task[$m]:-tone} ${item#*:}"
  fi
done | xargs -P "$JOBS" -L 1 bash -c 'one_run "$@"' _

"$PYTHON" scripts/pick_sweep.py "$SWEEP_DIR"
# the classifier head trains another model on another task: its default run, recorded as it is
"$PYTHON" -m app.cli train --model minilm-l6 --method head --task sentiment --jsonl > "$SWEEP_DIR/head.jsonl"
tail -1 "$SWEEP_DIR/head.jsonl" | grep -q '"type":"done"' && cp "$SWEEP_DIR/head.jsonl" lessons/fine-tuning-llms/recorded/head.jsonl
echo "[sweep] $(date -u +%T) finished" >&2
