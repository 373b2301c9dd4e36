"""Fixtures of the real-model tests: the model cache and the measured SmolLM2 step time (each slow test
checks its budget against it). Both are session-scoped: SmolLM2 and MiniLM load once, however many
modules use them, and the step-time probe runs once."""

from __future__ import annotations

import pytest

from app.config import get_settings
from app.training.loop import TrainingRun
from app.training.models import ModelCache
from app.training.train_config import TrainConfig
from tests.utils.real_models import stream


@pytest.fixture(scope="session")
def cache() -> ModelCache:
    return ModelCache(get_settings().model_dir, device="cpu")


@pytest.fixture(scope="session")
def smollm2_step_s(cache: ModelCache) -> float:
    """Seconds per SmolLM2 LoRA step on this machine now (a 2-step run after the model is loaded)."""
    config = TrainConfig(
        model="smollm2-135m", method="lora", task="tone", steps=2, eval_every=100, max_new_tokens=2
    )
    steps = [e for e in stream(TrainingRun(config, cache=cache)) if e["type"] == "step"]
    return steps[-1]["elapsed_s"] / steps[-1]["step"]
