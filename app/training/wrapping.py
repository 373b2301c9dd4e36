"""How each method turns a loaded model into the thing that trains (peft / bitsandbytes / transformers).

``prepare`` gets the model (a fresh copy from the cache; a 4-bit load for qlora), puts a classifier
head on encoders, applies the method (``WRAPPERS``: every method registers here, sft and dpo too) and
freezes what it does not train. The prepared run carries the steps the loop takes (``steps.Steps``).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from app.training.counting import ParamCounts, is_peft, param_counts
from app.training.methods import ConfigError, method_spec
from app.training.models import ModelCache, device_dtype
from app.training.registry import Progress, spec_for
from app.training.spectra import snapshot_weights
from app.training.steps import NativeSteps, Steps
from app.training.tasks import Task
from app.training.train_config import TrainConfig

logger = logging.getLogger(__name__)

HEAD_MODULES = ("classifier",)  # what `head` trains: the linear layer on the mean-pooled states
PREFIX_INIT_TEXT = "Answer the question below."
# full fine-tuning: ΔW shown for these, the default LoRA targets (methods.DEFAULT_TARGETS), so the
# lesson compares full FT and LoRA on the same modules
SHOWN_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "query", "key", "value")


@dataclass
class Prepared:
    model: nn.Module
    tokenizer: Any
    kind: str  # "causal" or "encoder"
    device: str
    counts: ParamCounts
    base: nn.Module | None = None  # a frozen copy of the start, for methods peft cannot switch off
    snapshot: dict[str, Tensor] = field(default_factory=dict)  # full: W₀ of the layers shown
    steps: Steps | None = None  # what the loop takes at each step (None: a model restored to generate)


def prepare(cfg: TrainConfig, task: Task, cache: ModelCache, progress: Progress) -> Prepared:
    """The model of one run, wrapped by its method; ``cfg`` must come from ``resolve_config``."""
    spec = spec_for(cfg.model)
    model, tokenizer = load_base(cfg, task, cache, progress)  # seeds the torch RNG once the weights are in
    progress("method", 0.0)
    prepared = Prepared(model, tokenizer, spec.kind, cache.device, ParamCounts(0, 0, 0))
    WRAPPERS[cfg.method](prepared, cfg, cache, task)
    if prepared.steps is None:
        prepared.steps = NativeSteps(prepared.model, tokenizer, task, cfg, prepared.device)
    prepared.counts = param_counts(prepared.model)
    progress("method", 1.0)
    return prepared


# --------------------------------------------------------------------------- loading


def load_base(cfg: TrainConfig, task: Task, cache: ModelCache, progress: Progress) -> tuple[nn.Module, Any]:
    """(model, tokenizer) a run starts from, before its method: the 4-bit base prepared for k-bit
    training (qlora), else a copy of the cached base; encoders get a new classifier head (drawn from
    the torch RNG as it stands). Training and rebuilding from an adapter both start here."""
    spec = method_spec(cfg.method)
    if spec.base_precision == "nf4":
        from peft import prepare_model_for_kbit_training

        # casts norms to float32 and freezes the 4-bit weights; checkpointing would only slow tiny runs
        model = _load_4bit(cache, cfg.model, progress)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        tokenizer = cache.get_tokenizer(cfg.model)
    else:
        # only full fine-tuning writes to the base weights; every other method freezes them
        loaded = cache.get(cfg.model, progress, share_weights=not spec.writes_base)
        model, tokenizer = loaded.model, loaded.tokenizer
    # Seeded after the weights are read (reading may draw random numbers; a copy of a cached base does
    # not): LoRA's A, the classifier head and sampled soft prompts start from the seed alone, so a plain
    # script that loads the model and then seeds reproduces them.
    torch.manual_seed(cfg.seed)
    if spec_for(cfg.model).kind == "encoder":
        model = _with_classifier(model, task.labels).to(cache.device, device_dtype(cache.device))
    return model, tokenizer


def _load_4bit(cache: ModelCache, name: str, progress: Progress) -> nn.Module:
    """The base quantised to NF4 by bitsandbytes as transformers loads it (4-bit works on CPU too)."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    path = cache.path(name)
    progress("quantising", 0.0)
    quantisation = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=device_dtype(cache.device),
    )
    model = AutoModelForCausalLM.from_pretrained(
        path,
        quantization_config=quantisation,
        device_map={"": cache.device},
        dtype=device_dtype(cache.device),
    )
    keep_4bit_weights_differentiable(model)
    progress("quantising", 1.0)
    return model


