"""What the loop asks of a prepared run at each step: batches, the loss of one, the tokens it saw,
the held-out evaluation, and extra numbers for the summary.

``NativeSteps`` serves every method but sft and dpo: our own batches of the task (answer-only labels
for chat, labels for classification), the model's own loss, our held-out loss and the task's metric.
``trl_methods.TrlSteps`` serves sft and dpo from trl's data pipeline and loss. The loop (loop.py)
holds one of them and never asks which.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from torch import Tensor, nn

from app.training import evaluation as ev
from app.training.tasks import Task, batches
from app.training.train_config import TrainConfig


class Steps(Protocol):
    def batches(self, batch_size: int, seed: int) -> Iterator[Any]:
        """Endless training batches on the model's device, reshuffled each epoch from ``seed``."""
        ...

    def loss(self, model: nn.Module, batch: Any) -> Tensor:
        """The training loss of one batch (a scalar to call backward on)."""
        ...

    def tokens(self, batch: Any) -> int:
        """Tokens the forward pass of ``batch`` saw."""
        ...

    def evaluate(self) -> tuple[float, float, float | None]:
        """(held-out loss, the task's metric, the share of held-out replies that loop; None when the
        task generates no text) of the model as it is now."""
        ...

    def summary(self) -> dict[str, Any]:
        """Extra numbers for the done event."""
        ...


@dataclass
class NativeSteps:
    model: nn.Module
    tokenizer: Any
    task: Task
    cfg: TrainConfig
    device: str

    def batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Tensor]]:
        for examples in batches(self.task.train, batch_size, seed):
            batch = ev.make_batch(self.tokenizer, self.task, examples, self.cfg.seq_len)
            yield ev.to_device(batch, self.device)

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        return model(**batch).loss  # mean over answer tokens (chat) or examples (classification)

    def tokens(self, batch: dict[str, Tensor]) -> int:
        return int(batch["attention_mask"].sum())

    def evaluate(self) -> tuple[float, float, float | None]:
        cfg, device = self.cfg, self.device
        loss = ev.eval_loss(self.model, self.tokenizer, self.task, cfg.seq_len, device)
        metric, degenerate = ev.task_scores(
            self.model, self.tokenizer, self.task, cfg.max_new_tokens, cfg.seq_len, device
        )
        return loss, metric, degenerate

    def degenerate(self) -> float:
        """The looping share of greedy replies to held-out prompts of a preference task (dpo's own
        metric comes from trl's rewards, which cannot see a reply that loops)."""
        return ev.degenerate_rate(self.model, self.tokenizer, self.task, self.cfg.max_new_tokens, self.device)

    def summary(self) -> dict[str, Any]:
        return {}
