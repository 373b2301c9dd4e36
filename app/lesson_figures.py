"""The numbers the lesson text quotes, computed by ``app.calculators`` and formatted for prose.

Lesson markdown and quiz text write ``{{ name }}`` where a figure goes; ``app.lessons`` fills it in
from ``lesson_figures()``, so the text cannot drift from the calculator, and an unknown name fails
loading. Figures that only cite a paper stay in the prose with the paper's name beside them.
"""

from __future__ import annotations

from functools import lru_cache

from app.adapter_lab_figures import adapter_lab_figures
from app.calculators import (
    GB,
    bits_to_fit,
    cards_needed,
    classifier_head_params,
    dense_params,
    kv_cache_bytes,
    lora_params,
    nf4_bits_per_param,
    preset,
    quantised_weight_bytes,
    training_memory,
)

# The worked examples of the lesson.
LORA_D, LORA_R = 4096, 16
VIRTUAL_TOKENS = 20  # soft-prompt / prefix length in the examples
SEQ_LEN = 512  # tokens per training example in the memory figures
KV_TOKENS = 4096  # a long prompt for the 70B inference example
CARD_GB = 24  # a single consumer card
HEAD_HIDDEN, HEAD_LABELS = 384, 2  # all-MiniLM-L6-v2's width; the sentiment task's two labels


def bytes_text(value: float) -> str:
    """28e9 → "28 GB", 36.1e9 → "36.1 GB", 3.4e7 → "34 MB" (decimal units)."""
    for unit, size in (("GB", GB), ("MB", 1e6), ("KB", 1e3)):
        if value >= size:
            scaled = value / size
            if scaled >= 100 or abs(scaled - round(scaled)) < 0.05:
                return f"{round(scaled):,} {unit}"
            return f"{scaled:.1f} {unit}"
    return f"{value:.0f} bytes"


def count_text(value: float) -> str:
    return f"{round(value):,}"


def pct_text(value: float) -> str:
    """Two significant figures: 0.11983 → "0.12%", 100 → "100%"."""
    return f"{float(f'{value:.2g}'):g}%" if value < 100 else f"{value:.0f}%"


def _memory_figures() -> dict[str, str]:
    out: dict[str, str] = {}
    b7 = preset("7")
    fp32 = training_memory(b7, "fp32", "full", seq_len=SEQ_LEN)
    out["b7_params"] = f"{b7.params / 1e9:g} billion"
    out["b7_layers"] = count_text(b7.layers)
    out["b7_fp32_weights"] = bytes_text(fp32.weights)
    out["b7_fp32_gradients"] = bytes_text(fp32.gradients)
    out["b7_fp32_adam"] = bytes_text(fp32.optimizer)
    out["b7_fp32_states"] = bytes_text(fp32.weights + fp32.gradients + fp32.optimizer)
    out["fp32_bytes_per_param"] = count_text((fp32.weights + fp32.gradients + fp32.optimizer) / b7.params)
    out["b7_fp32_activations"] = bytes_text(fp32.activations)
    mixed = training_memory(b7, "bf16", "full", seq_len=SEQ_LEN)
    out["b7_bf16_weights"] = bytes_text(mixed.weights)
    out["b7_mixed_states"] = bytes_text(mixed.weights + mixed.gradients + mixed.optimizer)
    out["mixed_bytes_per_param"] = count_text((mixed.weights + mixed.gradients + mixed.optimizer) / b7.params)
    out["b7_bf16_activations"] = bytes_text(mixed.activations)
    lora = training_memory(b7, "bf16", "lora", rank=LORA_R, seq_len=SEQ_LEN)
    out["b7_lora_params"] = count_text(lora.trainable)
    out["b7_lora_pct"] = pct_text(lora.trainable_pct)
    out["b7_lora_adam"] = bytes_text(lora.optimizer)
    out["b7_lora_total"] = bytes_text(lora.total)
    out["b7_lora_saved"] = bytes_text(lora.saved)
    out["b7_full_total"] = bytes_text(mixed.total)
    qlora = training_memory(b7, "bf16", "qlora", rank=LORA_R, seq_len=SEQ_LEN)
    out["b7_qlora_base"] = bytes_text(quantised_weight_bytes(b7.params))
    out["b7_qlora_total"] = bytes_text(qlora.total)
    for method in ("prompt", "prefix"):
        est = training_memory(b7, "bf16", method, seq_len=SEQ_LEN, virtual_tokens=VIRTUAL_TOKENS)
        out[f"b7_{method}_total"] = bytes_text(est.total)
    return out


