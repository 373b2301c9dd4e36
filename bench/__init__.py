"""Benchmarks that compare ftlab with a bare reference in the same run (interleaved, median of repeats).

``python -m bench [NAME ...] [--quick]`` runs them from a source checkout (``app`` never imports
``bench``); each prints a table and writes ``bench/results/NAME.json``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

# name → module (each has ``run(quick: bool) -> dict``, the JSON it writes)
BENCHMARKS: dict[str, str] = {
    "overhead": "bench.overhead",
    "spectra": "bench.spectra",
    "fanout": "bench.fanout",
    "first-step": "bench.first_step",
    "load": "bench.load",
    "memory": "bench.memory",
    "fanout-pg": "bench.fanout_pg",  # needs PostgreSQL
    "cluster": "bench.cluster",  # needs PostgreSQL (and a Ray cluster for its Ray row)
    "experiment": "bench.experiment",  # a served class runs the rank preset (SmolLM2; --quick: tiny-llama)
}


def run_benchmarks(names: Sequence[str], quick: bool = False) -> dict[str, dict[str, Any]]:
    """Run the named benchmarks (all when empty) in order; returns their results by name."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    results: dict[str, dict[str, Any]] = {}
    for name in names or list(BENCHMARKS):
        try:
            module = importlib.import_module(BENCHMARKS[name])
            results[name] = module.run(quick=quick)
        except Exception as exc:  # one broken benchmark must not hide the others' numbers
            logger.exception("benchmark %s failed", name)
            results[name] = {"name": name, "error": f"{type(exc).__name__}: {exc}"}
    return results
