"""Running a real-model job to its checked stream (the real-model tests share it; their fixtures are
in tests/training/conftest.py)."""

from __future__ import annotations

from typing import Any

from app.events import EventStamper
from app.training.loop import TrainingRun
from tests.utils.streams import check_stream


def stream(run: TrainingRun) -> list[dict[str, Any]]:
    events = [event.model_dump() for event in EventStamper("slow").stamp_all(run.events())]
    check_stream(events)
    assert events[-1]["type"] == "done", events[-1]
    return events
