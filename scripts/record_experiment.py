"""Record a preset's class result for solo learners: run it as a class would (a served app, one
simulated student per cell, the plan sized to the budget on this machine's measured step times) and
write ``lessons/fine-tuning-llms/experiments/recorded/<preset>.json`` with the real runs and measures.

    nice -n 10 .venv/bin/python scripts/record_experiment.py --preset rank [--budget-s 1800] [--students N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.experiment import run_class  # noqa: E402
from bench.server import running_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--budget-s", type=float, default=1800.0, help="the class's time budget")
    parser.add_argument("--students", type=int, default=None, help="default: one per planned cell")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from app.experiments.presets import experiments_dir, get_preset

    preset = get_preset(args.preset)
    students = args.students or preset.run_count()
    load_before = os.getloadavg()
    with running_server(cpu_workers=1, device="cpu", job_time_limit_s=3600) as server:
        outcome = run_class(server, preset.id, students, args.budget_s)
    results = outcome["results"]
    record = {
        "preset": preset.id,
        "question": preset.question,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "how": "scripts/record_experiment.py: a served class on this machine, one simulated student per cell",
        "machine": {"cpu_count": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()},
        "plan": outcome["experiment"]["plan"],
        "wall_s": outcome["wall_s"],
        "variable": results["variable"],
        "primary": results["primary"],
        "runs": [
            {k: run[k] for k in ("value", "series", "seed", "state", "measures")} for run in results["runs"]
        ],
        "by_value": results["by_value"],
        "by_measure": results["by_measure"],
        "prediction": {k: results["predictions"][k] for k in ("text", "measure", "outcome", "explanation")},
        "summary": results["summary"],
    }
    out = args.out or experiments_dir() / "recorded" / f"{preset.id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{preset.id}: {results['summary']}")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
