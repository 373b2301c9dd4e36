"""A finished job's tuned model, rebuilt from its saved PEFT adapter after it left memory.

    run = restore_run(job, cache, adapter_dir)   # job: the ResolvedJob the run trained (config as stored)
    tuned, base = run.generate(prompt, max_new_tokens)     # as TrainingRun.generate after training
    run.release()

The base comes from ``wrapping.load_base``, as a training run gets it (dense: a copy sharing the
cached base's storage; qlora: the 4-bit load, prepared as for training; encoders: a seeded head),
then ``PeftModel.from_pretrained`` reads the adapter: ``adapter_model.safetensors`` only (never a
pickle, never the hub), into a frozen inference-mode model.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import torch

from app.training.counting import param_counts
from app.training.loop import TrainingRun
from app.training.methods import ResolvedJob
from app.training.models import ModelCache
from app.training.registry import spec_for
from app.training.tasks import Task
from app.training.train_config import TrainConfig
from app.training.wrapping import Prepared, load_base

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


class AdapterMissing(FileNotFoundError):
    """The adapter directory lacks PEFT's config or safetensors weights."""


class RestoredRun(TrainingRun):
    """A TrainingRun whose model came from the saved adapter instead of training: ``generate``,
    ``model``, ``tokenizer``, ``save_adapter`` and ``release`` work as after a run; it trains nothing."""

    def __init__(self, job: ResolvedJob, cache: ModelCache, prepared: Prepared) -> None:
        super().__init__(job, cache=cache)
        self.prepared = prepared

    def events(self) -> NoReturn:  # type: ignore[override]
        raise RuntimeError("a restored run has already trained; it only generates")


def restore_run(job: ResolvedJob, cache: ModelCache, adapter_dir: Path | str) -> RestoredRun:
    """The tuned model of a finished job with an adapter. ``job``: its resolved config (as stored) and
    task; ``adapter_dir`` must be server-made, never a user's path. Raises AdapterMissing or
    ModelNotAvailable (the base left the cache)."""
    adapter_dir = Path(adapter_dir)
    missing = [name for name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS) if not (adapter_dir / name).is_file()]
    if missing:
        raise AdapterMissing(f"the job's adapter files are missing: {', '.join(missing)}")
    return RestoredRun(job, cache, _load(job.config, job.task, cache, adapter_dir))


def _load(cfg: TrainConfig, task: Task, cache: ModelCache, adapter_dir: Path) -> Prepared:
    from peft import PeftModel

    # The base as training got it; an encoder's new head seeded as in training (the base's answers
    # use it; the adapter's modules_to_save copy holds the trained head). The server's RNG is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model, tokenizer = load_base(cfg, task, cache, _no_progress)
    model = PeftModel.from_pretrained(model, adapter_dir, is_trainable=False, torch_device=cache.device)
    model.requires_grad_(False)
    kind = spec_for(cfg.model).kind
    return Prepared(model.eval(), tokenizer, kind, cache.device, param_counts(model))


def _no_progress(stage: str, fraction: float) -> None:
    pass
