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
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.experiment import run_class  # noqa: E402
from bench.server import running_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--budget-s", type=float, default=1800.0, help="the class's time budget")
    parser.add_argument("--students", type=int, default=None, help="default: one per planned cell")
    parser.add_argument(
        "--timeout-s", type=float, default=4 * 3600, help="give up (write nothing) after this"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the server's data dir, kept (default: a fresh one): earlier runs' step times there plan this",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="fix every run's steps (the planner checks the budget)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny-llama, the first 3 values: a check of this script (needs --out)",
    )
    args = parser.parse_args()
    from app.experiments.presets import experiments_dir, get_preset

    preset = get_preset(args.preset)
    override = None
    if args.smoke:
        if args.out is None:
            parser.error("--smoke writes only to --out: a smoke run is not the preset's recording")
        fixed = {**preset.fixed, "model": "tiny-llama", "batch_size": 2, "max_new_tokens": 4}
        override = {"values": preset.values[:3], "fixed": fixed}
    if args.steps is not None:
        override = override or {}
        override["fixed"] = {**override.get("fixed", preset.fixed), "steps": args.steps}
    students = args.students or (
        3 * preset.run_count() // len(preset.values) if args.smoke else preset.run_count()
    )
    load_before = os.getloadavg()
    began = time.time()
    with (
        LoadSampler() as load,
        running_server(args.data_dir, cpu_workers=1, device="cpu", job_time_limit_s=3600) as server,
    ):
        # a calibration run under load can outlast the server's default wait (600 s)
        server.state.experiments.paces.calibrate_timeout_s = args.timeout_s
        try:
            outcome = run_class(
                server,
                preset.id,
                students,
                args.budget_s,
                override,
                timeout_s=args.timeout_s,
                progress=report,
            )
        except (RuntimeError, httpx.TimeoutException) as exc:  # refused or out of time: never the lesson
            print(f"not recorded: {exc}", flush=True)
            if LATEST:
                partial = Path(tempfile.gettempdir()) / f"ftlab-record-{preset.id}.partial.json"
                partial.write_text(json.dumps(LATEST, indent=1) + "\n")
                print(f"what ran: {LATEST.get('summary')}; the last results are in {partial}", flush=True)
            return 1
    results = outcome["results"]
    record = {
        "preset": preset.id,
        "question": preset.question,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "how": "scripts/record_experiment.py: a served class on this machine, one simulated student per cell",
        "machine": {
            "cpu_count": os.cpu_count(),
            "niceness": os.nice(0),
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "load_1min_during": load.summary(),
        },
        "budget_s": args.budget_s,
        "students": students,
        "plan": outcome["experiment"]["plan"],
        "wall_s": outcome["wall_s"],  # the first start to the last result
        "jobs_per_min": round(outcome["jobs_per_min"], 2),
        # stored ``done`` → the run's point on the instructor's dashboard socket (bench experiment's figure)
        "done_to_point_s": _spread(list(outcome["latency_s"].values())),
        "total_s": round(time.time() - began, 1),  # serving, calibration and planning included
        "state": results["state"],
        "variable": results["variable"],
        "measures": results["measures"],
        "primary": results["primary"],
        "finished": results["finished"],
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


def _spread(xs: list[float]) -> dict[str, float | int]:
    if not xs:
        return {"n": 0}
    ordered = sorted(xs)
    return {"n": len(xs), "median": round(ordered[len(xs) // 2], 3), "max": round(ordered[-1], 3)}


LATEST: dict[str, Any] = {}  # the class's last results, for the log when a recording cannot finish


def report(results: dict[str, Any]) -> None:
    """One line each time another run finishes (a recording takes many minutes)."""
    LATEST.clear()
    LATEST.update(results)
    stamp = time.strftime("%H:%M:%S")
    print(
        f"{stamp} {results['finished']}/{len(results['runs'])} runs finished, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


class LoadSampler:
    """The 1-minute load average every ``every_s`` while the recording runs (the machine is shared)."""

    def __init__(self, every_s: float = 15.0) -> None:
        self.every_s, self.samples = every_s, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def summary(self) -> dict[str, Any]:
        xs = self.samples
        return {
            "samples": len(xs),
            "every_s": self.every_s,
            "mean": round(sum(xs) / len(xs), 2),
            "min": round(min(xs), 2),
            "max": round(max(xs), 2),
        }


if __name__ == "__main__":
    sys.exit(main())
