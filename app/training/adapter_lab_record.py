"""A real adapter-lab session, recorded: train one LoRA per task, swap between them on one base, combine
them several ways, merge each. The lesson's widget shows this file before anything trains; the slow test
runs the same function on SmolLM2.

    result = record_session(cache, "smollm2-135m", ["tone", "json-extract"], work_dir, steps=None)

Every number in the result comes from the run: trained with ``TrainingRun`` (the app's loop), served
and measured by ``AdapterLab``.
"""

from __future__ import annotations

import json
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
from app.training.methods import resolve_config
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
    merge_repeats: int = 5,
    max_new_tokens: int | None = None,
) -> dict[str, Any]:
    """Train, swap, combine and merge (each merge's latency timed ``merge_repeats`` times); returns a
    JSON-ready dict (see the lesson widget). ``max_new_tokens`` (default: TrainConfig's) bounds every
    generated reply: samples, swaps and the metric of each score."""
    work_dir.mkdir(parents=True, exist_ok=True)
    sources, jobs = [], []
    for task_name in tasks:
        source, job = _train(cache, _config(model, task_name, steps, max_new_tokens), work_dir)
        sources.append(source)
        jobs.append(job)
    session = lab_session(cache, sources, work_dir, combinations, merge_repeats=merge_repeats)
    return {**_header(cache, model), "jobs": jobs, **session}


PARTS = ("swaps", "merges", "combinations")


def lab_session(
    cache: ModelCache,
    sources: Sequence[AdapterSource],
    work_dir: Path,
    combinations: Sequence[tuple[str, Sequence[float], float | None]] = RECORDED_COMBINATIONS,
    parts: Sequence[str] = PARTS,
    merge_repeats: int = 5,
) -> dict[str, Any]:
    """Swap, combine and merge finished adapters (``parts`` picks which: a loaded machine can run
    them in separate processes and ``assemble`` the results)."""
    lab = AdapterLab(cache)
    out: dict[str, Any] = {}
    if "swaps" in parts:
        out["swaps"] = []
        for prompt_source in sources:  # each task's first sample prompt, answered by every adapter in turn
            prompt = prompt_source.task.sample_prompts[0]
            for source in sources:
                answer = lab.swap_generate(source, prompt, source.config.max_new_tokens)
                out["swaps"].append(
                    {"prompt_task": prompt_source.task.name, "prompt": prompt, **asdict(answer)}
                )
    if "combinations" in parts:
        out["combinations"] = []
        for index, (combination, weights, density) in enumerate(combinations):
            directory = work_dir / f"combined-{index}-{combination}"
            result = lab.combine(sources, list(weights), combination, directory, density=density)
            out["combinations"].append(_combined(result, sources))
    if "merges" in parts:
        out["merges"] = [_merge(lab.merge_report(source, repeats=merge_repeats)) for source in sources]
    return out


def assemble(
    cache: ModelCache, model: str, jobs: list[dict[str, Any]], parts: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """One session from the parts of ``lab_session`` run apart (combinations in the order given)."""
    session: dict[str, Any] = {
        **_header(cache, model),
        "jobs": jobs,
        "swaps": [],
        "combinations": [],
        "merges": [],
    }
    for part in parts:
        for key in ("swaps", "combinations", "merges"):
            session[key] += part.get(key, [])
    return session


def sources_from_runs(
    run_dir: Path, model: str, tasks: Sequence[str], steps: int | None
) -> tuple[list[AdapterSource], list[dict[str, Any]]]:
    """Adapters trained by ``ftlab train --jsonl --eval-every 2000 --save-adapter run_dir/<task>``
    (events in ``run_dir/<task>.jsonl``): the same configuration ``record_session`` trains."""
    sources, jobs = [], []
    for task_name in tasks:
        config = resolve_config(_config(model, task_name, steps))
        events = [
            json.loads(line) for line in (run_dir / f"{task_name}.jsonl").read_text().splitlines() if line
        ]
        final_eval = [e for e in events if e["type"] == "eval"][-1]
        done = events[-1]
        if done["type"] != "done":
            raise RuntimeError(f"the {task_name} run ended {done['type']}")
        directory = run_dir / task_name
        sources.append(AdapterSource(task_name, config, directory, load_builtin_task(task_name)))
        jobs.append(_job(config, final_eval, done["summary"].get("wall_s"), done["summary"], directory))
    return sources, jobs


def _config(model: str, task: str, steps: int | None, max_new_tokens: int | None = None) -> TrainConfig:
    # one held-out evaluation at the end (the session scores every adapter again on both tasks)
    replies = {} if max_new_tokens is None else {"max_new_tokens": max_new_tokens}
    return TrainConfig(model=model, method="lora", task=task, steps=steps, eval_every=2000, **replies)


def _header(cache: ModelCache, model: str) -> dict[str, Any]:
    return {
        "model": model,
        "recorded_with": "app/training/adapter_lab_record.py (scripts/record_adapter_lab.py)",
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": cache.device,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
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
    summary = done.summary
    job = _job(
        run.resolved, final_eval.model_dump(), round(time.perf_counter() - start, 1), summary, directory
    )
    run.release()
    logger.info("trained %s: %s", name, job["eval"])
    return source, job


def _job(
    config: TrainConfig,
    final_eval: dict[str, Any],
    seconds: float | None,
    summary: dict[str, Any],
    directory: Path,
) -> dict[str, Any]:
    return {
        "id": config.task,
        "task": config.task,
        "config": config.model_dump(mode="json", include=_SHOWN_CONFIG),
        "eval": {k: final_eval[k] for k in ("eval_loss", "metric", "metric_name")},
        "train_seconds": seconds,
        "trainable_params": summary.get("trainable_params"),
        "adapter_bytes": (directory / "adapter_model.safetensors").stat().st_size,
    }


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
