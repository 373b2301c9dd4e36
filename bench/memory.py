"""6. Memory: peak resident memory of each method's default run on smollm2-135m (a fresh process
per method; the default batch and sequence length, fewer steps since the peak comes in the first
steps, 4 generated tokens) against the lesson's calculator (``app.lesson.calculators.training_memory``)
for the same model, method, precision (fp32 on the CPU), rank, batch, sequence and prompt length.

The process's peak includes the Python/torch/transformers runtime; "run" subtracts the peak
measured after those imports, before the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import print_table, write_result

METHODS = ("full", "lora", "qlora", "prompt", "prefix")
ROOT = Path(__file__).resolve().parent.parent


def start(method: str, steps: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench.memory_child", method, str(steps)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def measure(method: str, process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = process.communicate(timeout=3600)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode or not lines:
        raise RuntimeError(f"memory run of {method} failed: {stderr[-2000:]}")
    return json.loads(lines[-1])


def estimate(method: str, resolved: dict[str, Any]) -> float:
    from app.lesson.calculators import preset, training_memory

    return training_memory(
        preset("0.135"),
        "fp32",
        method,
        rank=resolved["rank"],
        seq_len=resolved["seq_len"],
        batch=resolved["batch_size"],
        virtual_tokens=resolved["num_virtual_tokens"],
    ).total


def run(quick: bool = False) -> dict[str, Any]:
    methods, steps = (("lora",), 1) if quick else (METHODS, 2)
    rows = []
    # one fresh process per method, all at once: each peak is its own process's, whatever the others
    # do to the CPU (they only need the memory: ~1-3 GB each)
    processes = {method: start(method, steps) for method in methods}
    for method in methods:
        got = measure(method, processes[method])
        calc = estimate(method, got["resolved"])
        run_bytes = got["peak_bytes"] - got["baseline_bytes"]
        rows.append(
            {
                **got,
                "run_bytes": run_bytes,
                "calculator_bytes": calc,
                "ratio_process": got["peak_bytes"] / calc,
                "ratio_run": run_bytes / calc,
                "steps": steps,
            }
        )
    mb = 1e6
    print_table(
        "memory: smollm2-135m default runs on the CPU (fp32), peak RSS vs the lesson's calculator (MB)",
        ["method", "process peak", "runtime", "run (peak - runtime)", "calculator", "peak/calc", "run/calc"],
        [
            [
                r["method"],
                r["peak_bytes"] / mb,
                r["baseline_bytes"] / mb,
                r["run_bytes"] / mb,
                r["calculator_bytes"] / mb,
                r["ratio_process"],
                r["ratio_run"],
            ]
            for r in rows
        ],
    )
    return write_result("memory", quick, {"rows": rows})
