"""What the lesson says about its recorded runs, read from the runs themselves.

``lessons/fine-tuning-llms/recorded/<method>.jsonl`` are real event streams (``ftlab train --jsonl``),
seed 0 of each method; ``recorded/seeds/<method>-seed<k>.jsonl`` the same settings at other seeds and
``recorded/long/full-overfit.jsonl`` one longer full fine-tuning run (scripts/record_seeds.sh);
``recorded/sweep.json`` is the learning-rate sweep that chose the rates (scripts/sweep_lr.sh). Every run
setting and result the text quotes (rank, targets, virtual tokens, lr, steps, tokens, losses,
effective ranks) is a ``{{ run_* }}`` figure computed here, and ``unsupported_settings`` finds a
sentence about the runs that states a setting no recording has.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.lesson.paths import RECORDED_DIR

LM_METHODS = ("full", "lora", "qlora", "prompt", "prefix", "sft", "dpo")  # SmolLM2, like for like
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class RecordedRun:
    """One recorded stream, boiled down to what the lesson quotes."""

    method: str
    config: dict[str, Any]
    started: dict[str, Any]
    summary: dict[str, Any]
    evals: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    spectra: list[dict[str, Any]]
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.evals[0]

    @property
    def last(self) -> dict[str, Any]:
        return self.evals[-1]

    def final_layers(self) -> dict[str, dict[str, Any]]:
        """The last ΔW spectrum, by module (the same key for full FT's and LoRA's names)."""
        layers = next((e["layers"] for e in reversed(self.spectra) if e.get("layers")), [])
        return {module_key(layer["name"]): layer for layer in layers}


def module_key(name: str) -> str:
    """'base_model.model.model.layers.0.self_attn.q_proj' and 'model.layers.0.self_attn.q_proj.weight'
    both → 'model.layers.0.self_attn.q_proj', so full FT and LoRA are compared on the same modules."""
    return name.removeprefix("base_model.model.").removesuffix(".weight").removesuffix(".base_layer")


def load_run(path: Path) -> RecordedRun:
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = next(e for e in events if e["type"] == "started")
    done = events[-1]
    if done["type"] != "done":
        raise ValueError(f"{path}: a recorded run must end in 'done', not {done['type']!r}")
    return RecordedRun(
        method=started["method"],
        config=started["config"],
        started=started,
        summary=done["summary"],
        evals=[e for e in events if e["type"] == "eval"],
        steps=[e for e in events if e["type"] == "step"],
        spectra=[e for e in events if e["type"] == "spectrum"],
        samples=[e for e in events if e["type"] == "sample" and e["step"] > 0],
    )


@lru_cache(maxsize=4)
def recorded_runs(folder: Path = RECORDED_DIR) -> dict[str, RecordedRun]:
    return {path.stem: load_run(path) for path in sorted(folder.glob("*.jsonl"))}


SEEDS_FOLDER = "seeds"  # the other seeds of each recorded method
LONG_RUN = Path("long") / "full-overfit.jsonl"  # full fine-tuning run on, to show over-fitting


@lru_cache(maxsize=4)
def seed_runs(folder: Path = RECORDED_DIR) -> dict[str, list[RecordedRun]]:
    """Every seed of each recorded method, seed 0 (the run the page plays) first."""
    out = {name: [run] for name, run in recorded_runs(folder).items()}
    for path in sorted((folder / SEEDS_FOLDER).glob("*-seed*.jsonl")):
        name = path.stem.rsplit("-seed", 1)[0]
        if name in out:
            out[name].append(load_run(path))
    return {name: sorted(runs, key=lambda r: r.config["seed"]) for name, runs in out.items()}


@dataclass(frozen=True)
class Spread:
    """One measure over a method's seeds."""

    values: list[float]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


def spread(runs: list[RecordedRun], measure: str) -> Spread | None:
    """``measure`` of the last evaluation over the seeds (None when a seed lacks it)."""
    values = [run.last.get(measure) for run in runs]
    if any(v is None for v in values):
        return None
    return Spread([float(v) for v in values])


def seed_summary(folder: Path = RECORDED_DIR) -> dict[str, dict[str, Any]]:
    """For the page: each recorded run's seeds and their final held-out loss, metric and looping share."""
    out: dict[str, dict[str, Any]] = {}
    for name, runs in seed_runs(folder).items():
        out[name] = {
            "seeds": [run.config["seed"] for run in runs],
            "metric_name": runs[0].last.get("metric_name"),
            **{m: [run.last.get(m) for run in runs] for m in ("eval_loss", "metric", "degenerate")},
        }
    return out


