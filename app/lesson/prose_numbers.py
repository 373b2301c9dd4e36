"""Numbers written as the lesson's prose writes them: bytes, counts, shares, rates and losses."""

from __future__ import annotations

from collections.abc import Callable

from app.lesson.calculators import GB
from app.lesson.recorded_runs import Spread


def bytes_text(value: float) -> str:
    """28e9 → "28 GB", 36.1e9 → "36.1 GB", 3.4e7 → "34 MB" (decimal units)."""
    for unit, size in (("GB", GB), ("MB", 1e6), ("KB", 1e3)):
        if value >= size:
            scaled = value / size
            if scaled >= 100 or abs(scaled - round(scaled)) < 0.05:
                return f"{round(scaled):,} {unit}"
            return f"{scaled:.1f} {unit}"
    return f"{value:.0f} bytes"


def count_text(value: float) -> str:
    return f"{round(value):,}"


def pct_text(value: float) -> str:
    """Two significant figures: 0.11983 → "0.12%", 100 → "100%"."""
    return f"{float(f'{value:.2g}'):g}%" if value < 100 else f"{value:.0f}%"


def lr_text(value: float) -> str:
    """2e-05 → "2e-5", 0.03 → "3e-2"."""
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def loss_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def share_text(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def span_text(values: list[float], fmt: str = "{:.0f}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}–{fmt.format(high)}"


def spread_text(values: Spread | None, text: Callable[[float], str]) -> str:
    """The mean of the seeds, then (lowest–highest); one value alone when the seeds agree to print."""
    if values is None:
        return "n/a"
    low, high = text(values.low), text(values.high)
    return text(values.mean) if low == high else f"{text(values.mean)} ({low}–{high})"
