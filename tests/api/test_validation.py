"""Bad input gets a 4xx that names the field and its limit, and the server keeps serving."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TINY_JOB


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("steps", 5000, "less than or equal to 2000"),
        ("steps", 0, "greater than or equal to 1"),
        ("rank", 0, "greater than or equal to 1"),
        ("rank", 1000, "less than or equal to 256"),
        ("lr", -0.1, "greater than 0"),
        ("batch_size", 65, "less than or equal to 64"),
        ("seq_len", 4, "greater than or equal to 16"),
        ("num_virtual_tokens", 100, "less than or equal to 64"),
        ("target_modules", ["q_proj; rm -rf /"], "letters, digits"),
        ("model", "x" * 300, "at most 200 characters"),
        ("surprise", 1, "Extra inputs are not permitted"),
    ],
)
def test_out_of_range_fields_are_named_with_their_limit(
    client: TestClient, field: str, value: object, words: str
) -> None:
    response = client.post("/api/jobs", json={**TINY_JOB, field: value})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [e["loc"][-1] for e in errors] == [field]
    assert words in errors[0]["msg"]


@pytest.mark.parametrize("field", ["steps", "lr", "rank", "max_new_tokens"])
@pytest.mark.parametrize("value", [True, False, "5", "0.01"])
def test_a_number_field_takes_a_json_number_only(client: TestClient, field: str, value: object) -> None:
    """Seen by schemathesis: lax pydantic read ``true`` as 1, so a schema-violating body was accepted."""
    response = client.post("/api/jobs", json={**TINY_JOB, field: value})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"][-1] == field and "must be a JSON number" in error["msg"]


def test_class_limits_take_json_numbers_only(client: TestClient) -> None:
    """The body schemathesis found accepted (201, max_submissions read as 1): now refused, naming it."""
    headers = {"Authorization": "Bearer test-token-0123456789"}
    body = {"title": "t", "lesson": "fine-tuning-llms", "limits": {"max_submissions": True}}
    response = client.post("/api/classes", json=body, headers=headers)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"][-2:] == ["limits", "max_submissions"] and "must be a JSON number" in error["msg"]
    body["limits"] = {"max_submissions": 2, "window_s": 60.0}  # an integral float is a JSON Schema integer
    assert client.post("/api/classes", json=body, headers=headers).status_code == 201


def test_several_bad_fields_are_all_named(client: TestClient) -> None:
    response = client.post("/api/jobs", json={**TINY_JOB, "steps": 0, "rank": 999, "alpha": -1})
    assert response.status_code == 422
    assert {e["loc"][-1] for e in response.json()["detail"]} == {"steps", "rank", "alpha"}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("model", "not-a-model", "unknown model 'not-a-model'"), ("task", "no-such-task", "valid tasks")],
)
def test_unknown_model_or_task(client: TestClient, field: str, value: str, words: str) -> None:
    response = client.post("/api/jobs", json={**TINY_JOB, field: value})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field] and words in error["msg"]
    assert client.get("/api/health").json()["status"] == "ok"


def test_malformed_json_and_generate_limits(client: TestClient) -> None:
    response = client.post("/api/jobs", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    response = client.post("/api/jobs/abc/generate", json={"prompt": "hi", "max_new_tokens": 500})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"][-1] == "max_new_tokens" and "less than or equal to 128" in error["msg"]
    response = client.post("/api/jobs/abc/generate", json={"prompt": "x" * 1001})
    assert "at most 1000 characters" in response.json()["detail"][0]["msg"]


def test_body_size_limit(client: TestClient) -> None:
    limit = client.app.state.settings.max_json_body_bytes  # type: ignore[attr-defined]
    big = b'{"model": "' + b"x" * limit + b'"}'
    response = client.post("/api/jobs", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert f"limit of {limit} bytes" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit is counted as the body arrives
        yield b'{"model": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/api/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.get("/api/health").status_code == 200


def test_a_full_queue_is_503_with_retry_after_and_the_server_keeps_serving(client: TestClient) -> None:
    client.app.state.runner.max_queued = 0  # type: ignore[attr-defined]
    response = client.post("/api/jobs", json=TINY_JOB)
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert "the queue is full" in response.json()["detail"]
    assert client.get("/api/health").json()["status"] == "ok"


def test_an_unknown_target_is_refused_at_submission(client: TestClient) -> None:
    response = client.post("/api/jobs", json={**TINY_JOB, "target_modules": ["q_proj", "nope"]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "target_modules"] and "no module 'nope'" in error["msg"]
    assert "q_proj" in error["msg"]  # it says which ones exist
    fine = client.post("/api/jobs", json={**TINY_JOB, "target_modules": ["self_attn.q_proj", "down_proj"]})
    assert fine.status_code == 201, fine.text