@lru_cache(maxsize=4)
def long_run(folder: Path = RECORDED_DIR) -> RecordedRun | None:
    path = folder / LONG_RUN
    return load_run(path) if path.is_file() else None


@lru_cache(maxsize=4)
def sweep(folder: Path = RECORDED_DIR) -> dict[str, Any]:
    path = folder / "sweep.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"runs": [], "chosen": {}}


# --------------------------------------------------------------------------- ranks, same modules


@dataclass(frozen=True)
class RankRow:
    """Full FT against LoRA on one kind of projection, over the blocks both runs report."""

    projection: str
    blocks: list[int]
    size: int  # singular values of the full spectrum, min(d_out, d_in)
    full_effective: list[int]
    full_entropy: list[float]
    full_rank_energy: list[float]
    lora_effective: list[int]
    lora_rank: int


def rank_rows(full: RecordedRun, lora: RecordedRun) -> list[RankRow]:
    """Effective ranks of full FT and LoRA on exactly the same modules (full FT's shown set)."""
    full_layers, lora_layers = full.final_layers(), lora.final_layers()
    rows = []
    for projection in PROJECTIONS:
        keys = sorted(
            (k for k in full_layers if k.endswith(f".{projection}") and k in lora_layers), key=_block_of
        )
        if not keys:
            continue
        rows.append(
            RankRow(
                projection=projection,
                blocks=[_block_of(k) for k in keys],
                size=full_layers[keys[0]].get("num_values") or len(full_layers[keys[0]]["singular_values"]),
                full_effective=[full_layers[k]["effective_rank"] for k in keys],
                full_entropy=[full_layers[k]["entropy_rank"] for k in keys],
                full_rank_energy=[full_layers[k].get("rank_energy") or 0.0 for k in keys],
                lora_effective=[lora_layers[k]["effective_rank"] for k in keys],
                lora_rank=lora.config["rank"],
            )
        )
    return rows


def _block_of(key: str) -> int:
    match = re.search(r"\.(\d+)\.", key)
    return int(match.group(1)) if match else -1


# --------------------------------------------------------------------------- claims about the runs

# A sentence about the lab's own runs; only these must agree with the recordings (a paper's settings
# and the calculator's worked examples are other numbers).
ABOUT_RUNS = re.compile(
    r"\brecorded\b|\bthis lab\b|\bthe lab's\b|\bthese runs\b|\bour runs?\b", re.IGNORECASE
)
SETTING_PATTERNS = {
    "rank": re.compile(r"(?<![/√·])\b(?:rank|r)\s*(?:=|of)?\s*(\d+)\b"),  # not the scale α/r = 2
    "num_virtual_tokens": re.compile(r"\b(\d+)\s+virtual tokens\b"),
    "steps": re.compile(r"\b(\d+)\s+(?:optimi[sz]er |training )?steps\b"),
    "batch_size": re.compile(r"\bbatch(?: size)?(?: of)?\s+(\d+)\b"),
    "lr": re.compile(r"\b(?:learning rate|lr)(?: of)?\s*=?\s*(\d+(?:\.\d+)?(?:e-?\d+)?)\b", re.IGNORECASE),
    "alpha": re.compile(r"\b(?:α|alpha)\s*=\s*(\d+(?:\.\d+)?)\b"),
}
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z*(])|\n\s*\n|\n(?=\s*[-|#*\d])")


def recorded_settings(runs: dict[str, RecordedRun]) -> dict[str, set[float]]:
    """Every value each run setting takes in the recordings."""
    values: dict[str, set[float]] = {key: set() for key in SETTING_PATTERNS}
    for run in runs.values():
        for key in values:
            if run.config.get(key) is not None:
                values[key].add(float(run.config[key]))
    return values


def unsupported_settings(text: str, runs: dict[str, RecordedRun]) -> list[str]:
    """Statements in sentences about the lab's runs whose setting value no recorded run has."""
    allowed = recorded_settings(runs)
    problems = []
    for sentence in SENTENCE.split(text):
        if not ABOUT_RUNS.search(sentence):
            continue
        for key, pattern in SETTING_PATTERNS.items():
            for match in pattern.finditer(sentence):
                value = float(match.group(1))
                if not any(math.isclose(value, v, rel_tol=1e-9) for v in allowed[key]):
                    problems.append(f"{key} {match.group(1)} in: {' '.join(sentence.split())[:160]}")
    return problems
