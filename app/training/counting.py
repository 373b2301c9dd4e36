"""What a method trains, counted the way peft and torch count it, and what saving it costs in bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class ParamCounts:
    trainable_params: int
    total_params: int
    adapter_bytes: int

    @property
    def trainable_pct(self) -> float:
        return 100.0 * self.trainable_params / self.total_params if self.total_params else 0.0


def is_peft(model: Any) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def count_params(model: nn.Module) -> tuple[int, int]:
    """(trainable, total). peft's own count for peft models (it counts a 4-bit weight's packed bytes
    as two parameters each); torch's numel sums otherwise. Tied weights count once."""
    if is_peft(model):
        trainable, total = model.get_nb_trainable_parameters()
        return int(trainable), int(total)
    params = list(model.parameters())  # deduplicates tied weights
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def adapter_bytes(model: nn.Module) -> int:
    """Bytes of what the method saves.

    peft models: the exact size of ``adapter_model.safetensors`` as ``save_pretrained`` writes it
    (peft's adapter state dict serialised with the same metadata, in memory). Other methods (full,
    head) have no adapter file; for them it is the raw bytes of the trained tensors."""
    if is_peft(model):
        from peft import get_peft_model_state_dict
        from safetensors.torch import save

        state = get_peft_model_state_dict(model)
        state = {name: tensor.detach().contiguous() for name, tensor in state.items()}
        return len(save(state, metadata={"format": "pt"}))
    return sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)


def param_counts(model: nn.Module) -> ParamCounts:
    trainable, total = count_params(model)
    return ParamCounts(trainable, total, adapter_bytes(model))
