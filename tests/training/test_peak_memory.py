"""A run's peak memory is its own: a warm worker runs job after job in one process, and the process's
high-water mark (Linux's VmHWM, on the CPU) would otherwise report the largest earlier run's, so the
class experiment's ``peak_memory_mb`` compared runs by the order they ran in."""

from __future__ import annotations

import sys

import pytest

from app.events import EventStamper
from app.training.loop import TrainingRun
from app.training.memory import peak_rss_bytes, reset_peak
from app.training.models import ModelCache
from app.training.train_config import TrainConfig

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
BIG = 600 * 2**20  # bytes held, then let go, before the run


def _touch_and_free(size: int) -> None:
    block = bytearray(size)  # mmap'd: freeing it gives the pages back
    for offset in range(0, size, 4096):
        block[offset] = 1
    del block


def test_reset_peak_starts_the_high_water_mark_afresh() -> None:
    _touch_and_free(BIG)
    inflated = peak_rss_bytes()
    reset_peak()
    assert peak_rss_bytes() <= inflated - BIG // 2


def test_a_run_after_a_bigger_one_reports_its_own_peak(tmp_path) -> None:  # noqa: ANN001
    cache = ModelCache(tmp_path / "models", device="cpu")
    config = TrainConfig(model="tiny-llama", method="lora", task="tone", steps=2, max_new_tokens=4)
    _touch_and_free(BIG)  # an earlier job in this worker that held far more than a tiny run does
    inflated = peak_rss_bytes()
    run = TrainingRun(config, cache=cache)
    events = [e.model_dump() for e in EventStamper("peak").stamp_all(run.events())]
    assert events[-1]["type"] == "done", events[-1]
    peaks = [e["memory_bytes"] for e in events if e["type"] == "step"]
    assert peaks and max(peaks) <= inflated - BIG // 2, (max(peaks), inflated)
