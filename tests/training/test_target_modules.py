"""LoRA targets are checked at submission against the registry models' real linear layers
(issue 22: ``target_modules: ["nope"]`` once failed 33 s into the run)."""

from __future__ import annotations

import pytest
import torch

from app.config import Settings
from app.training.methods import REGISTRY_LINEAR_MODULES
from app.training.models import ModelCache
from app.training.registry import MODEL_REGISTRY, ModelNotAvailable

HEADS = {"lm_head", "classifier"}  # the output layers, which LoRA's targets leave alone


@pytest.mark.parametrize("name", sorted(MODEL_REGISTRY))
def test_the_table_is_each_models_linear_layers(name: str) -> None:
    cache = ModelCache(Settings.model_fields["model_dir"].default_factory(), "cpu")  # type: ignore[misc]
    try:
        model = cache.get(name).model
    except ModelNotAvailable as exc:
        pytest.skip(f"{name} is not in the model cache: {exc}")
    linear = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert linear - HEADS == set(REGISTRY_LINEAR_MODULES[MODEL_REGISTRY[name].kind])
