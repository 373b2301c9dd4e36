"""The adapter-lab section's figures, read from the recorded real session
(``lessons/fine-tuning-llms/recorded/adapter-lab.json``, written by scripts/record_adapter_lab.py), so
the prose quotes exactly what the widget shows. Names (``{{ lab_... }}`` in the text):

- ``lab_model``, ``lab_steps``, ``lab_device``; ``lab_<task>_params``, ``lab_<task>_kb`` (adapter size)
- ``lab_<task>_own_metric`` / ``_own_loss`` (the adapter on its own task),
  ``lab_base_<task>_metric`` / ``_loss``
- ``lab_<combination>_<task>_metric`` / ``_loss``, ``lab_<combination>_rank``, ``lab_<combination>_kb``,
  ``lab_<combination>_<task>_kept`` (the share of the task's own adapter's gain in held-out loss over
  the base that the combination keeps: 100% all of it, 0% none, below 0 worse than the base)
- ``lab_switch_ms_max`` (slowest set_adapter), ``lab_load_ms_max`` (slowest first read of an adapter)
- ``lab_<task>_merge_diff``, ``lab_<task>_adapter_ms`` / ``_merged_ms`` / ``_base_ms``, ``lab_merge_prompts``

``<task>`` is the task name with ``-`` as ``_`` (``json_extract``). Metrics are shares of held-out
prompts, shown as percentages; losses with three decimals.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.lesson.paths import ADAPTER_LAB_SESSION

MODEL_NAMES = {"smollm2-135m": "SmolLM2-135M-Instruct", "tiny-llama": "tiny-llama (untrained)"}


def _key(task: str) -> str:
    return task.replace("-", "_")


def _metric(value: float | None) -> str:
    return "–" if value is None else f"{round(100 * value)}%"


def _loss(value: float) -> str:
    return f"{value:.3f}"


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def kept_share(combined: dict[str, Any], task: str) -> float | None:
    """How much of the task's own adapter's held-out loss gain over the base the combination keeps
    (the widget's keptShare, in adapterlab-data.js); None when the adapter gained nothing."""
    own = next(s["eval"][task]["eval_loss"] for s in combined["sources"] if s["task"] == task)
    base, mixed = combined["base_eval"][task]["eval_loss"], combined["eval"][task]["eval_loss"]
    return (base - mixed) / (base - own) if base > own else None


@lru_cache
def recorded_session(path: Path = ADAPTER_LAB_SESSION) -> dict[str, Any]:
    """The recorded session as written by scripts/record_adapter_lab.py (read once)."""
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache
def adapter_lab_figures(path: Path = ADAPTER_LAB_SESSION) -> dict[str, str]:
    data = recorded_session(path)
    out = {
        "lab_model": MODEL_NAMES.get(data["model"], data["model"]),
        "lab_device": data["device"].upper(),
        "lab_steps": str(data["jobs"][0]["config"]["steps"]),
    }
    for job in data["jobs"]:
        task = _key(job["task"])
        out[f"lab_{task}_params"] = f"{job['trainable_params']:,}"
        out[f"lab_{task}_kb"] = f"{job['adapter_bytes'] / 1e3:,.0f} kB"
    first = data["combinations"][0]
    for source in first["sources"]:
        task = _key(source["task"])
        own = source["eval"][source["task"]]
        out[f"lab_{task}_own_metric"] = _metric(own["metric"])
        out[f"lab_{task}_own_loss"] = _loss(own["eval_loss"])
    for task, score in first["base_eval"].items():
        out[f"lab_base_{_key(task)}_metric"] = _metric(score["metric"])
        out[f"lab_base_{_key(task)}_loss"] = _loss(score["eval_loss"])
    for combined in data["combinations"]:
        name = combined["combination"]
        out[f"lab_{name}_rank"] = str(combined["rank"])
        out[f"lab_{name}_kb"] = f"{combined['adapter_bytes'] / 1e3:,.0f} kB"
        for task, score in combined["eval"].items():
            out[f"lab_{name}_{_key(task)}_metric"] = _metric(score["metric"])
            out[f"lab_{name}_{_key(task)}_loss"] = _loss(score["eval_loss"])
            out[f"lab_{name}_{_key(task)}_kept"] = _metric(kept_share(combined, task))
    out["lab_switch_ms_max"] = _ms(max(s["switch_ms"] for s in data["swaps"]))
    out["lab_load_ms_max"] = _ms(max(s["load_ms"] for s in data["swaps"]))
    for merge in data["merges"]:
        task = _key(merge["job_id"])
        out[f"lab_{task}_merge_diff"] = f"{merge['max_abs_logit_diff']:.1e}"
        for which in ("adapter", "merged", "base"):
            out[f"lab_{task}_{which}_ms"] = _ms(merge["latency_ms"][which])
    out["lab_merge_prompts"] = str(data["merges"][0]["prompts"])
    return out
