"""Memory and parameter arithmetic of fine-tuning: the numbers the lesson quotes come from here.

Pure Python, no torch. ``static/js/memory-math.js`` mirrors ``training_memory``; the shared cases in
``tests/fixtures/calculator_cases.json`` (written by ``python -m tests.utils.calculator_cases``) hold
both to the same answers.

Conventions (decimal units, 1 GB = 1e9 bytes):
- Weights are stored at the chosen precision: fp32 4 bytes, bf16 2 bytes, 4-bit NF4 0.5 bytes plus
  its quantisation constants (block size 64; with double quantisation the constants are themselves
  8-bit in blocks of 256, Dettmers et al. 2023). Every parameter counts as quantised: real loaders keep
  embeddings and norms in 16 bits, so the 4-bit figure is a lower bound.
- Full fine-tuning: gradients at the weights' precision; Adam keeps two fp32 moments (8 bytes per
  trained parameter); with 16-bit weights mixed precision also keeps an fp32 master copy (4 bytes),
  counted with the optimiser states, as ZeRO (Rajbhandari et al. 2020) does: 2 + 2 + 12 = 16 bytes.
- Adapters (LoRA, QLoRA, prompt, prefix) are trained and saved in fp32 on a frozen base: 4 bytes of
  weight, 4 of gradient and 8 of Adam state per trained parameter; the base has no gradient.
- Activations: the per-layer estimate s·b·h·(34 + 5·a·s/h) bytes at 16 bits of Korthikanti et al. 2022
  (no recomputation), doubled for fp32. Adapters do not shrink it: the backward pass still runs
  through every frozen layer. A rough estimate, not a measurement.
- Gradient checkpointing (full recomputation, Chen et al. 2016): each layer keeps only its input,
  2·s·b·h bytes at 16 bits (Korthikanti et al.'s "full recomputation" row), and the backward pass
  rebuilds one layer's activations at a time, so one layer's full activations come on top.
- 8-bit AdamW (Dettmers et al. 2022, block-wise quantised states): two 8-bit moments, 2 bytes per
  trained parameter (the per-block constants are left out). Paged AdamW (QLoRA) keeps the same bytes
  but lets them move to CPU memory during a spike, so the steady figure is the same.
- ZeRO-3 / FSDP full sharding over N GPUs (Rajbhandari et al. 2020; PyTorch FSDP): weights, gradients
  and optimiser states are split evenly, each GPU holds 1/N of them (the layer being computed is
  gathered for a moment, left out here); activations are per GPU for its own batch. Figures are per GPU.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from app.training.methods import method_spec

GB = 1e9
ADAM_BYTES = 8  # two fp32 moments per trained parameter
MASTER_BYTES = 4  # fp32 master copy of 16-bit trained weights (mixed precision)
ADAPTER_BYTES = 4  # adapters train and are saved in fp32
PRECISIONS = ("fp32", "bf16", "4bit")
METHODS = ("full", "lora", "qlora", "prompt", "prefix")  # the methods it sizes (their facts: method_spec)
OPTIMIZER_BYTES = {"adamw": ADAM_BYTES, "adamw8bit": 2.0, "paged_adamw8bit": 2.0}  # per trained parameter
MAX_GPUS = 1024


class CalculatorError(ValueError):
    """An input the calculator cannot answer for; the message names the input and the limit."""


def nf4_bits_per_param(block_size: int = 64, double_quant: bool = True, block_size_2: int = 256) -> float:
    """Bits per weight of 4-bit NF4 with its absmax constants (QLoRA, Dettmers et al. 2023).

    One fp32 constant per block of 64 costs 32/64 = 0.5 bits per weight; double quantisation stores
    those constants in 8 bits with one fp32 constant per 256 of them: 8/64 + 32/(64·256) ≈ 0.127 bits.
    """
    if block_size < 1 or block_size_2 < 1:
        raise CalculatorError("block sizes must be at least 1")
    if double_quant:
        return 4 + 8 / block_size + 32 / (block_size * block_size_2)
    return 4 + 32 / block_size


def bytes_per_param(precision: str) -> float:
    if precision == "fp32":
        return 4.0
    if precision == "bf16":
        return 2.0
    if precision == "4bit":
        return nf4_bits_per_param() / 8
    raise CalculatorError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def quantised_weight_bytes(params: float, block_size: int = 64, double_quant: bool = True) -> float:
    """Bytes of ``params`` weights in 4-bit NF4, quantisation constants included."""
    return params * nf4_bits_per_param(block_size, double_quant) / 8


def dense_params(d_out: int, d_in: int) -> int:
    """Entries of a d_out × d_in weight matrix (what full fine-tuning trains in it)."""
    return d_out * d_in


def lora_params(d_out: int, d_in: int, rank: int) -> int:
    """Entries of B (d_out × r) and A (r × d_in): ΔW = B·A never needs the d_out × d_in matrix."""
    if rank < 1:
        raise CalculatorError(f"rank must be at least 1, not {rank}")
    return rank * (d_out + d_in)


def lora_model_params(shapes: Iterable[tuple[int, int]], rank: int) -> int:
    """LoRA parameters for every adapted matrix of a model, given their (d_out, d_in) shapes."""
    return sum(lora_params(d_out, d_in, rank) for d_out, d_in in shapes)


@dataclass(frozen=True)
class ModelShape:
    """The shape of a decoder-only transformer, enough for the estimates here.

    ``params`` is the nominal size (the lesson's "7B" is 7e9); the shapes are those of the named
    published model. ``kv_dim`` is the width of the value projection (smaller than ``d_model`` with
    grouped-query attention); LoRA targets the query and value projections of every layer, as Hu et
    al. (2021) did and as peft does by default for Llama-style models.
    """

    key: str
    label: str
    params: float
    d_model: int
    layers: int
    heads: int
    kv_dim: int
    ffn: int = 0  # width of the MLP's hidden layer (gate/up/down projections)

    def lora_targets(self) -> list[tuple[int, int]]:
        per_layer = [(self.d_model, self.d_model), (self.kv_dim, self.d_model)]  # q_proj, v_proj
        return per_layer * self.layers

    def all_linear_targets(self) -> list[tuple[int, int]]:
        """Every linear layer of a block, as QLoRA (Dettmers et al. 2023) adapted: q, k, v, o and the
        MLP's gate, up and down projections (d_out, d_in)."""
        d, kv, ffn = self.d_model, self.kv_dim, self.ffn
        per_layer = [(d, d), (kv, d), (kv, d), (d, d), (ffn, d), (ffn, d), (d, ffn)]
        return per_layer * self.layers


# Keys are the memory widget's model choices (billions of parameters).
PRESETS: dict[str, ModelShape] = {
    m.key: m
    for m in (
        # SmolLM2-135M: 134,515,008 parameters, 9 heads, 3 key/value heads of 64.
        # ffn: intermediate_size of each model's published config.json.
        ModelShape("0.135", "SmolLM2-135M", 134_515_008, 576, 30, 9, 192, 1536),
        ModelShape("1", "1B (Llama-3.2-1B shapes)", 1e9, 2048, 16, 32, 512, 8192),
        ModelShape("7", "7B (Llama-2-7B shapes)", 7e9, 4096, 32, 32, 4096, 11008),
        ModelShape("13", "13B (Llama-2-13B shapes)", 13e9, 5120, 40, 40, 5120, 13824),
        ModelShape("65", "65B (LLaMA-65B shapes)", 65e9, 8192, 80, 64, 8192, 22016),
        ModelShape("70", "70B (Llama-2-70B shapes)", 70e9, 8192, 80, 64, 1024, 28672),
    )
}


def preset(key: str) -> ModelShape:
    try:
        return PRESETS[key]
    except KeyError:
        raise CalculatorError(f"model must be one of {', '.join(PRESETS)}, not {key!r}") from None


def trainable_params(model: ModelShape, method: str, rank: int = 16, virtual_tokens: int = 20) -> float:
    """Parameters the method trains (the base model's own count for full fine-tuning)."""
    if method not in METHODS:
        raise CalculatorError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    spec = method_spec(method)
    if spec.writes_base:
        return model.params
    if spec.lora_adapter:
        return lora_model_params(model.lora_targets(), rank)
    if virtual_tokens < 1:
        raise CalculatorError(f"virtual_tokens must be at least 1, not {virtual_tokens}")
    if spec.virtual_tokens_at == "input":  # k vectors at the input (Lester et al. 2021)
        return virtual_tokens * model.d_model
    if spec.virtual_tokens_at == "every_layer":  # k keys and k values in every layer (Li & Liang 2021)
        return 2 * model.layers * virtual_tokens * model.kv_dim
    raise CalculatorError(f"method must be one of {', '.join(METHODS)}, not {method!r}")


def activation_bytes(
    model: ModelShape, seq_len: int, batch: int = 1, precision: str = "bf16", checkpointing: bool = False
) -> float:
    """Rough activation memory kept for the backward pass (Korthikanti et al. 2022): every layer's
    activations, or with checkpointing each layer's input plus one layer's activations rebuilt."""
    if seq_len < 1 or batch < 1:
        raise CalculatorError("seq_len and batch must be at least 1")
    h, s = model.d_model, seq_len
    per_layer = s * batch * h * (34 + 5 * model.heads * s / h)
    kept = model.layers * 2 * s * batch * h + per_layer if checkpointing else model.layers * per_layer
    return kept * (2 if precision == "fp32" else 1)


def kv_cache_bytes(model: ModelShape, seq_len: int, batch: int = 1, bytes_per_value: float = 2) -> float:
    """Keys and values of every layer for ``seq_len`` tokens: what generation keeps besides the weights."""
    return 2 * model.layers * model.kv_dim * seq_len * batch * bytes_per_value


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of training memory by part, and the size of what training produces (``saved``)."""

    trainable: float
    trainable_pct: float
    weights: float
    gradients: float
    optimizer: float
    activations: float
    total: float
    saved: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def training_memory(
    model: ModelShape,
    precision: str,
    method: str,
    rank: int = 16,
    seq_len: int = 512,
    batch: int = 1,
    virtual_tokens: int = 20,
    checkpointing: bool = False,
    optimizer: str = "adamw",
    gpus: int = 1,
) -> MemoryEstimate:
    """Training memory per GPU of one method on one model at one precision (see the module's
    conventions). ``precision`` is that of the base weights; QLoRA always stores them in 4 bits.
    ``gpus`` > 1 shards weights, gradients and optimiser states over them (ZeRO-3 / FSDP)."""
    if method not in METHODS:
        raise CalculatorError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if optimizer not in OPTIMIZER_BYTES:
        raise CalculatorError(f"optimizer must be one of {', '.join(OPTIMIZER_BYTES)}, not {optimizer!r}")
    if not 1 <= gpus <= MAX_GPUS:
        raise CalculatorError(f"gpus must be between 1 and {MAX_GPUS}, not {gpus}")
    state_bytes = OPTIMIZER_BYTES[optimizer]
    spec = method_spec(method)
    base = "4bit" if spec.base_precision == "nf4" else precision
    weight_bytes = bytes_per_param(base)
    full = spec.writes_base
    if full and base == "4bit":
        raise CalculatorError("full fine-tuning cannot update 4-bit weights: choose fp32 or bf16, or QLoRA")
    trainable = trainable_params(model, method, rank, virtual_tokens)
    if full:
        weights = model.params * weight_bytes
        gradients = trainable * weight_bytes
        states = trainable * (state_bytes + (MASTER_BYTES if base != "fp32" else 0))
        saved = weights
    else:
        weights = model.params * weight_bytes + trainable * ADAPTER_BYTES
        gradients = trainable * ADAPTER_BYTES
        states = trainable * state_bytes
        saved = trainable * ADAPTER_BYTES
    # Soft-prompt vectors travel through every layer like real tokens.
    tokens = seq_len + (virtual_tokens if spec.virtual_tokens_at == "input" else 0)
    activations = activation_bytes(model, tokens, batch, "fp32" if base == "fp32" else "bf16", checkpointing)
    weights, gradients, states = weights / gpus, gradients / gpus, states / gpus
    return MemoryEstimate(
        trainable=trainable,
        trainable_pct=100 * trainable / model.params,
        weights=weights,
        gradients=gradients,
        optimizer=states,
        activations=activations,
        total=weights + gradients + states + activations,
        saved=saved,
    )


def classifier_head_params(hidden: int, labels: int) -> int:
    """A linear head on a frozen encoder: one weight per (feature, label) and one bias per label."""
    if hidden < 1 or labels < 2:
        raise CalculatorError("hidden must be at least 1 and labels at least 2")
    return hidden * labels + labels


def bits_to_fit(params: float, card_gb: float) -> float:
    """The most bits per weight that let ``params`` weights alone fit in ``card_gb`` GB."""
    return card_gb * GB * 8 / params


def cards_needed(total_bytes: float, card_gb: float) -> int:
    """How many cards of ``card_gb`` GB the bytes need at the least (nothing else on them)."""
    return math.ceil(total_bytes / (card_gb * GB))
