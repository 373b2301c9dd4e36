"""Slow loading steps (a model, a 4-bit quantisation) as a stream of ``loading`` events: the work runs
on a helper thread and each progress report becomes a ``Loading`` event on the loop's thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from app.events import EventBase, Loading


def with_progress(work: Callable[[Callable[[str, float], None]], Any]) -> Iterator[EventBase]:
    """Run ``work(report)`` on a helper thread and yield a Loading event for each report as it comes;
    the generator's return value is work's result (``x = yield from with_progress(...)``)."""
    reports: queue.Queue[tuple[str, float] | None] = queue.Queue()
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work(lambda stage, fraction: reports.put((stage, fraction)))
        except BaseException as exc:  # re-raised on the generator's thread below
            result["error"] = exc
        finally:
            reports.put(None)

    threading.Thread(target=target, name="ftlab-load", daemon=True).start()
    while (report := reports.get()) is not None:
        yield Loading(stage=report[0], progress=min(max(report[1], 0.0), 1.0))
    if "error" in result:
        raise result["error"]
    return result["value"]
