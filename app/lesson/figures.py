"""The numbers the lesson text quotes, computed by ``app.lesson.calculators`` and formatted for prose.

Lesson markdown and quiz text write ``{{ name }}`` where a figure goes; ``app.lesson.content`` fills it in
from ``lesson_figures()``, so the text cannot drift from the calculator, and an unknown name fails
loading. Figures that only cite a paper stay in the prose with the paper's name beside them. The
recorded runs' figures are ``app.lesson.run_figures``; how numbers are written, ``app.lesson.prose_numbers``.
"""

from __future__ import annotations

from functools import lru_cache

from app.lesson.adapter_lab_figures import adapter_lab_figures, recorded_session
from app.lesson.calculators import (
    GB,
    bits_to_fit,
    cards_needed,
    classifier_head_params,
    dense_params,
    kv_cache_bytes,
    lora_model_params,
    lora_params,
    nf4_bits_per_param,
    preset,
    quantised_weight_bytes,
    training_memory,
)
from app.lesson.prose_numbers import bytes_text, count_text, pct_text
from app.lesson.recorded_runs import recorded_runs
from app.lesson.run_figures import HEAD_LABELS, run_figures

# The worked examples of the lesson.
LORA_D, LORA_R = 4096, 16
VIRTUAL_TOKENS = 20  # soft-prompt / prefix length in the examples
SEQ_LEN = 512  # tokens per training example in the memory figures
KV_TOKENS = 4096  # a long prompt for the 70B inference example
CARD_GB = 24  # a single consumer card
HEAD_HIDDEN = 384  # all-MiniLM-L6-v2's width


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
    out["b7_fp32_total"] = bytes_text(fp32.total)
    all_linear = lora_model_params(b7.all_linear_targets(), LORA_R)
    out["b7_all_linear_params"] = count_text(all_linear)
    out["b7_all_linear_pct"] = pct_text(100 * all_linear / b7.params)
    out["b7_all_linear_ratio"] = f"{all_linear / lora_model_params(b7.lora_targets(), LORA_R):.1f}"
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


QLORA_CARD_GB, BIG_CARD_GB = 48, 80  # the QLoRA paper's card; an A100/H100


def _hardware_figures() -> dict[str, str]:
    """What checkpointing, 8-bit AdamW and ZeRO-3 change (the calculator's extended estimate)."""
    b65, b70, b7 = preset("65"), preset("70"), preset("7")
    plain = training_memory(b65, "4bit", "qlora", rank=LORA_R, seq_len=SEQ_LEN)
    ckpt = training_memory(b65, "4bit", "qlora", rank=LORA_R, seq_len=SEQ_LEN, checkpointing=True)

    def full70(gpus: int) -> float:
        return training_memory(b70, "bf16", "full", seq_len=SEQ_LEN, checkpointing=True, gpus=gpus).total

    gpus = next(n for n in range(1, 1025) if full70(n) <= BIG_CARD_GB * GB)
    return {
        "qlora_card_gb": f"{QLORA_CARD_GB}",
        "big_card_gb": f"{BIG_CARD_GB}",
        "b65_bf16_weights": bytes_text(b65.params * 2),
        "b65_qlora_total": bytes_text(plain.total),
        "b65_qlora_activations": bytes_text(plain.activations),
        "b65_qlora_ckpt_total": bytes_text(ckpt.total),
        "b65_qlora_ckpt_activations": bytes_text(ckpt.activations),
        "b7_full_adam8_total": bytes_text(training_memory(b7, "bf16", "full", optimizer="adamw8bit").total),
        "b7_full_ckpt_total": bytes_text(training_memory(b7, "bf16", "full", checkpointing=True).total),
        "b70_full_ckpt_total": bytes_text(full70(1)),
        "b70_full_gpus": count_text(gpus),
        "b70_full_per_gpu": bytes_text(full70(gpus)),
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
    figures |= _memory_figures() | _comparison_figures() | _quantisation_figures() | _hardware_figures()
    figures |= adapter_lab_figures()  # the recorded adapter-lab session (lessons/.../adapter-lab.json)
    return figures | run_figures() | _adapter_work_figure() | _widget_question_figures()


QUIZ_LOSS_LINE = 2.0  # the loss level a quiz question asks about on the recorded LoRA curve


def _widget_question_figures() -> dict[str, str]:
    """Answers (and wrong choices) of the quiz questions that are read off a widget: the memory
    calculator's totals at its default rank and sequence length, and the recorded LoRA run's curve."""
    out = {}
    for key in ("13", "70"):
        shape = preset(key)
        settings = (("lora", True), ("lora", False), ("qlora", True), ("qlora", False), ("full", True))
        for method, ckpt in settings:
            est = training_memory(shape, "bf16", method, rank=LORA_R, seq_len=SEQ_LEN, checkpointing=ckpt)
            out[f"q{key}_{method}{'_ckpt' if ckpt else ''}_total"] = bytes_text(est.total)
    lora = recorded_runs().get("lora")
    if lora is not None:
        below = next(s["step"] for s in lora.steps if s["loss"] < QUIZ_LOSS_LINE)
        out["q_loss_line"] = f"{QUIZ_LOSS_LINE:.1f}"
        out["q_lora_first_below"] = str(below)
    return out


def _adapter_work_figure() -> dict[str, str]:
    """The extra multiply-adds of an unmerged adapter per token, as a share of the base's: a forward
    pass does about one per weight per token (2 FLOPs per parameter, Kaplan et al. 2020), and a LoRA
    adapter's A and B are weights too. Base: the recorded LoRA run's model, which the lab also uses."""
    lab = recorded_session()
    lora = recorded_runs()["lora"]
    if lab["model"] != lora.config["model"]:
        return {}
    base_params = lora.started["total_params"] - lora.started["trainable_params"]
    return {"lab_adapter_work_pct": pct_text(100 * lab["jobs"][0]["trainable_params"] / base_params)}


# --------------------------------------------------------------------------- the recorded runs
