"""A run's measures, computed from its stored events only: any process can compute them, and the
class result always equals what the events say."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from app.events import TERMINAL_TYPES

Measures = dict[str, float | None]


def measures_of(events: Iterable[str | dict[str, Any]]) -> tuple[str | None, Measures]:
    """(terminal event type or None while the run goes on, measures). Measures a run does not
    report (no spectrum, no metric, failed before evaluating) are None.

    - ``eval_loss``, ``metric``, ``degenerate``: the last ``eval`` event (highest step)
    - ``effective_rank``: mean over the layers of the last ``spectrum`` event with layers of each
      layer's effective rank (singular values holding 90% of ‖ΔW‖²_F, as the lesson defines it)
    - ``trainable_params``, ``trainable_pct``: the ``started`` event
    - ``peak_memory_mb``: the largest ``memory_bytes`` of the ``step`` events, in MB (10⁶ bytes)
    - ``wall_s``: from ``started`` to the terminal event
    """
    last_eval = last_spectrum = started = None
    terminal: dict[str, Any] | None = None
    peak: int | None = None
    for raw in events:
        event = json.loads(raw) if isinstance(raw, str) else raw
        kind = event["type"]
        if kind == "eval" and (last_eval is None or event["step"] >= last_eval["step"]):
            last_eval = event
        elif kind == "spectrum" and event.get("layers"):
            last_spectrum = event
        elif kind == "started":
            started = event
        elif kind == "step":
            peak = max(peak or 0, int(event.get("memory_bytes") or 0))
        elif kind in TERMINAL_TYPES:
            terminal = event
    measures: Measures = dict.fromkeys(
        ("eval_loss", "metric", "degenerate", "effective_rank", "trainable_params", "trainable_pct")
        + ("peak_memory_mb", "wall_s")
    )
    if last_eval is not None:
        measures["eval_loss"] = float(last_eval["eval_loss"])
        measures["metric"] = _number(last_eval.get("metric"))
        measures["degenerate"] = _number(last_eval.get("degenerate"))
    if last_spectrum is not None:
        ranks = [layer["effective_rank"] for layer in last_spectrum["layers"]]
        measures["effective_rank"] = sum(ranks) / len(ranks)
    if started is not None:
        measures["trainable_params"] = float(started["trainable_params"])
        measures["trainable_pct"] = float(started["trainable_pct"])
        if terminal is not None:
            measures["wall_s"] = round(float(terminal["time"]) - float(started["time"]), 3)
    if peak:
        measures["peak_memory_mb"] = round(peak / 1e6, 1)
    return (terminal["type"] if terminal else None), measures


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
