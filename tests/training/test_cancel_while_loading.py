"""Cancel takes effect between loading stages: no model work (started, samples, step-0 evaluation)
happens after it, whichever stage it lands in."""

from __future__ import annotations

import threading

import pytest

from app.training.loop import TrainingRun
from app.training.models import ModelCache
from app.training.train_config import TrainConfig

CONFIG = TrainConfig(model="tiny-llama", task="tone", method="lora", steps=3, max_new_tokens=2)
MODEL_WORK = {"started", "sample", "eval", "step"}


def _cancel_on(cache: ModelCache, trigger: str) -> list[str] | None:
    """Run, cancel when the event ``trigger`` ('type' or 'loading:stage') arrives, and return the
    event names from there on (None when no such event came: a stage this cache state skips)."""
    cancel = threading.Event()
    after: list[str] = []
    for event in TrainingRun(CONFIG, cache=cache, cancel=cancel).events():
        name = f"loading:{event.stage}" if event.type == "loading" else event.type
        if cancel.is_set():
            after.append(name)
        elif name == trigger:
            cancel.set()
    return after if cancel.is_set() else None


def test_every_loading_stage_is_a_cancel_point(tmp_path_factory: pytest.TempPathFactory) -> None:
    stages = ["loading:task", "loading:build", "loading:model", "loading:copying", "loading:method"]
    exercised = set()
    for trigger in stages:
        # a fresh cache each time (tiny-llama built and read from disk), then a warm one
        cold = ModelCache(tmp_path_factory.mktemp("cold"), device="cpu")
        for cache in (cold, cold):
            after = _cancel_on(cache, trigger)
            if after is None:
                continue
            exercised.add(trigger)
            assert after[-1] == "cancelled", (trigger, after)
            assert not MODEL_WORK & set(after), (trigger, after)
    assert {"loading:task", "loading:model", "loading:copying", "loading:method"} <= exercised, exercised


@pytest.mark.parametrize("trigger", ["started", "sample"])
def test_cancel_after_loading_skips_the_step_zero_work(
    tmp_path_factory: pytest.TempPathFactory, trigger: str
) -> None:
    after = _cancel_on(ModelCache(tmp_path_factory.mktemp("models"), device="cpu"), trigger)
    assert after is not None and after[-1] == "cancelled"
    assert "eval" not in after and "step" not in after
