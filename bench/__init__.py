"""Benchmarks that compare ftlab with a bare reference in the same run (interleaved, median of repeats).

``ftlab bench [NAME ...] [--quick]`` runs them; each prints a table and writes ``bench/results/NAME.json``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

# name → module (each has ``run(quick: bool) -> dict``, the JSON it writes)
BENCHMARKS: dict[str, str] = {
    "overhead": "bench.overhead",
    "spectra": "bench.spectra",
    "fanout": "bench.fanout",
    "first-step": "bench.first_step",
    "load": "bench.load",
    "memory": "bench.memory",
}


def run_benchmarks(names: Sequence[str], quick: bool = False) -> dict[str, dict[str, Any]]:
    """Run the named benchmarks (all when empty) in order; returns their results by name."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    results = {}
    for name in names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        results[name] = module.run(quick=quick)
    return results
