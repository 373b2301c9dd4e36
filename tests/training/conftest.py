"""Real-model fixtures shared by the slow training tests: one model cache for the session (SmolLM2 and
MiniLM load once, however many modules use them) and one measured SmolLM2 step time."""

from __future__ import annotations

import pytest

from app.config import get_settings
from app.events import EventStamper, check_stream
from app.training.loop import TrainingRun
from app.training.models import ModelCache
from app.training.train_config import TrainConfig


@pytest.fixture(scope="session")
def real_cache() -> ModelCache:
    return ModelCache(get_settings().model_dir, device="cpu")


@pytest.fixture(scope="session")
def smollm2_step_s(real_cache: ModelCache) -> float:
    """Seconds per SmolLM2 LoRA step on this machine (a 2-step run after the model is loaded)."""
    config = TrainConfig(
        model="smollm2-135m", method="lora", task="tone", steps=2, eval_every=100, max_new_tokens=2
    )
    events = [
        e.model_dump()
        for e in EventStamper("probe").stamp_all(TrainingRun(config, cache=real_cache).events())
    ]
    check_stream(events)
    steps = [e for e in events if e["type"] == "step"]
    return steps[-1]["elapsed_s"] / steps[-1]["step"]
