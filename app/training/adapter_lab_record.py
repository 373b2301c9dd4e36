"""A real adapter-lab session, recorded: train one LoRA per task, swap between them on one base, combine
them several ways, merge each. The lesson's widget shows this file before anything trains; the slow test
runs the same function on SmolLM2.

    result = record_session(cache, "smollm2-135m", ["tone", "json-extract"], work_dir, steps=None)

Every number in the result comes from the run: trained with ``TrainingRun`` (the app's loop), served
and measured by ``AdapterLab``.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from app.events import Done, Eval
from app.training.adapter_lab import AdapterLab, AdapterSource, CombinedAdapter, TaskScore
from app.training.loop import TrainingRun
from app.training.models import ModelCache
from app.training.tasks import load_builtin_task
from app.training.train_config import TrainConfig

logger = logging.getLogger(__name__)

# (combination, weights, density): plain addition of the factors, and exact stacking (ties and the
# others are one request away in the widget; two kept the recording within a loaded machine's time)
RECORDED_COMBINATIONS: tuple[tuple[str, tuple[float, ...], float | None], ...] = (
    ("linear", (1.0, 1.0), None),
    ("cat", (1.0, 1.0), None),
)


def record_session(
    cache: ModelCache,
    model: str,
    tasks: Sequence[str],
    work_dir: Path,
    steps: int | None = None,
    combinations: Sequence[tuple[str, Sequence[float], float | None]] = RECORDED_COMBINATIONS,
) -> dict[str, Any]:
    """Train, swap, combine and merge; returns a JSON-ready dict (see the lesson widget)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    sources, jobs = [], []
    for task_name in tasks:
        # one held-out evaluation at the end (the session scores every adapter again on both tasks)
        config = TrainConfig(model=model, method="lora", task=task_name, steps=steps, eval_every=2000)
        source, job = _train(cache, config, work_dir)
        sources.append(source)
        jobs.append(job)
    lab = AdapterLab(cache)
    swaps = []
    for prompt_source in sources:  # each task's first sample prompt, answered by every adapter in turn
        prompt = prompt_source.task.sample_prompts[0]
        for source in sources:
            answer = lab.swap_generate(source, prompt, source.config.max_new_tokens)
            swaps.append({"prompt_task": prompt_source.task.name, "prompt": prompt, **asdict(answer)})
    combined = []
    for index, (combination, weights, density) in enumerate(combinations):
        directory = work_dir / f"combined-{index}-{combination}"
        result = lab.combine(sources, list(weights), combination, directory, density=density)
        combined.append(_combined(result, sources))
    merges = [_merge(lab.merge_report(source)) for source in sources]
    return {
        "model": model,
        "recorded_with": "app/training/adapter_lab_record.py (scripts/record_adapter_lab.py)",
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": cache.device,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "jobs": jobs,
        "swaps": swaps,
        "combinations": combined,
        "merges": merges,
    }


def _train(cache: ModelCache, config: TrainConfig, work_dir: Path) -> tuple[AdapterSource, dict[str, Any]]:
    run = TrainingRun(config, cache=cache)
    start = time.perf_counter()
    final_eval: Eval | None = None
    done: Done | None = None
    for event in run.events():
        if isinstance(event, Eval):
            final_eval = event
        elif isinstance(event, Done):
            done = event
        elif event.type in ("failed", "cancelled"):
            raise RuntimeError(f"{config.task} run ended {event.type}: {getattr(event, 'error', '')}")
    assert run.resolved is not None and final_eval is not None and done is not None
    name = config.task
    directory = run.save_adapter(work_dir / name)
    source = AdapterSource(name, run.resolved, directory, load_builtin_task(config.task))
    job = {
        "id": name,
        "task": config.task,
        "config": run.resolved.model_dump(mode="json", include=_SHOWN_CONFIG),
        "eval": {
            "eval_loss": final_eval.eval_loss,
            "metric": final_eval.metric,
            "metric_name": final_eval.metric_name,
        },
        "train_seconds": round(time.perf_counter() - start, 1),
        "trainable_params": done.summary.get("trainable_params"),
        "adapter_bytes": (directory / "adapter_model.safetensors").stat().st_size,
    }
    run.release()
    logger.info("trained %s: %s", name, job["eval"])
    return source, job


_SHOWN_CONFIG = {
    "model",
    "method",
    "task",
    "steps",
    "lr",
    "batch_size",
    "seq_len",
    "rank",
    "alpha",
    "target_modules",
}


def _scores(scores: dict[str, TaskScore]) -> dict[str, dict[str, Any]]:
    return {task: {k: v for k, v in asdict(s).items() if k != "task"} for task, s in scores.items()}


def _combined(result: CombinedAdapter, sources: Sequence[AdapterSource]) -> dict[str, Any]:
    return {
        "combination": result.combination,
        "weights": result.weights,
        "density": result.density,
        "rank": result.rank,
        "trainable_params": result.trainable_params,
        "adapter_bytes": result.adapter_bytes,
        "seconds": round(result.seconds, 1),
        "eval": _scores(result.scores),
        "base_eval": _scores(result.base_scores),
        "sources": [
            {
                "job_id": s.name,
                "task": s.task.name,
                "weight": w,
                "eval": _scores(result.source_scores[s.name]),
                "trainable_params": result.source_sizes[s.name][0],
                "adapter_bytes": result.source_sizes[s.name][1],
            }
            for s, w in zip(sources, result.weights, strict=True)
        ],
    }


def _merge(report: Any) -> dict[str, Any]:
    fields = asdict(report)
    fields["job_id"] = fields.pop("adapter")
    return fields
