"""The OpenAPI spec declares the statuses routes answer, and states static limits as schema."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.conftest import TINY_JOB


def _operation(client: TestClient, method: str, path: str) -> dict:
    return client.app.openapi()["paths"][path][method]  # type: ignore[attr-defined]


def test_every_api_operation_declares_its_error_statuses(client: TestClient) -> None:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert {"400", "429"} <= declared, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= declared, (method, path)
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                assert "404" in declared, (method, path)
    assert {"401", "403"} <= set(_operation(client, "post", "/api/classes")["responses"])
    assert {"403", "429", "503"} <= set(_operation(client, "post", "/api/jobs")["responses"])


def test_answers_seen_are_answers_declared(client: TestClient) -> None:
    probes = [
        ("post", "/api/jobs", {"json": {**TINY_JOB, "model": "nope"}}),
        ("post", "/api/jobs/{job_id}/cancel", {"path": {"job_id": "abc"}}),
        ("get", "/api/jobs/{job_id}/events", {"path": {"job_id": "abc"}, "params": {"after": 2**63}}),
        ("post", "/api/classes", {"json": {}}),
        ("get", "/api/classes/me", {}),
        ("post", "/api/auth/login", {"json": {"token": "wrong-but-long-enough"}}),
        ("post", "/api/tasks", {"data": {"name": "x"}, "files": {"file": ("x.txt", b"hi")}}),
    ]
    for method, template, options in probes:
        path = template.format(**options.pop("path", {}))
        response = client.request(method.upper(), path, **options)
        declared = set(_operation(client, method, template)["responses"])
        assert str(response.status_code) in declared, (method, template, response.status_code)


def test_static_limits_are_in_the_schema(client: TestClient) -> None:
    config = client.app.openapi()["components"]["schemas"]["TrainConfig"]["properties"]  # type: ignore[attr-defined]
    assert config["method"]["enum"] == ["full", "lora", "qlora", "prompt", "prefix", "head", "sft", "dpo"]
    for field, good, bad in [
        ("model", "HuggingFaceTB/SmolLM2-135M-Instruct", "../etc/passwd"),
        ("task", "tone", "Tone!"),
    ]:
        assert re.match(config[field]["pattern"], good) and not re.match(config[field]["pattern"], bad)
        response = client.post("/api/jobs", json={**TINY_JOB, field: bad})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == field
    item = config["target_modules"]["items"]["pattern"]
    assert re.match(item, "q_proj") and not re.match(item, "q_proj; rm -rf /")
