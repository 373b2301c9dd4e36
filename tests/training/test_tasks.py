"""Tasks: the built-in data files, the Task object, metrics, batching and the upload parser."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from app.training import tasks as tasks_module
from app.training.tasks import (
    MAX_EXAMPLES,
    MAX_FILE_BYTES,
    MAX_LABELS,
    MAX_TEXT_CHARS,
    MIN_EXAMPLES,
    ChatExample,
    LabelledExample,
    PreferenceExample,
    Task,
    TaskFileError,
    UnknownTaskError,
    batches,
    builtin_task_names,
    chunks,
    load_builtin_task,
    parse_task_file,
)

MINIMUM_SIZE = {"tone": 150, "tone-preference": 150, "json-extract": 150, "sentiment": 300}


# --------------------------------------------------------------------------- built-in data


def _raw_rows(name: str) -> list[dict]:
    entry = next(e for e in tasks_module._manifest().values() if e["name"] == name)
    text = (tasks_module.TASK_DIR / entry["file"]).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_builtin_names() -> None:
    assert builtin_task_names() == ["tone", "tone-preference", "json-extract", "sentiment"]


def _input(example: object) -> str:
    return example.text if isinstance(example, LabelledExample) else example.prompt  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["tone", "tone-preference", "json-extract", "sentiment"])
def test_builtin_file_parses_with_fixed_split_and_no_duplicates(name: str) -> None:
    rows = _raw_rows(name)
    assert len(rows) >= MINIMUM_SIZE[name]
    assert all(row.get("split") in ("train", "test") for row in rows), "every line carries its split"
    inputs = [row.get("prompt", row.get("text")) for row in rows]
    duplicates = [text for text, n in Counter(inputs).items() if n > 1]
    assert not duplicates
    test_share = sum(row["split"] == "test" for row in rows) / len(rows)
    assert 0.15 <= test_share <= 0.25

    task = load_builtin_task(name)
    assert task.builtin and task.description
    assert len(task.train) + len(task.test) == len(rows)
    # the before/after sample prompts are held out, never trained on
    held_out = {_input(e) for e in task.test}
    trained = {_input(e) for e in task.train}
    assert 2 <= len(task.sample_prompts) <= 3
    assert set(task.sample_prompts) <= held_out
    assert not set(task.sample_prompts) & trained


def test_tone_preference_pairs_the_tone_answers_with_voiceless_ones() -> None:
    """chosen = the tone task's pirate answer to the same prompt (same split); rejected has no voice."""
    pairs, tone = load_builtin_task("tone-preference"), load_builtin_task("tone")
    assert pairs.kind == "preference" and pairs.metric_name == "preference_accuracy"
    answers = {(e.prompt, e.split): e.answer for e in tone.train + tone.test}
    examples = [e for e in pairs.train + pairs.test if isinstance(e, PreferenceExample)]
    assert len(examples) == len(answers) >= 150
    assert all(answers[(e.prompt, e.split)] == e.chosen for e in examples)
    voice = tone.metric  # share of replies with a pirate marker word
    assert voice([e.chosen for e in examples], [""] * len(examples)) == 1.0
    assert voice([e.rejected for e in examples], [""] * len(examples)) == 0.0
    plain = sum(e.rejected in e.chosen for e in examples) / len(
        examples
    )  # the answer without greeting/sign-off
    assert 0.5 < plain < 0.85  # the rest are brush-offs


def test_tone_answers_share_the_voice_and_stay_short() -> None:
    task = load_builtin_task("tone")
    answers = [e.answer for e in task.train + task.test]
    assert task.metric(answers, answers) == 1.0  # every answer uses a marker word
    assert all(a.endswith("Fair winds!") for a in answers)
    assert max(len(a.split()) for a in answers) <= 30  # ~40 tokens: fits a small seq_len on a CPU


def test_json_extract_answers_are_records_with_fixed_keys() -> None:
    task = load_builtin_task("json-extract")
    assert task.metric_name == "json_exact"
    for example in task.train + task.test:
        record = json.loads(example.answer)
        assert list(record) == ["name", "age", "city"]
        assert isinstance(record["age"], int) and str(record["age"]) in example.prompt
        assert record["name"] in example.prompt and record["city"] in example.prompt


def test_sentiment_is_balanced_and_held_out_texts_are_new() -> None:
    task = load_builtin_task("sentiment")
    assert task.kind == "classification" and task.labels == ("negative", "positive")
    for split in (task.train, task.test):
        counts = Counter(e.label for e in split)
        assert counts["positive"] == counts["negative"]
    assert not {e.text for e in task.test} & {e.text for e in task.train}


def test_load_builtin_task_is_cached_and_unknown_names_list_the_valid_ones() -> None:
    assert load_builtin_task("tone") is load_builtin_task("tone")
    with pytest.raises(UnknownTaskError) as info:
        load_builtin_task("poetry")
    assert "tone" in str(info.value) and "sentiment" in str(info.value)
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- Task, metrics, batches


def _chat(n: int, split: str | None = None) -> list[ChatExample]:
    return [ChatExample(f"question {i}?", f"answer {i}", split) for i in range(n)]


