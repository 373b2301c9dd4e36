"""The figures the lesson quotes from its recorded runs (``{{ run_* }}``): settings, losses over the
seeds, the rank table, the compare and sweep tables, the sample sizes and the long run's over-fitting."""

from __future__ import annotations

import math
import statistics
from functools import lru_cache

from app.lesson.prose_numbers import (
    bytes_text,
    count_text,
    loss_text,
    lr_text,
    pct_text,
    share_text,
    span_text,
    spread_text,
)
from app.lesson.recorded_runs import (
    LM_METHODS,
    RecordedRun,
    long_run,
    rank_rows,
    recorded_runs,
    seed_runs,
    spread,
    sweep,
)
from app.training.methods import METHODS


@lru_cache(maxsize=8)
def train_examples(task: str) -> int:
    """How many training examples a built-in task has (read once)."""
    from app.training.tasks import load_builtin_task

    return len(load_builtin_task(task).train)


HEAD_LABELS = 2  # the sentiment task's two labels (the head's classes)

METHOD_LABELS = {name: spec.prose_name for name, spec in METHODS.items()}  # as sentences name them


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


def _seed_count(seeds: dict[str, list[RecordedRun]]) -> int:
    return min(len(seeds.get(m, [])) for m in (*LM_METHODS, "head"))


def _run_tables(runs: dict[str, RecordedRun]) -> dict[str, str]:
    seeds = seed_runs()
    count = _seed_count(seeds)
    after = f"mean of {count} seeds (lowest–highest)" if count > 1 else "one seed"
    compare = (
        "| method | lr (chosen) | steps | batch | tokens seen | trained "
        f"| held-out loss before → after, {after} | voice / metric after | looping replies after "
        "| wall time |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    for method in (*LM_METHODS, "head"):
        if method not in runs:
            continue
        run, s, all_seeds = runs[method], runs[method].summary, seeds[method]
        loss_after = spread_text(spread(all_seeds, "eval_loss"), loss_text)
        compare += (
            f"| {METHOD_LABELS[method]} | {lr_text(run.config['lr'])} | {run.config['steps']} "
            f"| {run.config['batch_size']} | {count_text(s.get('tokens_seen', 0))} "
            f"| {pct_text(s['trainable_pct'])} "
            f"| {loss_text(run.first['eval_loss'])} → {loss_after} "
            f"| {spread_text(spread(all_seeds, 'metric'), share_text)} ({run.last.get('metric_name')}) "
            f"| {spread_text(spread(all_seeds, 'degenerate'), share_text)} | {s['wall_s']:.0f} s |\n"
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
    return (
        _run_settings(runs)
        | _rank_figures(runs)
        | _run_tables(runs)
        | _run_sizes(runs)
        | _seed_figures()
        | _overfit_figures(runs)
    )


def _seed_figures() -> dict[str, str]:
    """Each method's final held-out loss over its seeds: "2.12 (2.09–2.15)"."""
    seeds = seed_runs()
    out = {"run_seeds": count_text(_seed_count(seeds))}
    widths: dict[str, float] = {}
    for method, runs in seeds.items():
        values = spread(runs, "eval_loss")
        out[f"run_{method}_loss_seeds"] = spread_text(values, loss_text)
        # the chat runs' answer-token losses (a preference task's loss is on another scale)
        if values is not None and method in LM_METHODS and METHODS[method].task_kind is None:
            widths[method] = values.high - values.low
    if widths:
        widest = max(widths, key=widths.__getitem__)
        out |= {
            "run_seed_width_min": f"{min(widths.values()):.2f}",
            "run_seed_width_max": f"{widths[widest]:.2f}",
            "run_seed_widest": METHOD_LABELS[widest],
        }
    full, lora = spread(seeds.get("full", []), "eval_loss"), spread(seeds.get("lora", []), "eval_loss")
    if full and lora:
        out["run_full_vs_lora"] = (
            "every full fine-tuning seed ended below every LoRA seed"
            if full.high < lora.low
            else "every LoRA seed ended below every full fine-tuning seed"
            if lora.high < full.low
            else "the full fine-tuning and LoRA seeds overlap"
        )
    return out


def _overfit_figures(runs: dict[str, RecordedRun]) -> dict[str, str]:
    """The longer full fine-tuning run: where its held-out loss was lowest and where it ended, beside
    the training loss (the mean of the 5 steps up to each evaluation)."""
    run = long_run()
    if run is None:
        return {}
    c = run.config
    best = min(run.evals, key=lambda e: e["eval_loss"])
    losses = {e["step"]: e["loss"] for e in run.steps}

    def train_near(step: int) -> float | None:
        window = [losses[k] for k in range(max(1, step - 4), step + 1) if k in losses]
        return sum(window) / len(window) if window else None

    shown = [e for e in run.evals if e["step"] % 10 == 0 or e is best]
    table = "| step | training loss (mean of the last 5 steps) | held-out loss |\n| --- | --- | --- |\n"
    table += "".join(
        f"| {e['step']} | {loss_text(train_near(e['step']))} | "
        + (f"**{loss_text(e['eval_loss'])}**" if e is best else loss_text(e["eval_loss"]))
        + " |\n"
        for e in shown
    )
    train = train_examples(c["task"])
    return {
        "run_overfit_table": table,
        "run_overfit_steps": count_text(c["steps"]),
        "run_overfit_lr": lr_text(c["lr"]),
        "run_overfit_epochs": f"{c['steps'] * c['batch_size'] / train:.1f}",
        "run_overfit_eval_every": count_text(c["eval_every"]),
        "run_overfit_best_step": count_text(best["step"]),
        "run_overfit_best_loss": loss_text(best["eval_loss"]),
        "run_overfit_last_loss": loss_text(run.last["eval_loss"]),
        "run_overfit_train_last": loss_text(train_near(run.steps[-1]["step"])),
        "run_overfit_metric_best": share_text(best.get("metric")),
        "run_overfit_metric_last": share_text(run.last.get("metric")),
    }


def _run_sizes(runs: dict[str, RecordedRun]) -> dict[str, str]:
    """Sample sizes behind the recorded runs' shares, and how far 20 steps go through the data."""
    from app.training.evaluation import EVAL_METRIC_PROMPTS
    from app.training.trl_methods import EVAL_PAIRS

    lora, dpo = runs["lora"], runs["dpo"]
    train = train_examples(lora.config["task"])
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
