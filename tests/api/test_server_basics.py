"""Health, models, methods (defaults and limits), the event schema, static files and compression."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.events import EVENT_TYPES
from app.training.methods import METHODS
from app.training.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def test_health(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["device"] == "cpu"
    assert body["queue"] == {"queued": 0, "running": 0, "workers": 1}


def test_models_and_methods(client: TestClient) -> None:
    names = {m["name"] for m in client.get("/api/models").json()}
    assert {"smollm2-135m", "minilm-l6", "tiny-llama"} <= names
    methods = {m["name"]: m for m in client.get("/api/methods").json()}
    assert set(methods) == set(METHODS)
    lora = methods["lora"]
    assert lora["limits"]["rank"]["minimum"] == 1 and lora["limits"]["rank"]["maximum"] == 256
    assert lora["limits"]["steps"]["maximum"] == TrainConfig.model_fields["steps"].metadata[1].le
    assert lora["limits"]["lr"]["exclusiveMinimum"] == 0


def test_event_schema_covers_every_type(client: TestClient) -> None:
    schema = client.get("/api/events/schema").json()
    mapped = schema["discriminator"]["mapping"]
    assert set(mapped) == {cls.model_fields["type"].default for cls in EVENT_TYPES}


def test_json_is_gzipped_when_large(client: TestClient) -> None:
    response = client.get("/api/events/schema", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    small = client.get("/api/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_plotly_bundle_is_served_compressed_and_cached(client: TestClient) -> None:
    expected = (ROOT / "static" / "vendor" / "plotly-ftlab.min.js").read_bytes()  # the partial bundle
    response = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    assert response.content == expected  # httpx undid the gzip
    assert int(response.headers["content-length"]) < len(expected) / 2
    assert "max-age" in response.headers["cache-control"]
    again = client.get("/static/vendor/plotly.min.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    plain = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == expected


def test_static_files_have_caching_headers(client: TestClient) -> None:
    response = client.get("/static/js/ws.js")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"] and response.headers["etag"]
    assert client.get("/static/../app/config.py").status_code == 404
    assert client.get("/static/%2e%2e/app/config.py").status_code == 404


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/jobs", "/api/jobs/{job_id}/events", "/api/tasks", "/api/health"} <= set(paths)