def _labelled(n_per_label: int, labels: tuple[str, ...] = ("good", "bad")) -> list[LabelledExample]:
    return [LabelledExample(f"{label} text {i}", label) for label in labels for i in range(n_per_label)]


def test_from_examples_draws_a_fixed_stratified_split() -> None:
    examples = _labelled(10) + _labelled(5, ("meh",))
    task = Task.from_examples("upload", examples, test_fraction=0.2, seed=3)
    assert task.kind == "classification" and task.labels == ("bad", "good", "meh")
    assert Counter(e.label for e in task.test) == {"good": 2, "bad": 2, "meh": 1}
    assert Task.from_examples("upload", examples, seed=3).test == task.test
    assert Task.from_examples("upload", examples, seed=4).test != task.test
    assert task.sample_prompts == tuple(e.text for e in task.test[:2])


def test_from_examples_keeps_given_splits_and_picks_metrics() -> None:
    examples = _chat(8, "train") + [ChatExample("q", "a", "test")]
    task = Task.from_examples("mine", examples)
    assert [e.prompt for e in task.test] == ["q"] and len(task.train) == 8
    assert task.metric_name == "exact_match"
    json_examples = [ChatExample(f"p{i}", json.dumps({"x": i})) for i in range(10)]
    assert Task.from_examples("j", json_examples).metric_name == "json_exact"
    with pytest.raises(ValueError, match="split"):
        Task.from_examples("mixed", _chat(5, "train") + _chat(5))


def test_metrics() -> None:
    json_task = load_builtin_task("json-extract")
    reference = '{"name": "Ana Lopez", "age": 34, "city": "Lisbon"}'
    reordered = '{"city": "Lisbon", "age": 34, "name": "Ana Lopez"}'
    wrong_age = '{"name": "Ana Lopez", "age": 35, "city": "Lisbon"}'
    truncated = '{"name": "Ana Lopez", "age": 34, "ci'
    assert json_task.metric([reordered, wrong_age, truncated, "not json"], [reference] * 4) == 0.25

    sentiment = load_builtin_task("sentiment")
    assert (
        sentiment.metric(["positive", "Negative ", "positive"], ["positive", "negative", "negative"]) == 2 / 3
    )

    tone = load_builtin_task("tone")
    replies = ["Arr, matey! Boil water.", "Boil water and steep the leaves.", "AHOY there!", "Sharp knives."]
    assert tone.metric(replies, replies) == 0.5  # "sharp" must not count as "arr"


def test_batches_are_deterministic_and_cover_each_epoch() -> None:
    examples = _chat(10)
    first = [batch for batch, _ in zip(batches(examples, 4, seed=7), range(5), strict=False)]
    again = [batch for batch, _ in zip(batches(examples, 4, seed=7), range(5), strict=False)]
    other = [batch for batch, _ in zip(batches(examples, 4, seed=8), range(5), strict=False)]
    assert first == again and first != other
    assert all(len(batch) == 4 for batch in first)
    flat = [e for batch in first for e in batch]
    assert sorted(flat[:10], key=lambda e: e.prompt) == sorted(examples, key=lambda e: e.prompt)
    assert [len(c) for c in chunks(examples, 4)] == [4, 4, 2]


# --------------------------------------------------------------------------- the upload parser


def _jsonl(rows: list[dict]) -> bytes:
    return "\n".join(json.dumps(row) for row in rows).encode()


def _chat_rows(n: int) -> list[dict]:
    return [{"prompt": f"question {i}", "answer": f"answer {i}"} for i in range(n)]


def test_parse_jsonl_and_csv() -> None:
    examples = parse_task_file(_jsonl(_chat_rows(12)) + b"\n\n", "data.jsonl")
    assert examples[3] == ChatExample("question 3", "answer 3")
    csv_text = "text,label,split\n" + "".join(
        f'"Great, really {i}",positive,{"test" if i % 5 == 0 else "train"}\n"Awful, {i}",negative,train\n'
        for i in range(6)
    )
    labelled = parse_task_file(csv_text.encode("utf-8-sig"), "reviews.CSV")
    assert labelled[0] == LabelledExample("Great, really 0", "positive", "test")
    assert len(labelled) == 12
    numeric = parse_task_file(_jsonl([{"text": f"t{i}", "label": i % 2} for i in range(10)]), "n.jsonl")
    assert {e.label for e in numeric} == {"0", "1"}


_MANY_LABELS = [{"text": f"t{i}", "label": f"l{i % (MAX_LABELS + 1)}"} for i in range(2 * MAX_LABELS + 2)]
_RARE_LABEL = [{"text": f"t{i}", "label": "a"} for i in range(11)] + [{"text": "x", "label": "b"}]


def _error(data: bytes, filename: str = "data.jsonl") -> TaskFileError:
    with pytest.raises(TaskFileError) as info:
        parse_task_file(data, filename)
    return info.value


