"""Tasks: built-in data sets and uploaded files, validated, split, batched and scored.

A task is ``chat`` (prompt → answer, trained on the answer tokens only), ``classification``
(text → one of a few labels) or ``preference`` (prompt → a chosen and a rejected answer, for DPO).
Built-in tasks live in
``lessons/fine-tuning-llms/tasks/`` (``tasks.yaml`` + one JSONL per task, each line with a fixed
``split``). Uploads (JSONL or CSV) go through :func:`parse_task_file`, whose errors name the line.
File parsing lives in :mod:`app.training.task_files`, tokenisation in
:mod:`app.training.task_encoding`; both are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from app.training.task_encoding import (  # noqa: F401  (re-exported for the loop)
    IGNORE_INDEX,
    ChatEncoding,
    chat_batch,
    classification_batch,
    collate_chat,
    encode_chat,
    end_of_turn_id,
    pad_id_of,
    prompt_text,
)
from app.training.task_files import (  # noqa: F401  (re-exported: one import for callers)
    MAX_EXAMPLES,
    MAX_FILE_BYTES,
    MAX_LABEL_CHARS,
    MAX_LABELS,
    MAX_TEXT_CHARS,
    MIN_EXAMPLES,
    MIN_PER_LABEL,
    ChatExample,
    Example,
    Kind,
    LabelledExample,
    PreferenceExample,
    TaskFileError,
    parse_task_file,
)
from app.training.text_quality import is_degenerate

TASK_DIR = Path(__file__).resolve().parents[2] / "lessons" / "fine-tuning-llms" / "tasks"

MAX_NAME_CHARS = 80


class UnknownTaskError(ValueError):
    def __init__(self, name: str, valid: Sequence[str]) -> None:
        self.name = name
        self.valid = list(valid)
        super().__init__(f"unknown task {name!r}; valid tasks: {', '.join(valid)}")


# --------------------------------------------------------------------------- metrics


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def accuracy(predictions: Sequence[str], references: Sequence[str]) -> float:
    return _mean(_norm(p) == _norm(r) for p, r in zip(predictions, references, strict=True))


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Same text after collapsing whitespace and case."""
    return accuracy(predictions, references)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text.strip())
    except ValueError:
        return _UNPARSABLE


_UNPARSABLE = object()


def json_exact(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Parsed JSON equal to the reference (key order and spacing do not matter; unparsable = wrong)."""
    return _mean(
        (p := _parse_json(pred)) is not _UNPARSABLE and p == json.loads(ref)
        for pred, ref in zip(predictions, references, strict=True)
    )


def voice(predictions: Sequence[str], references: Sequence[str], markers: Sequence[str] = ()) -> float:
    """Share of replies that use the voice: at least one marker word (whole word, any case), counted
    only on replies that are not degenerate (a reply looping on "Fair winds!" scores 0, see text_quality)."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(m) for m in markers) + r")\b", re.IGNORECASE)
    return _mean(bool(pattern.search(p)) and not is_degenerate(p) for p in predictions) if markers else 0.0


def _mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


METRICS: dict[str, Callable[..., float]] = {
    "accuracy": accuracy,
    "exact_match": exact_match,
    "json_exact": json_exact,
    "voice": voice,
    # pairs where the tuned model prefers the chosen answer ("chosen"/"rejected" as labels); the DPO
    # run reads it from trl's implicit rewards, ties counting as wrong
    "preference_accuracy": accuracy,
}


# --------------------------------------------------------------------------- the task


@dataclass(frozen=True)
class Task:
    name: str
    kind: Kind
    train: tuple[Example, ...]
    test: tuple[Example, ...]
    labels: tuple[str, ...] = ()  # classification: the label names, in class-index order
    metric_name: str = "exact_match"
    description: str = ""
    sample_prompts: tuple[str, ...] = ()
    metric_args: dict[str, Any] = field(default_factory=dict)
    builtin: bool = False

    def metric(self, predictions: Sequence[str], references: Sequence[str]) -> float:
        """Score model outputs (generated text, or predicted label names) against references."""
        return METRICS[self.metric_name](predictions, references, **self.metric_args)

    def digest(self) -> str:
        """A content hash of everything a run reads from the task (examples, splits, labels, metric):
        a job stores it at submission, and its worker refuses a task that has changed since."""
        content = (self.kind, self.train, self.test, self.labels, self.metric_name, self.metric_args)
        return hashlib.sha256(repr(content).encode()).hexdigest()

    def info(self) -> dict[str, Any]:
        """What GET /api/tasks shows."""
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "metric": self.metric_name,
            "labels": list(self.labels),
            "train_size": len(self.train),
            "test_size": len(self.test),
            "sample_prompts": list(self.sample_prompts),
            "builtin": self.builtin,
        }

    @classmethod
    def from_examples(
        cls,
        name: str,
        examples: Sequence[Example],
        test_fraction: float = 0.2,
        seed: int = 0,
        description: str = "",
        sample_prompts: Sequence[str] | None = None,
        metric_name: str | None = None,
        metric_args: dict[str, Any] | None = None,
        builtin: bool = False,
    ) -> Task:
        """A task from examples; their ``split`` fields are kept, else a fixed seeded split is drawn."""
        if not name or len(name) > MAX_NAME_CHARS:
            raise ValueError(f"a task name has 1 to {MAX_NAME_CHARS} characters")
        _check_examples(examples)
        kind = kind_of(examples[0])
        train, test = _split(examples, test_fraction, seed)
        labels = tuple(sorted({e.label for e in examples})) if kind == "classification" else ()
        if metric_name is None:
            metric_name = _default_metric(kind, examples)
        if metric_name not in METRICS:
            raise ValueError(f"unknown metric {metric_name!r}; valid: {', '.join(METRICS)}")
        if sample_prompts is None:
            sample_prompts = [_input_text(e) for e in test[:2]]
        return cls(
            name=name,
            kind=kind,
            train=tuple(train),
            test=tuple(test),
            labels=labels,
            metric_name=metric_name,
            description=description,
            sample_prompts=tuple(sample_prompts),
            metric_args=dict(metric_args or {}),
            builtin=builtin,
        )