def keep_4bit_weights_differentiable(model: nn.Module) -> None:
    """Turn off bitsandbytes' CPU inference repacking. On CPUs with AVX512-BF16, the first forward in
    eval mode without grad (our step-0 evaluation) repacks each 4-bit weight, in place, for a bf16
    kernel that has no backward: training after it silently gets no gradient through the frozen base
    (LoRA B of early layers stays at zero, the loss climbs). The plain path dequantises and is exact."""
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False


def _with_classifier(encoder: nn.Module, labels: tuple[str, ...]) -> nn.Module:
    """The encoder with a mean-pooling classifier head on top (see classifier.py for why); the head
    starts from the run's seed."""
    from app.training.classifier import SentenceClassifier

    return SentenceClassifier(encoder, labels)


# --------------------------------------------------------------------------- methods


def _full(p: Prepared, cfg: TrainConfig, cache: ModelCache, task: Task) -> None:
    p.model.requires_grad_(True)
    if p.kind == "causal":  # the cached base is the start: a view of its weights, no second copy
        p.base = cache.get(cfg.model, share_weights=True).model.eval().requires_grad_(False)
    else:  # the start includes this run's new classifier head
        p.base = _frozen_copy(p.model)
    p.snapshot = snapshot_weights(p.model, shown_weights(p.model))


def lora_config(cfg: TrainConfig, kind: str) -> Any:
    """peft's LoraConfig of a run (lora, qlora, and the LoRA that trl puts on for sft / dpo)."""
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=cfg.target_modules,
        use_dora=cfg.use_dora,
        use_rslora=cfg.use_rslora,
        task_type=None if kind == "encoder" else "CAUSAL_LM",
        modules_to_save=list(HEAD_MODULES) if kind == "encoder" else None,  # the new head trains too
    )


def _lora(p: Prepared, cfg: TrainConfig, cache: ModelCache, task: Task) -> None:
    from peft import get_peft_model

    try:
        p.model = get_peft_model(p.model, lora_config(cfg, p.kind))
    except ValueError as exc:  # peft: "Target modules {...} not found in the base model"
        raise ConfigError("target_modules", f"{exc}".split("\n")[0]) from None


def _prompt(p: Prepared, cfg: TrainConfig, cache: ModelCache, task: Task) -> None:
    from peft import PromptTuningConfig, PromptTuningInit, get_peft_model

    text = cfg.prompt_init_text
    config = PromptTuningConfig(
        task_type="CAUSAL_LM",
        num_virtual_tokens=cfg.num_virtual_tokens,
        # vocabulary-sampled start: random N(0, 1) vectors are far larger than real token embeddings
        prompt_tuning_init=PromptTuningInit.TEXT if text else PromptTuningInit.SAMPLE_VOCAB,
        prompt_tuning_init_text=text,
        tokenizer_name_or_path=str(cache.path(cfg.model)) if text else None,
    )
    p.model = get_peft_model(p.model, config)


def _prefix(p: Prepared, cfg: TrainConfig, cache: ModelCache, task: Task) -> None:
    from peft import PrefixTuningConfig, get_peft_model

    config = PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=cfg.num_virtual_tokens)
    p.model = get_peft_model(p.model, config)
    init_prefix_from_text(p.model, p.tokenizer, PREFIX_INIT_TEXT)


