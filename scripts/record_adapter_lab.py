"""Records the adapter lab's lesson data from a real session (see app/training/adapter_lab_record.py):
trains a LoRA per task on the model, swaps, combines and merges them, writes one JSON file.

    python scripts/record_adapter_lab.py [--model smollm2-135m] [--steps N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from app.config import Settings
from app.training.adapter_lab_record import record_session
from app.training.models import ModelCache, resolve_device

OUT = Path(__file__).resolve().parent.parent / "lessons/fine-tuning-llms/recorded/adapter-lab.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tasks", nargs="+", default=["tone", "json-extract"])
    parser.add_argument("--steps", type=int, default=None, help="default: the LoRA method's default")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings()
    cache = ModelCache(settings.model_dir, resolve_device(settings.device))
    with tempfile.TemporaryDirectory() as work:
        result = record_session(cache, args.model, args.tasks, Path(work), steps=args.steps)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    logging.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
