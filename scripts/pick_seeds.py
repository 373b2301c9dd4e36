"""Copies the runs of scripts/record_seeds.sh into the lesson: seed 0 of each method to
``recorded/<method>.jsonl`` (the run the page plays), the other seeds to ``recorded/seeds/`` and the long
full fine-tuning run to ``recorded/long/``. Only runs that ended in ``done`` are copied; a method whose
seed 0 is missing keeps its old recording and none of its new seeds (no mixed sets).

    python scripts/pick_seeds.py [SEED_DIR]      (default data/seeds)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.lesson.paths import RECORDED_DIR  # noqa: E402
from app.lesson.recorded_runs import LONG_RUN, SEEDS_FOLDER  # noqa: E402


def finished(path: Path) -> bool:
    if not path.is_file():
        return False
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return bool(lines) and json.loads(lines[-1])["type"] == "done"


def main(seed_dir: Path) -> None:
    (RECORDED_DIR / SEEDS_FOLDER).mkdir(exist_ok=True)
    # the methods recorded: whatever record_seeds.sh wrote (its rates come from recorded/sweep.json)
    for method in sorted({path.stem.rsplit("-seed", 1)[0] for path in seed_dir.glob("*-seed*.jsonl")}):
        runs = sorted(seed_dir.glob(f"{method}-seed*.jsonl"))
        if not finished(seed_dir / f"{method}-seed0.jsonl"):
            print(f"{method}: no finished seed 0; its recording stays as it was")
            continue
        for path in runs:
            if not finished(path):
                print(f"{path.name}: not finished, skipped")
                continue
            seed = int(path.stem.rsplit("-seed", 1)[1])
            target = RECORDED_DIR / (f"{method}.jsonl" if seed == 0 else f"{SEEDS_FOLDER}/{path.name}")
            shutil.copyfile(path, target)
            print(f"{path.name} -> {target.relative_to(ROOT)}")
    long = seed_dir / "full-overfit.jsonl"
    if finished(long):
        (RECORDED_DIR / LONG_RUN).parent.mkdir(exist_ok=True)
        shutil.copyfile(long, RECORDED_DIR / LONG_RUN)
        print(f"{long.name} -> {(RECORDED_DIR / LONG_RUN).relative_to(ROOT)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data" / "seeds")