def _comparison_figures() -> dict[str, str]:
    """Trainable counts and shares on the lesson's own model, SmolLM2-135M."""
    small = preset("0.135")
    out = {
        "small_params": count_text(small.params),
        "small_d": count_text(small.d_model),
        "small_kv_dim": count_text(small.kv_dim),
        "virtual_tokens": count_text(VIRTUAL_TOKENS),
    }
    for method in ("lora", "prompt", "prefix"):
        est = training_memory(small, "fp32", method, LORA_R, SEQ_LEN, virtual_tokens=VIRTUAL_TOKENS)
        out[f"small_{method}_params"] = count_text(est.trainable)
        out[f"small_{method}_pct"] = pct_text(est.trainable_pct)
        out[f"small_{method}_saved"] = bytes_text(est.saved)
    out["small_full_saved"] = bytes_text(training_memory(small, "fp32", "full").saved)
    return out


def _quantisation_figures() -> dict[str, str]:
    b70 = preset("70")
    codes = b70.params * 4 / 8
    with_dq = quantised_weight_bytes(b70.params)
    without_dq = quantised_weight_bytes(b70.params, double_quant=False)
    kv = kv_cache_bytes(b70, KV_TOKENS)
    return {
        "nf4_bits_dq": f"{nf4_bits_per_param():.3f}",
        "nf4_const_bits": f"{nf4_bits_per_param(double_quant=False) - 4:.1f}",
        "nf4_const_bits_dq": f"{nf4_bits_per_param() - 4:.3f}",
        "b70_codes": bytes_text(codes),
        "b70_nf4": bytes_text(with_dq),
        "b70_nf4_no_dq": bytes_text(without_dq),
        "b70_dq_saving": bytes_text(without_dq - with_dq),
        "b70_fp16": bytes_text(b70.params * 2),
        "b70_kv_tokens": count_text(KV_TOKENS),
        "b70_kv": bytes_text(kv),
        "card_gb": f"{CARD_GB}",
        "b70_cards": count_text(cards_needed(with_dq + kv, CARD_GB)),
        "b70_bits_for_card": f"{bits_to_fit(b70.params, CARD_GB):.1f}",
    }


@lru_cache(maxsize=1)
def lesson_figures() -> dict[str, str]:
    """Every named figure, formatted as the prose shows it."""
    full, lora = dense_params(LORA_D, LORA_D), lora_params(LORA_D, LORA_D, LORA_R)
    figures = {
        "lora_d": count_text(LORA_D),
        "lora_r": count_text(LORA_R),
        "lora_full_params": count_text(full),
        "lora_params": count_text(lora),
        "lora_ratio": count_text(full / lora),
        "lora_one_factor": count_text(LORA_D * LORA_R),
        "lora_r_squared": count_text(LORA_R * LORA_R),
        "seq_len": count_text(SEQ_LEN),
        "head_hidden": count_text(HEAD_HIDDEN),
        "head_labels": count_text(HEAD_LABELS),
        "head_params": count_text(classifier_head_params(HEAD_HIDDEN, HEAD_LABELS)),
    }
    figures |= _memory_figures() | _comparison_figures() | _quantisation_figures()
    figures |= adapter_lab_figures()  # the recorded adapter-lab session (lessons/.../adapter-lab.json)
    return figures
