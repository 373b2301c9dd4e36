"""Uploaded tasks: errors name the line; a valid upload is listed and a job can train on it."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.events import parse_event


def _jsonl(n: int) -> bytes:
    rows = [{"prompt": f"Say hello number {i}", "answer": f"Ahoy {i}!"} for i in range(n)]
    return "\n".join(json.dumps(r) for r in rows).encode()


def _upload(client: TestClient, name: str, filename: str, data: bytes):  # noqa: ANN202
    return client.post("/api/tasks", data={"name": name}, files={"file": (filename, data)})


def test_valid_upload_is_listed_stored_and_trainable(client: TestClient) -> None:
    response = _upload(client, "greetings", "greetings.jsonl", _jsonl(20))
    assert response.status_code == 201, response.text
    task = response.json()
    # an anonymous upload is named for its owner (tests/api/test_upload_gate.py)
    assert task["name"].startswith("greetings~") and task["kind"] == "chat" and task["n_examples"] == 20
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    assert (data_dir / task["path"]).read_bytes() == _jsonl(20)
    names = {t["name"]: t for t in client.get("/api/tasks").json()}
    assert task["name"] in names and "tone" in names and names["tone"]["builtin"]

    job = client.post(
        "/api/jobs", json={"model": "tiny-llama", "method": "lora", "task": "greetings", "steps": 2}
    )
    assert job.status_code == 201, job.text
    with client.websocket_connect(f"/ws/jobs/{job.json()['id']}") as socket:
        events = []
        while not events or not parse_event(events[-1]).terminal:
            events.append(socket.receive_json())
    assert events[-1]["type"] == "done", events[-1]
    assert any(e["type"] == "started" and e.get("task") == task["name"] for e in events)


def test_csv_classification_upload(client: TestClient) -> None:
    lines = ["text,label"] + [
        f"item {i} is {'good' if i % 2 else 'bad'},{'pos' if i % 2 else 'neg'}" for i in range(12)
    ]
    response = _upload(client, "mood", "mood.csv", "\n".join(lines).encode())
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "classification"


def test_a_bad_line_is_named(client: TestClient) -> None:
    data = _jsonl(12).replace(b'{"prompt": "Say hello number 3"', b'{"prompt": "Say hello number 3",,', 1)
    response = _upload(client, "broken", "broken.jsonl", data)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "file"] and error["msg"].startswith("line 4:")
    assert error["ctx"] == {"line": 4}
    assert client.get("/api/tasks").status_code == 200
    assert "broken" not in {t["name"] for t in client.get("/api/tasks").json()}


@pytest.mark.parametrize(
    ("name", "filename", "status", "field", "words"),
    [
        ("../../etc", "a.jsonl", 422, "name", "lower-case letters"),
        ("Has Spaces", "a.jsonl", 422, "name", "lower-case letters"),
        ("tone", "a.jsonl", 409, "name", "already exists"),
        ("okname", "a.exe", 422, "file", "use .jsonl or .csv"),
    ],
)
def test_bad_names_and_types(
    client: TestClient, name: str, filename: str, status: int, field: str, words: str
) -> None:
    response = _upload(client, name, filename, _jsonl(12))
    assert response.status_code == status
    detail = response.json()["detail"]
    text = detail if isinstance(detail, str) else detail[0]["msg"]
    assert words in text
    if isinstance(detail, list):
        assert detail[0]["loc"][-1] == field


def test_too_few_examples_and_too_large(client: TestClient) -> None:
    response = _upload(client, "tiny", "tiny.jsonl", _jsonl(2))
    assert response.status_code == 422 and "10" in response.json()["detail"][0]["msg"]
    limit = client.app.state.settings.max_upload_bytes  # type: ignore[attr-defined]
    response = _upload(client, "huge", "huge.jsonl", b"x" * (limit + 10))
    assert response.status_code == 413 and str(limit) in response.json()["detail"]


def test_duplicate_upload_conflicts(client: TestClient) -> None:
    assert _upload(client, "twice", "t.jsonl", _jsonl(12)).status_code == 201
    assert _upload(client, "twice", "t.jsonl", _jsonl(12)).status_code == 409
