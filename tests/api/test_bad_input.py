"""Input that Python's json accepts but JSON does not, or that overflows the database, is a 422
naming the field (or the file's line), never a 500; and the server keeps serving."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from app.api.bad_input import validation_error_handler

JSON = {"content-type": "application/json"}


def _raw_post(client: TestClient, path: str, body: bytes):  # noqa: ANN202
    return client.post(path, content=body, headers=JSON)


def test_events_after_beyond_a_database_integer_is_a_422(client: TestClient) -> None:
    response = client.get("/api/jobs/abc/events", params={"after": 2**63})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "after"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/jobs", b'{"model": "tiny-llama", "lr": NaN}', "lr"),
        ("/api/jobs", b'{"model": "tiny-llama", "alpha": -Infinity}', "alpha"),
        ("/api/auth/login", b'{"token": NaN}', "token"),
        ("/api/classes/ABCDEF/join", b'{"nickname": Infinity}', "nickname"),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_field(
    client: TestClient, path: str, body: bytes, field: str
) -> None:
    response = _raw_post(client, path, body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert "not a JSON number" in error["msg"]


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/api/jobs", b'{"model": "\\ud800"}', ["body", "model"]),
        ("/api/jobs", b'{"target_modules": ["q_proj", "\\udfff"]}', ["body", "target_modules", 1]),
        ("/api/auth/login", b'{"token": "abc\\ud800"}', ["body", "token"]),
        ("/api/classes/ABCDEF/join", b'{"nickname": "\\ud83d"}', ["body", "nickname"]),
        ("/api/jobs/abc/generate", b'{"prompt": "hi \\udc00"}', ["body", "prompt"]),
        ("/api/lessons/fine-tuning-llms/quiz/answers", b'{"answers": {"\\ud800": "a"}}', ["body", "answers"]),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(
    client: TestClient, path: str, body: bytes, loc: list
) -> None:
    response = _raw_post(client, path, body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == loc and "surrogate" in error["msg"]


def test_a_valid_surrogate_pair_is_fine(client: TestClient) -> None:
    response = _raw_post(client, "/api/auth/login", b'{"token": "\\ud83d\\ude00"}')  # an emoji
    assert response.status_code == 403  # a wrong token, not a refused body


def test_deep_nesting_and_huge_integers_in_a_body(client: TestClient) -> None:
    deep = _raw_post(client, "/api/jobs", b"[" * 30_000 + b"]" * 30_000)  # under the JSON body limit
    assert deep.status_code == 422 and "deeper than" in deep.json()["detail"][0]["msg"]
    huge = _raw_post(client, "/api/jobs", b'{"steps": ' + b"7" * 5000 + b"}")
    assert huge.status_code == 422 and "4300 digits" in huge.json()["detail"][0]["msg"]
    assert client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b', "answer": "a"}', "nested too deeply"),
        (b'{"prompt": ' + b"1" * 5000 + b', "answer": "a"}', "more than 4300 digits"),
        (b'{"prompt": NaN, "answer": "a"}', "NaN is not a JSON number"),
    ],
)
def test_jsonl_uploads_that_break_the_parser_name_the_line(
    client: TestClient, line: bytes, words: str
) -> None:
    good = b"".join(json.dumps({"prompt": f"q{i}", "answer": f"a{i}"}).encode() + b"\n" for i in range(12))
    response = client.post("/api/tasks", files={"file": ("t.jsonl", good + line)}, data={"name": "deep"})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["ctx"]["line"] == 13 and words in error["msg"]


def test_the_422_handler_can_echo_any_input() -> None:
    error = {"type": "value_error", "loc": ("body", "x"), "msg": "bad", "input": [float("nan"), "a\ud800"]}
    response = asyncio.run(validation_error_handler(None, RequestValidationError([error])))  # type: ignore[arg-type]
    assert response.status_code == 422
    assert json.loads(response.body)["detail"][0]["input"] == ["nan", "a\\ud800"]


def _good_jsonl() -> bytes:
    return b"".join(json.dumps({"prompt": f"q{i}", "answer": f"a{i}"}).encode() + b"\n" for i in range(12))


@pytest.mark.parametrize(
    ("length", "status", "words"), [(5000, 400, "file name"), (300, 422, "limit is 200")]
)
def test_a_long_file_name_gets_a_clear_answer(
    client: TestClient, length: int, status: int, words: str
) -> None:
    upload = {"file": ("x" * length + ".jsonl", _good_jsonl())}
    response = client.post("/api/tasks", files=upload, data={"name": "longname"})
    assert response.status_code == status, response.text
    assert words in json.dumps(response.json())


def test_an_uploaded_lone_surrogate_is_refused_before_training(client: TestClient) -> None:
    bad = _good_jsonl() + b'{"prompt": "\\ud800", "answer": "a"}\n'
    response = client.post("/api/tasks", files={"file": ("t.jsonl", bad)}, data={"name": "surrogate"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["ctx"]["line"] == 13 and "surrogate" in error["msg"]
