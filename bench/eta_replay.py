"""Time-left estimates against what really happened, replayed from real runs' event streams (the
lesson's recorded SmolLM2 runs, or any job's events saved as JSON lines): at step 1, step 3, 25 % and
50 % of the steps, the estimate the panel showed before issue 21 (the step event's ``eta_s``: steps
left at the mean pace, nothing for evaluations or the answers written at the end) and the one it
shows now (static/js/run-clock.js, run in node), each as an error against the real time left.

    PYTHONPATH=$PWD python bench/eta_replay.py [events.jsonl ...] [--out bench/results/eta.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "lessons" / "fine-tuning-llms" / "recorded"

# Feeds the events to RunClock one by one; prints, after each step event, [step, remaining].
REPLAY = """
import { readFileSync } from 'node:fs';
import { RunClock } from './static/js/run-clock.js';
const events = JSON.parse(readFileSync(0, 'utf8'));
const clock = new RunClock();
const out = [];
for (const e of events) { clock.add(e); if (e.type === 'step') out.push([e.step, clock.remaining()]); }
console.log(JSON.stringify(out));
"""


def new_estimates(events: list[dict]) -> dict[int, float]:
    result = subprocess.run(
        ["node", "--input-type=module", "-e", REPLAY],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    return {step: left for step, left in json.loads(result.stdout)}


def error_pct(estimate: float | None, actual: float) -> float | None:
    return None if estimate is None else round(100 * (estimate - actual) / actual, 1)


def replay(path: Path) -> dict | None:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    started = next((e for e in events if e["type"] == "started"), None)
    done = next((e for e in events if e["type"] == "done"), None)
    if not started or not done:
        return None
    steps = started["steps"]
    by_step = {e["step"]: e for e in events if e["type"] == "step"}
    new = new_estimates(events)
    points = {}
    for name, step in (
        ("step 1", 1),
        ("step 3", 3),
        ("25%", max(1, steps // 4)),
        ("50%", max(1, steps // 2)),
    ):
        event = by_step[step]
        actual = done["time"] - event["time"]

        points[name] = {
            "step": step,
            "actual_s": round(actual, 1),
            "before_s": round(event["eta_s"], 1),
            "before_error_pct": error_pct(event["eta_s"], actual),
            "after_s": None if new.get(step) is None else round(new[step], 1),
            "after_error_pct": error_pct(new.get(step), actual),
        }
    last = by_step[steps]
    return {
        "run": path.name,
        "model": started["model"],
        "method": started["method"],
        "steps": steps,
        "points": points,
        "at_last_step": {
            "actual_s": round(done["time"] - last["time"], 1),
            "before_s": round(last["eta_s"], 1),
            "after_s": new.get(steps) and round(new[steps], 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="event streams (default: the recorded runs)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    paths = args.runs or sorted(RECORDED.glob("*.jsonl"))
    results = [r for r in (replay(p) for p in paths) if r]
    text = json.dumps({"runs": results}, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
