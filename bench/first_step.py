"""4. Time to first step: POST /api/jobs → the first ``step`` event on the websocket.

``smollm2-135m`` LoRA on a fresh server: the first job finds the model cached on disk only (the
files are in the OS page cache after earlier runs: this is not a cold disk), the second finds it in
memory. Compared with the duration of one training step (the median of that job's steps after the
first). What happens in between is broken down from the event times: loading, ``started``, the
base model's sample answers and the held-out evaluation at step 0.
"""

from __future__ import annotations

from typing import Any

from bench.common import median, print_table, print_targets, repeats, target, write_result
from bench.jobs import WatchedJob, run_job, step_seconds
from bench.server import running_server

SLACK_S = 0.5


def _breakdown(job: WatchedJob) -> dict[str, float]:
    """Seconds from POST to the stored time of each milestone before the first step."""
    out: dict[str, float] = {}
    for event in job.events:
        key = {"started": "started", "sample": "samples_before", "eval": "eval_step0"}.get(event["type"])
        if event["type"] == "step":
            break
        if key:
            out[key] = event["time"] - job.posted_at  # the last of each kind before step 1
    received, _ = job.first("step")
    out["first_step"] = received - job.posted_at
    return out


def run(quick: bool = False) -> dict[str, Any]:
    steps, servers = (3, 1) if quick else (4, repeats(2))
    # the overhead benchmark's small batch and 4 generated tokens (the base model's sample answers
    # and the step-0 evaluation come before the first step: 32 tokens each take minutes on a busy CPU)
    config = {
        "model": "smollm2-135m",
        "method": "lora",
        "task": "tone",
        "steps": steps,
        "seed": 0,
        "batch_size": 2,
        "seq_len": 64,
        "max_new_tokens": 4,
    }
    rows = []
    for _ in range(servers):  # a fresh server each time: its model cache starts empty
        with running_server() as server:
            for where in ("disk", "memory"):
                job = run_job(server, config)
                parts = _breakdown(job)
                step_s = median(step_seconds(job))
                rows.append(
                    {
                        "model_in": where,
                        **parts,
                        "step_s": step_s,
                        "over_one_step_s": parts["first_step"] - step_s,
                    }
                )
    table = []
    for where in ("disk", "memory"):
        mine = [r for r in rows if r["model_in"] == where]
        table.append(
            [where]
            + [
                median([r.get(k, float("nan")) for r in mine])
                for k in ("first_step", "step_s", "started", "samples_before", "eval_step0")
            ]
        )
    print_table(
        f"first-step: smollm2-135m LoRA, POST → first step event (median of {servers}), seconds after POST",
        ["model in", "first step s", "one step s", "started at", "base samples done", "eval@0 done"],
        table,
    )
    memory = [r for r in rows if r["model_in"] == "memory"]
    value = median([r["first_step"] for r in memory])
    limit = median([r["step_s"] for r in memory]) + SLACK_S
    targets = [target("model in memory: first step", value, limit, unit=" s")]
    print_targets(targets)
    return write_result("first-step", quick, {"config": config, "rows": rows, "targets": targets})