def init_prefix_from_text(model: Any, tokenizer: Any, text: str) -> None:
    """Start the prefix as the model's own keys and values of a real text (Li & Liang's init).

    peft starts it from N(0, 1) vectors, far from any real key or value: SmolLM2's held-out loss on
    ``tone`` jumps from 4.4 to 8.9 before the first step. With the text's KV cache (positions 0..k-1,
    RoPE applied) the prefixed model starts exactly as the base model reading that text first."""
    k = model.peft_config[model.active_adapter].num_virtual_tokens
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = (ids * (k // max(len(ids), 1) + 1))[:k]  # repeat a short text, cut a long one
    base = model.get_base_model()
    device = next(base.parameters()).device
    with torch.no_grad():
        cache = base(input_ids=torch.tensor([ids], device=device), use_cache=True).past_key_values
        layers = [(layer.keys, layer.values) for layer in cache.layers]  # each (1, kv_heads, k, head_dim)
        kv = torch.stack([torch.stack(pair) for pair in layers])  # (layers, 2, 1, kv_heads, k, head_dim)
        # peft reads each virtual token's vector as [layer][key|value][head][head_dim]
        vectors = kv[:, :, 0].permute(3, 0, 1, 2, 4).reshape(k, -1)  # (k, layers·2·kv_heads·head_dim)
        embedding = model.prompt_encoder[model.active_adapter].embedding.weight
        embedding.copy_(vectors.to(embedding.dtype))


def _head(p: Prepared, cfg: TrainConfig, cache: ModelCache, task: Task) -> None:
    p.model.requires_grad_(False)
    for name in HEAD_MODULES:
        getattr(p.model, name).requires_grad_(True)
    p.base = _frozen_copy(p.model)


def _trl(p: Prepared, cfg: TrainConfig, cache: ModelCache, task: Task) -> None:
    """sft / dpo: trl's trainer puts our LoRA on and gives the steps (batches and loss from trl)."""
    from app.training.trl_methods import trl_steps  # trl is heavy: imported by the runs that use it

    steps = trl_steps(p.model, p.tokenizer, cfg, task, lora_config(cfg, p.kind), p.device)
    p.model, p.steps = steps.model, steps


WRAPPERS: dict[str, Callable[[Prepared, TrainConfig, ModelCache, Task], None]] = {
    "full": _full,
    "lora": _lora,
    "qlora": _lora,  # on the 4-bit base that load_base prepared
    "prompt": _prompt,
    "prefix": _prefix,
    "head": _head,
    "sft": _trl,
    "dpo": _trl,
}


# --------------------------------------------------------------------------- helpers


def _frozen_copy(model: nn.Module) -> nn.Module:
    base = copy.deepcopy(model).eval()
    base.requires_grad_(False)
    return base


def shown_weights(model: nn.Module) -> list[str]:
    """Full fine-tuning's ΔW layers: the attention projections of the first, middle and last block."""
    candidates: dict[int, list[str]] = {}
    for name, param in model.named_parameters():
        match = re.search(r"\.(\d+)\.", name)
        is_projection = any(f".{proj}.weight" in name for proj in SHOWN_PROJECTIONS)
        if match and is_projection and param.dim() == 2:
            candidates.setdefault(int(match.group(1)), []).append(name)
    if not candidates:
        return []
    layers = sorted(candidates)
    chosen = sorted({layers[0], layers[len(layers) // 2], layers[-1]})
    return [name for layer in chosen for name in candidates[layer]]


@contextmanager
def as_base(p: Prepared) -> Iterator[nn.Module]:
    """The model as it was before training: the frozen copy, or the peft model with its adapter off."""
    if p.base is not None or not is_peft(p.model):
        yield p.base if p.base is not None else p.model
    elif p.model.peft_config[p.model.active_adapter].is_prompt_learning:
        yield p.model.get_base_model()  # prompt learning leaves the base model's modules untouched
    else:
        with p.model.disable_adapter():
            yield p.model
