"""Uploaded task files (JSONL or CSV) → validated examples; every error names the line and the problem.

Three kinds of rows: prompt/answer (chat), prompt/chosen/rejected (preference pairs, for DPO) and
text/label (classification); each with an optional ``split``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

# bounds on uploaded task files
MAX_FILE_BYTES = 2_000_000
MIN_EXAMPLES = 10
MAX_EXAMPLES = 5_000
MAX_TEXT_CHARS = 2_000  # a prompt, an answer or a text to classify
MAX_LABEL_CHARS = 50
MAX_LABELS = 20
MIN_PER_LABEL = 2  # one for training, one held out
SPLITS = ("train", "test")

Kind = Literal["chat", "classification", "preference"]


class TaskFileError(ValueError):
    """An uploaded task file is unusable; ``line`` is 1-based (None when it concerns the whole file)."""

    def __init__(self, line: int | None, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line is not None else problem)


@dataclass(frozen=True)
class ChatExample:
    prompt: str
    answer: str
    split: str | None = None


@dataclass(frozen=True)
class LabelledExample:
    text: str
    label: str
    split: str | None = None


@dataclass(frozen=True)
class PreferenceExample:
    """A prompt with a preferred (chosen) and a dispreferred (rejected) answer."""

    prompt: str
    chosen: str
    rejected: str
    split: str | None = None


Example = ChatExample | LabelledExample | PreferenceExample


def parse_task_file(data: bytes, filename: str, max_examples: int | None = MAX_EXAMPLES) -> list[Example]:
    """Examples from a JSONL or CSV file with prompt/answer, prompt/chosen/rejected or text/label fields
    (optional ``split``).

    Raises :class:`TaskFileError` naming the line and the problem.
    """
    if len(data) > MAX_FILE_BYTES:
        raise TaskFileError(None, f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    text = _decode(data)
    suffix = Path(filename).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(text)
    elif suffix == ".csv":
        rows = _csv_rows(text)
    else:
        raise TaskFileError(None, f"unsupported file type {suffix or filename!r}; use .jsonl or .csv")
    examples = _examples(rows, max_examples)
    _check_counts(examples)
    return examples


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TaskFileError(data[: exc.start].count(b"\n") + 1, "not UTF-8 text") from None


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # Lines end at "\n" only: str.splitlines() also splits at U+2028, U+0085 and other characters
    # that JSON allows raw inside a string, which cut valid rows in two.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_constant=_not_a_number)
        except RecursionError:
            raise TaskFileError(number, "bad JSON (nested too deeply)") from None
        except json.JSONDecodeError as exc:
            raise TaskFileError(number, f"bad JSON ({exc.msg})") from None
        except ValueError as exc:  # NaN/Infinity, or an integer over Python's 4300-digit limit
            problem = str(exc) if "JSON number" in str(exc) else "a number has more than 4300 digits"
            raise TaskFileError(number, f"bad JSON ({problem})") from None
        if not isinstance(row, dict):
            raise TaskFileError(number, "each line must be a JSON object")
        yield number, row


def _not_a_number(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        if not reader.fieldnames:
            raise TaskFileError(
                1,
                "the first line must be a header such as 'prompt,answer', 'prompt,chosen,rejected' "
                "or 'text,label'",
            )
        names = [name.strip() for name in reader.fieldnames]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise TaskFileError(1, f"the header names column {repeated[0]!r} more than once")
        for row in reader:
            if not any((v or "").strip() for k, v in row.items() if k is not None):
                continue
            yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}
    except csv.Error as exc:
        # line_num still points at the last good record; the bad one starts on the next line
        raise TaskFileError(reader.line_num + 1, f"bad CSV ({exc})") from None


def _examples(rows: Iterator[tuple[int, dict[str, Any]]], max_examples: int | None) -> list[Example]:
    examples: list[Example] = []
    kind: Kind | None = None
    for number, row in rows:
        if kind is None:
            kind = _row_kind(number, row)
        if max_examples is not None and len(examples) >= max_examples:
            raise TaskFileError(number, f"more than {max_examples} examples")
        examples.append(_example(number, row, kind))
    return examples


def _row_kind(number: int, row: dict[str, Any]) -> Kind:
    if "chosen" in row or "rejected" in row:
        return "preference"
    if "prompt" in row or "answer" in row:
        return "chat"
    if "text" in row or "label" in row:
        return "classification"
    raise TaskFileError(
        number,
        "expected fields 'prompt' and 'answer' (chat), 'prompt', 'chosen' and 'rejected' (preference) "
        "or 'text' and 'label' (classification)",
    )


def _example(number: int, row: dict[str, Any], kind: Kind) -> Example:
    split = row.get("split")
    if split is not None and split not in SPLITS:
        raise TaskFileError(number, f"split must be 'train' or 'test', not {split!r}")
    if kind == "chat":
        prompt = _field(number, row, "prompt", MAX_TEXT_CHARS)
        return ChatExample(prompt, _field(number, row, "answer", MAX_TEXT_CHARS), split)
    if kind == "preference":
        prompt = _field(number, row, "prompt", MAX_TEXT_CHARS)
        chosen = _field(number, row, "chosen", MAX_TEXT_CHARS)
        rejected = _field(number, row, "rejected", MAX_TEXT_CHARS)
        if chosen == rejected:
            raise TaskFileError(number, "'chosen' and 'rejected' are the same text; a pair needs two answers")
        return PreferenceExample(prompt, chosen, rejected, split)
    text = _field(number, row, "text", MAX_TEXT_CHARS)
    return LabelledExample(text, _field(number, row, "label", MAX_LABEL_CHARS), split)


def _field(number: int, row: dict[str, Any], key: str, limit: int) -> str:
    if key not in row or row[key] is None:
        raise TaskFileError(number, f"missing field {key!r}")
    value = row[key]
    if key == "label" and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # numeric class ids are fine as labels
    if not isinstance(value, str):
        raise TaskFileError(number, f"field {key!r} must be text, not {type(value).__name__}")
    value = value.strip()
    if not value:
        raise TaskFileError(number, f"field {key!r} is empty")
    if not is_valid_unicode(value):
        raise TaskFileError(number, f"field {key!r} contains a lone UTF-16 surrogate (not valid Unicode)")
    if len(value) > limit:
        raise TaskFileError(number, f"field {key!r} has {len(value)} characters; the limit is {limit}")
    return value


def is_valid_unicode(text: str) -> bool:
    """False for text with a lone surrogate (JSON's "\\ud800"): no tokenizer or database takes it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_counts(examples: list[Example]) -> None:
    if len(examples) < MIN_EXAMPLES:
        raise TaskFileError(None, f"{len(examples)} examples; at least {MIN_EXAMPLES} are needed")
    if any(e.split is not None for e in examples) and any(e.split is None for e in examples):
        first = next(i for i, e in enumerate(examples) if e.split is None)
        raise TaskFileError(
            None, f"example {first + 1} has no split; give a split to every example or to none"
        )
    splits = {e.split for e in examples}
    if None not in splits and splits != set(SPLITS):
        raise TaskFileError(None, "with split fields, at least one example must be 'train' and one 'test'")
    labelled = [e for e in examples if isinstance(e, LabelledExample)]
    if not labelled:
        return
    counts: dict[str, int] = {}
    for e in labelled:
        counts[e.label] = counts.get(e.label, 0) + 1
    if len(counts) > MAX_LABELS:
        raise TaskFileError(None, f"{len(counts)} different labels; the limit is {MAX_LABELS}")
    if len(counts) < 2:
        raise TaskFileError(None, "classification needs at least 2 different labels")
    rare = sorted(label for label, n in counts.items() if n < MIN_PER_LABEL)
    if rare:
        raise TaskFileError(None, f"label {rare[0]!r} has fewer than {MIN_PER_LABEL} examples")
