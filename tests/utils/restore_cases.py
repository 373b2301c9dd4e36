"""Shared by the tests of generation from a rebuilt model (tests/jobs, tests/api): the jobs, a fixed
input for logits, and one torch thread while they run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

PROMPT, NEW_TOKENS = "Tell me about the sea", 6
INPUT_IDS = torch.tensor([[1, 5, 9, 42, 7, 3, 11, 2]])

# tiny-llama, evaluated only at the last step; lora and prefix at settings whose tuned answers are
# not empty (empty answers would make a weak comparison)
TINY: dict[str, Any] = {
    "model": "tiny-llama",
    "task": "tone",
    "steps": 4,
    "batch_size": 2,
    "seq_len": 32,
    "max_new_tokens": 4,
    "eval_every": 2000,
}
ADAPTER_JOBS: dict[str, dict[str, Any]] = {
    "lora": {**TINY, "method": "lora", "steps": 30, "lr": 3e-2},
    "prompt": {**TINY, "method": "prompt"},
    "prefix": {**TINY, "method": "prefix", "steps": 30, "lr": 0.1},
}
FULL_JOB: dict[str, Any] = {**TINY, "method": "full", "steps": 2}
FILLER_JOB: dict[str, Any] = {**TINY, "method": "lora", "steps": 1}


def logits_of(run: Any) -> torch.Tensor:
    """A held run's tuned logits on INPUT_IDS (float32)."""
    assert run is not None, "the job's model is not held"
    with torch.no_grad():
        return run.model.eval()(input_ids=INPUT_IDS).logits.float()


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """tiny-llama's matrices are too small for thread hand-offs: on a shared 2-core machine
    generation took 1.4 s with two threads and 0.03 s with one (the loop trains with one too)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
