"""The numbers the lesson text quotes, computed by ``app.lesson.calculators`` and formatted for prose.

Lesson markdown and quiz text write ``{{ name }}`` where a figure goes; ``app.lesson.content`` fills it in
from ``lesson_figures()``, so the text cannot drift from the calculator, and an unknown name fails
loading. Figures that only cite a paper stay in the prose with the paper's name beside them.
"""

from __future__ import annotations

import math
import statistics
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
from app.lesson.recorded_runs import LM_METHODS, RecordedRun, rank_rows, recorded_runs, sweep
from app.training.methods import METHODS

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

METHOD_LABELS = {name: spec.prose_name for name, spec in METHODS.items()}  # as sentences name them


def lr_text(value: float) -> str:
    """2e-05 → "2e-5", 0.03 → "3e-2"."""
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def loss_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def share_text(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def span_text(values: list[float], fmt: str = "{:.0f}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}–{fmt.format(high)}"


def _run_settings(runs: dict[str, RecordedRun]) -> dict[str, str]:
    lora = runs["lora"].config
    out = {
        "run_steps": count_text(lora["steps"]),
        "run_batch": count_text(lora["batch_size"]),
        "run_seq_len": count_text(lora["seq_len"]),
        "run_rank": count_text(lora["rank"]),
        "run_alpha": f"{lora['alpha']:g}",
        "run_scale": f"{lora['alpha'] / lora['rank']:g}",
        "run_rs_scale": f"{lora['alpha'] / math.sqrt(lora['rank']):.2f}",
        "run_targets": ", ".join(t.removesuffix("_proj") for t in lora["target_modules"]),
        "run_virtual_tokens": count_text(runs["prompt"].config["num_virtual_tokens"]),
        "run_dpo_beta": f"{runs['dpo'].config['beta']:g}",
        "run_lr_ratio": f"{runs['lora'].config['lr'] / runs['full'].config['lr']:.0f}",
    }
    for method, run in runs.items():
        s, c = run.summary, run.config
        prefix = f"run_{method}"
        out |= {
            f"{prefix}_lr": lr_text(c["lr"]),
            f"{prefix}_steps": count_text(c["steps"]),
            f"{prefix}_tokens": count_text(s.get("tokens_seen", 0)),
            f"{prefix}_trainable": count_text(s["trainable_params"]),
            f"{prefix}_trainable_pct": pct_text(s["trainable_pct"]),
            f"{prefix}_adapter": bytes_text(s["adapter_bytes"]),
            f"{prefix}_loss_before": loss_text(run.first["eval_loss"]),
            f"{prefix}_loss_after": loss_text(run.last["eval_loss"]),
            f"{prefix}_metric_before": share_text(run.first.get("metric")),
            f"{prefix}_metric_after": share_text(run.last.get("metric")),
            f"{prefix}_degenerate_before": share_text(run.first.get("degenerate")),
            f"{prefix}_degenerate_after": share_text(run.last.get("degenerate")),
            f"{prefix}_wall": f"{s['wall_s']:.0f} s",
            f"{prefix}_peak_memory": bytes_text(s["peak_memory_bytes"]),
        }
    dpo_first = runs["dpo"].steps[0]["loss"]
    out |= {
        "run_dpo_first_loss": f"{dpo_first:.4f}",
        "ln2": f"{math.log(2):.4f}",
        "run_dpo_reward_margin": f"{runs['dpo'].summary.get('reward_margin', float('nan')):.2f}",
        "run_head_labels": count_text(HEAD_LABELS),
    }
    return out


def _rank_figures(runs: dict[str, RecordedRun]) -> dict[str, str]:
    rows = rank_rows(runs["full"], runs["lora"])
    r = rows[0].lora_rank
    full_eff = [v for row in rows for v in row.full_effective]
    entropy = [v for row in rows for v in row.full_entropy]
    energy = [v for row in rows for v in row.full_rank_energy]
    sizes = [row.size for row in rows]
    header = (
        "| projection (blocks) | singular values | full FT: effective rank | full FT: entropy rank "
        f"| full FT: energy kept by the best rank-{r} | LoRA: effective rank (r = {r}) |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
    )
    body = "".join(
        f"| {row.projection} ({', '.join(map(str, row.blocks))}) | {row.size} "
        f"| {' / '.join(map(str, row.full_effective))} | {' / '.join(f'{v:.0f}' for v in row.full_entropy)} "
        f"| {' / '.join(f'{100 * v:.0f}%' for v in row.full_rank_energy)} "
        f"| {' / '.join(map(str, row.lora_effective))} |\n"
        for row in rows
    )
    return {
        "run_rank_table": header + body,
        "run_rank_modules": count_text(sum(len(row.blocks) for row in rows)),
        "run_rank_blocks": ", ".join(map(str, rows[0].blocks[:-1])) + f" and {rows[0].blocks[-1]}",
        "run_full_eff": span_text(full_eff),
        "run_full_entropy": span_text(entropy),
        "run_full_sizes": span_text(sizes),
        "run_full_rank_energy": span_text([100 * v for v in energy], "{:.0f}%"),
        "run_lora_eff_max": count_text(max(v for row in rows for v in row.lora_effective)),
        "run_rank_ratio": span_text([v / rows[0].lora_rank for v in full_eff], "{:.0f}"),
    }


def _run_tables(runs: dict[str, RecordedRun]) -> dict[str, str]:
    compare = (
        "| method | lr (chosen) | steps | batch | tokens seen | trained | held-out loss before → after "
        "| voice / metric after | looping replies after | wall time |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    for method in (*LM_METHODS, "head"):
        if method not in runs:
            continue
        run, s = runs[method], runs[method].summary
        compare += (
            f"| {METHOD_LABELS[method]} | {lr_text(run.config['lr'])} | {run.config['steps']} "
            f"| {run.config['batch_size']} | {count_text(s.get('tokens_seen', 0))} "
            f"| {pct_text(s['trainable_pct'])} "
            f"| {loss_text(run.first['eval_loss'])} → {loss_text(run.last['eval_loss'])} "
            f"| {share_text(run.last.get('metric'))} ({run.last.get('metric_name')}) "
            f"| {share_text(run.last.get('degenerate'))} | {s['wall_s']:.0f} s |\n"
        )
    data = sweep()
    tried = "| method | learning rates tried: held-out loss after (looping replies) | chosen |\n"
    tried += "| --- | --- | --- |\n"
    by_method: dict[str, list[dict]] = {}
    for entry in data["runs"]:
        by_method.setdefault(entry["method"], []).append(entry)
    for method in LM_METHODS:
        entries = sorted(by_method.get(method, []), key=lambda e: e["lr"])
        if entries:
            cells = "; ".join(
                f"{lr_text(e['lr'])}: {loss_text(e['eval_loss_after'])} ({share_text(e['degenerate_after'])})"
                for e in entries
            )
            tried += f"| {METHOD_LABELS[method]} | {cells} | {lr_text(data['chosen'][method])} |\n"
    note = _sweep_note({m: sorted(e["lr"] for e in by_method.get(m, [])) for m in LM_METHODS}, data["chosen"])
    return {
        "run_compare_table": compare,
        "run_sweep_table": tried,
        "run_sweep_count": count_text(len(data["runs"])),
        "run_sweep_note": note,
    }


def _sweep_note(tried: dict[str, list[float]], chosen: dict[str, float]) -> str:
    """What the sweep can and cannot say: how many rates each method got, and whether a chosen rate
    sits at an edge of what was tried (then a rate beyond it might have done better)."""
    counts = sorted({len(rates) for rates in tried.values() if rates})
    single = [METHOD_LABELS[m] for m, rates in tried.items() if len(rates) == 1]
    if single:
        return (
            f"Only one rate was tried for {', '.join(single)}, so those rows are not tuned the way the "
            "others are."
        )
    span = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    top = [METHOD_LABELS[m] for m, rates in tried.items() if rates and chosen[m] == rates[-1]]
    bottom = [METHOD_LABELS[m] for m, rates in tried.items() if rates and chosen[m] == rates[0]]
    steps = [b / a for rates in tried.values() for a, b in zip(rates, rates[1:], strict=False)]
    note = f"Each method was tried at {span} rates, about {statistics.median(steps):.0f} times apart."
    if not top and not bottom:
        return note + " Every chosen rate has a lower and a higher one beside it that did worse."
    if top:
        note += (
            f" For {', '.join(top)} the chosen rate is the highest tried: a higher one might do better still."
        )
    if bottom:
        note += f" For {', '.join(bottom)} the chosen rate is the lowest tried."
    inside = [METHOD_LABELS[m] for m, rates in tried.items() if rates and rates[0] < chosen[m] < rates[-1]]
    if inside:
        note += f" For {', '.join(inside)} a lower and a higher rate were tried and did worse."
    return note


def run_figures() -> dict[str, str]:
    runs = recorded_runs()
    if not all(m in runs for m in (*LM_METHODS, "head")):
        return {}
    return _run_settings(runs) | _rank_figures(runs) | _run_tables(runs) | _run_sizes(runs)


def _run_sizes(runs: dict[str, RecordedRun]) -> dict[str, str]:
    """Sample sizes behind the recorded runs' shares, and how far 20 steps go through the data."""
    from app.training.evaluation import EVAL_METRIC_PROMPTS
    from app.training.tasks import load_builtin_task
    from app.training.trl_methods import EVAL_PAIRS

    lora, dpo = runs["lora"], runs["dpo"]
    train = len(load_builtin_task(lora.config["task"]).train)
    seen = lora.config["steps"] * lora.config["batch_size"]
    weights = lora.started.get("weights", "not recorded")
    return {
        "run_train_examples": count_text(train),
        "run_examples_seen": count_text(seen),
        "run_epochs": f"{seen / train:.2f}",
        "run_eval_replies": count_text(EVAL_METRIC_PROMPTS),
        "run_reply_points": f"{100 / EVAL_METRIC_PROMPTS:g}",
        "run_dpo_pairs": count_text(EVAL_PAIRS),
        "run_dpo_reward_chosen": f"{dpo.summary['reward_chosen']:+.2f}",
        "run_dpo_reward_rejected": f"{dpo.summary['reward_rejected']:+.2f}",
        "run_dpo_rejected_share": pct_text(
            100 * -dpo.summary["reward_rejected"] / dpo.summary["reward_margin"]
        ),
        "run_weights_plain": weights.removesuffix(" (noted after recording)"),
    }
