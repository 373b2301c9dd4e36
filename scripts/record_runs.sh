#!/usr/bin/env bash
# Records the lesson's "recorded" runs: real default runs of each method, one after the other
# (run it on an otherwise idle machine: the streams carry wall times). Each file is exactly what
# `ftlab train --jsonl` printed; a run that does not end in `done` is not kept.
#   scripts/record_runs.sh [METHOD ...]     (default: every method below)
set -euo pipefail
cd "$(dirname "$0")/.."
out=lessons/fine-tuning-llms/recorded
mkdir -p "$out"
declare -A runs=(
  [lora]="--model smollm2-135m --method lora --task tone"
  [full]="--model smollm2-135m --method full --task tone"
  [qlora]="--model smollm2-135m --method qlora --task tone"
  [prompt]="--model smollm2-135m --method prompt --task tone"
  [prefix]="--model smollm2-135m --method prefix --task tone"
  [sft]="--model smollm2-135m --method sft --task tone"
  [dpo]="--model smollm2-135m --method dpo --task tone-preference"
  [head]="--model minilm-l6 --method head --task sentiment"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(lora full qlora prompt prefix sft dpo head)
for name in "${names[@]}"; do
  echo "[record] $name: ftlab train ${runs[$name]} --jsonl" >&2
  tmp=$(mktemp)
  .venv/bin/ftlab train ${runs[$name]} --jsonl > "$tmp"
  if tail -1 "$tmp" | grep -q '"type":"done"'; then
    mv "$tmp" "$out/$name.jsonl" && chmod 644 "$out/$name.jsonl"
    tail -1 "$out/$name.jsonl" | .venv/bin/python -c 'import json,sys; s=json.loads(sys.stdin.read())["summary"]; print({k: s.get(k) for k in ("wall_s","trainable_pct","final_eval_loss","metric","metric_name")})' >&2
  else
    echo "[record] $name did not end in done; kept nothing: $(tail -1 "$tmp")" >&2
    rm -f "$tmp"
  fi
done
