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


def test_static_ids_of_classes_and_quizzes_are_in_the_schema(client: TestClient) -> None:
    schemas = client.app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    answers = schemas["QuizAnswers"]["properties"]["answers"]
    assert answers["additionalProperties"] is False
    quiz = client.get("/api/lessons/fine-tuning-llms/quiz").json()
    assert set(answers["properties"]) == {q["id"] for q in quiz["questions"]}
    for question in quiz["questions"]:
        assert answers["properties"][question["id"]]["enum"] == sorted(c["id"] for c in question["choices"])
    assert schemas["NewClass"]["properties"]["lesson"]["enum"] == ["fine-tuning-llms"]
    limits = schemas["ClassLimits"]["properties"]
    assert limits["allowed_methods"]["items"]["enum"] == [
        "full",
        "lora",
        "qlora",
        "prompt",
        "prefix",
        "head",
        "sft",
        "dpo",
    ]
    assert "pattern" in limits["allowed_models"]["items"]


def test_a_wrong_method_lists_every_method_the_path_serves(client: TestClient) -> None:
    """GET and POST /api/tasks are two routes: the 405 for another method names both (starlette's
    own names only the first route's)."""
    response = client.request("DELETE", "/api/tasks")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}
    assert set(client.request("PATCH", "/api/jobs").headers["allow"].split(", ")) >= {"GET", "POST"}


def test_a_class_limit_flag_must_be_a_json_boolean(client: TestClient) -> None:
    """The schema says boolean; "yes" or 1 is refused rather than read as true."""
    teacher = {"Authorization": f"Bearer {client.app.state.settings.instructor_token}"}  # type: ignore[attr-defined]
    for value in ("yes", 1):
        response = client.post(
            "/api/classes", json={"limits": {"students_can_train": value}}, headers=teacher
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][-1] == "students_can_train"
