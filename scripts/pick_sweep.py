"""Pick each method's learning rate from a sweep (scripts/sweep_lr.sh) and ship the chosen runs.

Rule, per method: among the runs whose held-out replies are not degenerate (at most two of the
eight held-out replies loop, see app/training/text_quality.py; the base model loops on one), the
lowest held-out loss at the last step (DPO: trl's held-out DPO loss); if every run loops, the
lowest held-out loss. Writes ``recorded/sweep.json`` (every run's settings and results, and the
choice) and copies each chosen stream to ``recorded/<method>.jsonl``.
    python scripts/pick_sweep.py SWEEP_DIR
    python scripts/pick_sweep.py --best METHOD SWEEP_DIR     (the chosen run's path)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

RECORDED = Path(__file__).resolve().parents[1] / "lessons" / "fine-tuning-llms" / "recorded"
LOOPING_AT_MOST = 2 / 8  # the base model itself loops on 1 of the 8 held-out prompts


def summarise(path: Path) -> dict:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    started = next(e for e in events if e["type"] == "started")
    evals = [e for e in events if e["type"] == "eval"]
    summary = events[-1]["summary"]
    config = started["config"]
    return {
        "method": config["method"],
        "lr": config["lr"],
        "steps": config["steps"],
        "batch_size": config["batch_size"],
        "seq_len": config["seq_len"],
        "tokens_seen": summary["tokens_seen"],
        "eval_loss_before": evals[0]["eval_loss"],
        "eval_loss_after": evals[-1]["eval_loss"],
        "metric_name": evals[-1].get("metric_name"),
        "metric_before": evals[0].get("metric"),
        "metric_after": evals[-1].get("metric"),
        "degenerate_before": evals[0].get("degenerate"),
        "degenerate_after": evals[-1].get("degenerate"),
        "wall_s": summary["wall_s"],
        "file": path.name,
    }


def choose(runs: list[dict]) -> dict:
    clean = [r for r in runs if (r["degenerate_after"] or 0.0) <= LOOPING_AT_MOST]
    return min(clean or runs, key=lambda r: r["eval_loss_after"])


def main(sweep_dir: Path) -> None:
    runs = [summarise(p) for p in sorted(sweep_dir.glob("*-*.jsonl"))]
    by_method: dict[str, list[dict]] = {}
    for run in runs:
        by_method.setdefault(run["method"], []).append(run)
    chosen = {}
    for method, group in sorted(by_method.items()):
        group.sort(key=lambda r: r["lr"])
        best = choose(group)
        chosen[method] = best["lr"]
        shutil.copy(sweep_dir / best["file"], RECORDED / f"{method}.jsonl")
        print(
            f"{method}: lr {best['lr']:g} "
            f"(held-out {best['eval_loss_before']:.3f} -> {best['eval_loss_after']:.3f})"
        )
    sweep = {
        "rule": "lowest held-out loss at the last step among runs with at most 2 of 8 held-out replies "
        "degenerate",
        "runs": [{k: v for k, v in r.items() if k != "file"} for r in runs],
        "chosen": chosen,
    }
    (RECORDED / "sweep.json").write_text(json.dumps(sweep, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "--best":  # --best METHOD SWEEP_DIR: print the path of that method's chosen run
        method, folder = sys.argv[2], Path(sys.argv[3])
        runs = [summarise(p) for p in sorted(folder.glob(f"{method}-*.jsonl"))]
        print(folder / choose(runs)["file"])
    else:
        main(Path(sys.argv[1]))
