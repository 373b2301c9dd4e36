"""Records the adapter lab's lesson data from a real session (see app/training/adapter_lab_record.py):
trains a LoRA per task on the model, swaps, combines and merges them, writes one JSON file.

    python scripts/record_adapter_lab.py [--model smollm2-135m] [--steps N] [--out FILE]

On a loaded machine the pieces can run as separate processes on runs trained by the CLI
(`ftlab train --method lora --task T --steps N --eval-every 2000 --jsonl --save-adapter DIR/T > DIR/T.jsonl`):

    record_adapter_lab.py --from-runs DIR --steps N --part swaps --out swaps.json   (linear, cat, merges)
    record_adapter_lab.py --from-runs DIR --steps N --assemble swaps.json linear.json ... --out FILE
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from app.config import Settings
from app.training.adapter_lab_record import (
    RECORDED_COMBINATIONS,
    assemble,
    lab_session,
    record_session,
    sources_from_runs,
)
from app.training.models import ModelCache, resolve_device

OUT = Path(__file__).resolve().parent.parent / "lessons/fine-tuning-llms/recorded/adapter-lab.json"
COMBINATION_PARTS = {combination[0]: combination for combination in RECORDED_COMBINATIONS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tasks", nargs="+", default=["tone", "json-extract"])
    parser.add_argument("--steps", type=int, default=None, help="default: the LoRA method's default")
    parser.add_argument("--from-runs", type=Path, help="adapters and event streams of CLI runs")
    parser.add_argument("--part", choices=["swaps", "merges", *COMBINATION_PARTS])
    parser.add_argument("--assemble", type=Path, nargs="+", help="parts to join into one session")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings()
    cache = ModelCache(settings.model_dir, resolve_device(settings.device))
    with tempfile.TemporaryDirectory() as work:
        if args.from_runs is None:
            result = record_session(cache, args.model, args.tasks, Path(work), steps=args.steps)
        else:
            sources, jobs = sources_from_runs(args.from_runs, args.model, args.tasks, args.steps)
            if args.assemble:
                parts = [json.loads(path.read_text(encoding="utf-8")) for path in args.assemble]
                result = assemble(cache, args.model, jobs, parts)
            elif args.part in COMBINATION_PARTS:
                combination = [COMBINATION_PARTS[args.part]]
                result = lab_session(cache, sources, Path(work), combination, parts=["combinations"])
            else:
                result = lab_session(cache, sources, Path(work), parts=[args.part or "swaps"])
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    logging.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