def kind_of(example: Example) -> Kind:
    if isinstance(example, ChatExample):
        return "chat"
    return "preference" if isinstance(example, PreferenceExample) else "classification"


def _input_text(example: Example) -> str:
    return example.text if isinstance(example, LabelledExample) else example.prompt


def _default_metric(kind: Kind, examples: Sequence[Example]) -> str:
    if kind == "classification":
        return "accuracy"
    if kind == "preference":
        return "preference_accuracy"
    answers = [_parse_json(e.answer) for e in examples if isinstance(e, ChatExample)]
    return "json_exact" if all(isinstance(a, dict | list) for a in answers) else "exact_match"


def _check_examples(examples: Sequence[Example]) -> None:
    if not examples:
        raise ValueError("a task needs examples")
    if len({type(e) for e in examples}) > 1:
        raise ValueError("a task mixes kinds of examples (chat, preference, classification)")
    marked = sum(e.split is not None for e in examples)
    if marked not in (0, len(examples)):
        raise ValueError("give a split to every example or to none")


def _split(
    examples: Sequence[Example], test_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    if examples[0].split is not None:
        train = [e for e in examples if e.split == "train"]
        test = [e for e in examples if e.split == "test"]
    else:
        # stratified per label (classification) so both halves see every class
        groups: dict[str, list[Example]] = {}
        for e in examples:
            groups.setdefault(e.label if isinstance(e, LabelledExample) else "", []).append(e)
        rng = random.Random(seed)
        train, test = [], []
        for key in sorted(groups):
            group = groups[key][:]
            rng.shuffle(group)
            n_test = min(len(group) - 1, max(1, round(test_fraction * len(group))))
            test += group[:n_test]
            train += group[n_test:]
    if not train or not test:
        raise ValueError("a task needs at least one training and one held-out example")
    return train, test


# --------------------------------------------------------------------------- batching


def batches(examples: Sequence[Example], batch_size: int, seed: int) -> Iterator[list[Example]]:
    """Endless training batches; each epoch is a fresh permutation drawn from ``seed``."""
    if not examples:
        raise ValueError("no examples to batch")
    rng = random.Random(seed)
    pool: list[Example] = []
    while True:
        if len(pool) < batch_size:
            epoch = list(examples)
            rng.shuffle(epoch)
            pool += epoch
        yield pool[:batch_size]
        pool = pool[batch_size:]


def chunks(examples: Sequence[Example], batch_size: int) -> Iterator[list[Example]]:
    """Evaluation batches, in order, each example once."""
    for start in range(0, len(examples), batch_size):
        yield list(examples[start : start + batch_size])


# --------------------------------------------------------------------------- built-in tasks


@cache
def _manifest() -> dict[str, dict[str, Any]]:
    with open(TASK_DIR / "tasks.yaml", encoding="utf-8") as fh:
        entries = yaml.safe_load(fh)["tasks"]
    return {entry["name"]: entry for entry in entries}


def builtin_task_names() -> list[str]:
    return list(_manifest())


@cache
def load_builtin_task(name: str) -> Task:
    """A built-in task (cached; Task is frozen so sharing it is safe)."""
    manifest = _manifest()
    if name not in manifest:
        raise UnknownTaskError(name, list(manifest))
    entry = manifest[name]
    examples = parse_task_file((TASK_DIR / entry["file"]).read_bytes(), entry["file"], max_examples=None)
    task = Task.from_examples(
        name,
        examples,
        description=entry.get("description", ""),
        sample_prompts=entry.get("sample_prompts"),
        metric_name=entry.get("metric"),
        metric_args=entry.get("metric_args"),
        builtin=True,
    )
    if task.kind != entry["kind"]:
        raise ValueError(f"task {name}: tasks.yaml says {entry['kind']}, the data is {task.kind}")
    return task
