"""The adapter round trip both the loop's and trl's methods must pass."""

from __future__ import annotations

from pathlib import Path

import torch

from app.training.loop import TrainingRun
from app.training.models import ModelCache


def assert_adapter_reloads_through_peft(run: TrainingRun, cache: ModelCache, directory: Path) -> None:
    """The saved adapter, loaded by peft onto a fresh tiny-llama, gives the tuned model's logits (1e-5),
    and they differ from the base's (the adapter does something)."""
    from peft import PeftModel

    saved = run.save_adapter(directory)
    reloaded = PeftModel.from_pretrained(cache.get("tiny-llama").model, saved).eval()
    tuned = run.model.eval()
    ids = run.tokenizer("Why is the sky blue?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, tuned(input_ids=ids).logits, atol=1e-5)
        base = cache.get("tiny-llama").model.eval()(input_ids=ids).logits
        assert not torch.allclose(base, tuned(input_ids=ids).logits, atol=1e-5)
