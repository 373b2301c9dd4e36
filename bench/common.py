"""What every benchmark shares: the machine description, medians, interleaved repeats, tables, JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def results_dir() -> Path:
    """``bench/results``, or ``FTLAB_BENCH_RESULTS`` (tests write elsewhere)."""
    return Path(os.environ.get("FTLAB_BENCH_RESULTS") or RESULTS_DIR)


def machine() -> dict[str, Any]:
    """Where the numbers came from (shared machines: the load average says how busy it was)."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "cuda": cuda,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "load_average": list(os.getloadavg()),
    }


def repeats(default: int) -> int:
    """Repeats of a benchmark: its default, or ``FTLAB_BENCH_REPEATS`` (a busy shared machine)."""
    return int(os.environ.get("FTLAB_BENCH_REPEATS") or default)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return float(ordered[index])


def interleaved(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[Any]]:
    """Call each run once per round, alternating the order each round (ABBA...), ``repeats`` rounds:
    drifts in machine load then hit every side alike."""
    names = list(runs)
    results: dict[str, list[Any]] = {name: [] for name in names}
    for index in range(repeats):
        for name in names if index % 2 == 0 else reversed(names):
            results[name].append(runs[name]())
    return results


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if value != value:
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[fmt(cell) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    print(f"\n## {title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    sys.stdout.flush()  # logs of long runs show each table as it comes


def target(name: str, value: float, limit: float, op: str = "<=", unit: str = "") -> dict[str, Any]:
    """One target: met when ``value op limit``; ``by`` is how far it is from the limit (as a ratio)."""
    met = value <= limit if op == "<=" else value >= limit
    return {
        "name": name,
        "value": value,
        "limit": limit,
        "op": op,
        "unit": unit,
        "met": bool(met),
        "ratio_to_limit": value / limit if limit else float("nan"),
    }


def print_targets(targets: Sequence[dict[str, Any]]) -> None:
    rows = [
        [t["name"], f"{fmt(t['value'])}{t['unit']}", f"{t['op']} {fmt(t['limit'])}{t['unit']}", t["met"]]
        for t in targets
    ]
    print_table("targets", ["target", "measured", "limit", "met"], rows)


def write_result(name: str, quick: bool, data: dict[str, Any]) -> dict[str, Any]:
    """Write ``bench/results/NAME.json`` (``NAME.quick.json`` for --quick runs) and return it."""
    payload = {
        "name": name,
        "quick": quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        **data,
    }
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / (f"{name}.quick.json" if quick else f"{name}.json")
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    print(f"\n[{name}] results written to {path}")
    return payload


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def claimed_job(store: Any, holder: str, config: dict[str, Any], node: str | None = None) -> str:
    """A new running job of ``holder``'s, for a benchmark that emits its events by hand. Claimed at
    once, and a fresh id is tried if a server's scheduler (it ticks on its own) took the queued row
    first: that one goes to a worker, which fails it, as it cannot run a synthetic method."""
    import secrets

    while True:
        job_id = secrets.token_hex(8)
        store.create_job(job_id, config)
        if store.claim(job_id, holder, node=node):
            return job_id