@pytest.mark.parametrize(
    ("data", "line", "problem"),
    [
        (_jsonl(_chat_rows(3)) + b'\n{"prompt": "x", "answer": }', 4, "bad JSON"),
        (_jsonl(_chat_rows(3)) + b'\n["prompt", "answer"]', 4, "JSON object"),
        (_jsonl(_chat_rows(5) + [{"prompt": "only a prompt"}]), 6, "missing field 'answer'"),
        (_jsonl([{"question": "q", "reply": "r"}]), 1, "expected fields"),
        (_jsonl(_chat_rows(2) + [{"prompt": "   ", "answer": "a"}]), 3, "'prompt' is empty"),
        (_jsonl(_chat_rows(2) + [{"prompt": "p", "answer": 42}]), 3, "must be text"),
        (_jsonl(_chat_rows(2) + [{"prompt": "x" * (MAX_TEXT_CHARS + 1), "answer": "a"}]), 3, "the limit is"),
        (_jsonl(_chat_rows(11) + [{"prompt": "p", "answer": "a", "split": "dev"}]), 12, "split must be"),
        (b"ok line\n" + b"\xff\xfe broken", 2, "not UTF-8"),
        (_jsonl(_chat_rows(MIN_EXAMPLES - 1)), None, f"at least {MIN_EXAMPLES}"),
        (_jsonl(_chat_rows(MAX_EXAMPLES + 1)), MAX_EXAMPLES + 1, f"more than {MAX_EXAMPLES}"),
        (_jsonl(_MANY_LABELS), None, f"the limit is {MAX_LABELS}"),
        (_jsonl([{"text": f"t{i}", "label": "same"} for i in range(12)]), None, "at least 2 different"),
        (_jsonl(_RARE_LABEL), None, "label 'b' has fewer than"),
        (_jsonl([dict(r, split="train") for r in _chat_rows(12)]), None, "one 'test'"),
        (_jsonl([dict(r, split="test") for r in _chat_rows(6)] + _chat_rows(6)), None, "no split"),
    ],
    ids=[
        "bad-json", "not-object", "missing-field", "unknown-fields", "empty", "not-text", "too-long",
        "bad-split", "not-utf8", "too-few", "too-many", "too-many-labels", "one-label", "rare-label",
        "no-test-split", "partial-split",
    ],
)  # fmt: skip
def test_parse_errors_name_the_line_and_problem(data: bytes, line: int | None, problem: str) -> None:
    error = _error(data)
    assert error.line == line
    assert problem in error.problem
    if line is not None:
        assert str(error).startswith(f"line {line}: ")


def _pair_rows(n: int) -> list[dict]:
    return [
        {"prompt": f"question {i}", "chosen": f"good answer {i}", "rejected": f"bad {i}"} for i in range(n)
    ]


def test_preference_files_parse_to_preference_tasks() -> None:
    examples = parse_task_file(_jsonl(_pair_rows(12)), "pairs.jsonl")
    assert examples[2] == PreferenceExample("question 2", "good answer 2", "bad 2")
    csv_text = "prompt,chosen,rejected\n" + "".join(f"q{i},yes {i},no {i}\n" for i in range(10))
    assert parse_task_file(csv_text.encode(), "pairs.csv")[9] == PreferenceExample("q9", "yes 9", "no 9")
    task = Task.from_examples("pairs", examples)
    assert task.kind == "preference" and task.metric_name == "preference_accuracy"
    assert task.metric(["chosen", "rejected"], ["chosen", "chosen"]) == 0.5
    assert task.sample_prompts == tuple(e.prompt for e in task.test[:2])
    assert task.info()["kind"] == "preference"
    with pytest.raises(ValueError, match="mixes kinds"):
        Task.from_examples("mixed", examples + _chat(3))


@pytest.mark.parametrize(
    ("rows", "line", "problem"),
    [
        (_pair_rows(3) + [{"prompt": "p", "chosen": "c"}], 4, "missing field 'rejected'"),
        (_pair_rows(3) + [{"prompt": "p", "chosen": "same", "rejected": "same"}], 4, "the same text"),
        ([{"chosen": "c", "rejected": "r"}], 1, "missing field 'prompt'"),
        (_pair_rows(3) + [{"prompt": "p", "answer": "a"}], 4, "missing field 'chosen'"),
    ],
)
def test_preference_parse_errors_name_the_line(rows: list[dict], line: int, problem: str) -> None:
    error = _error(_jsonl(rows))
    assert (error.line, problem in error.problem) == (line, True), error


def test_parse_errors_for_csv_and_files() -> None:
    missing_column = _error(b"prompt,reply\n" + b"q,a\n" * 12, "x.csv")
    assert (missing_column.line, missing_column.problem) == (2, "missing field 'answer'")
    assert _error(b"", "x.csv").line == 1
    unterminated = _error(b'text,label\nfine,positive\n"unterminated,positive\n', "x.csv")
    assert (unterminated.line, unterminated.problem) == (3, "bad CSV (unexpected end of data)")
    stray_quote = _error(b'text,label\nok,positive\n"a"b",positive\n', "x.csv")
    assert stray_quote.line == 3 and stray_quote.problem.startswith("bad CSV")
    assert "use .jsonl or .csv" in _error(b"{}", "data.txt").problem
    assert str(MAX_FILE_BYTES) in _error(b" " * (MAX_FILE_BYTES + 1)).problem
