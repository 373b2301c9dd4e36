"""One finished job's adapter as the adapter lab and the merge report take it, and the base it needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.training.methods import method_spec
from app.training.tasks import Task
from app.training.train_config import TrainConfig


@dataclass(frozen=True)
class AdapterSource:
    """One adapter as the lab needs it: peft name, the resolved config of the job that trained it
    (model, method = the base it needs; seq_len, max_new_tokens = how its task is scored), its PEFT
    directory (server-made) and its task."""

    name: str
    config: TrainConfig
    adapter_dir: Path
    task: Task


def precision_of(cfg: TrainConfig) -> str:
    """The base an adapter was trained on: qlora's NF4 weights, or the dense ones."""
    return method_spec(cfg.method).base_precision


def base_key(cfg: TrainConfig) -> tuple[str, str]:
    return cfg.model, precision_of(cfg)
