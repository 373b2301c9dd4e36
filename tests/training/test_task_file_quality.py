"""Valid files are read as written (raw U+2028/U+0085 in a JSONL string), and doubtful ones are
refused naming the line: repeated CSV columns, lone surrogates that would crash the tokenizer."""

from __future__ import annotations

import json

import pytest

from app.training.tasks import ChatExample, TaskFileError, parse_task_file


def _jsonl(rows: list[dict]) -> bytes:
    # ensure_ascii=False writes U+2028 and U+0085 raw, as many editors and tools do
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


@pytest.mark.parametrize("separator", ["\u2028", "\u0085", "\u2029", "\x0b", "\x1c"])
def test_raw_line_separators_inside_jsonl_strings_are_text(separator: str) -> None:
    rows = [{"prompt": f"first{separator}second {i}", "answer": f"a{i}"} for i in range(12)]
    examples = parse_task_file(_jsonl(rows), "t.jsonl")
    assert len(examples) == 12
    assert examples[0] == ChatExample(f"first{separator}second 0", "a0")


def test_crlf_jsonl_still_reads() -> None:
    data = _jsonl([{"prompt": f"q{i}", "answer": f"a{i}"} for i in range(12)]).replace(b"\n", b"\r\n")
    assert len(parse_task_file(data, "t.jsonl")) == 12


def test_a_csv_header_naming_a_column_twice_is_refused() -> None:
    data = "prompt,answer,prompt\n" + "".join(f"q{i},a{i},p{i}\n" for i in range(12))
    with pytest.raises(TaskFileError) as caught:
        parse_task_file(data.encode(), "t.csv")
    assert caught.value.line == 1 and "'prompt' more than once" in str(caught.value)


@pytest.mark.parametrize("field", ["prompt", "answer"])
def test_lone_surrogates_are_refused_naming_the_line_and_field(field: str) -> None:
    rows = [{"prompt": f"q{i}", "answer": f"a{i}"} for i in range(12)]
    rows[4][field] = "pirate \ud800 talk"
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()  # escaped as \\ud800
    with pytest.raises(TaskFileError) as caught:
        parse_task_file(data, "t.jsonl")
    assert (
        caught.value.line == 5
        and f"field {field!r}" in str(caught.value)
        and "surrogate" in str(caught.value)
    )
