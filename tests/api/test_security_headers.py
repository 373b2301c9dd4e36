"""Security headers on pages and API answers, the Host check against DNS rebinding, and error texts
without server paths."""

from __future__ import annotations

import socket

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.api.headers import host_allowed
from app.config import Settings
from app.main import create_app
from tests.api.conftest import TINY_JOB, wait_for_state
from tests.utils.server import live_server


@pytest.mark.parametrize("path", ["/", "/lessons/fine-tuning-llms", "/api/health", "/static/js/lesson.js"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy and "object-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


def test_the_docs_page_may_load_swagger_ui(client: TestClient) -> None:
    policy = client.get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:8000", True),
        ("127.0.0.1:8000", True),
        ("[::1]:8000", True),
        ("192.168.1.20:8000", True),  # students typing the server's address
        ("teacher-pc:8000", True),  # a LAN name (single label)
        ("teacher-pc.local", True),  # mDNS
        ("lab.school.example", True),  # configured
        ("x.lab.example:8000", True),  # configured as *.lab.example
        ("attacker.example", False),  # what a rebinding page sends
        ("lab.school.example.attacker.example", False),
        ("", False),
    ],
)
def test_host_names_we_answer_to(host: str, allowed: bool) -> None:
    assert host_allowed(host, ["lab.school.example", "*.lab.example"]) is allowed


def test_a_foreign_host_header_is_refused(settings: Settings) -> None:
    with live_server(create_app(settings)) as base:
        evil = httpx.get(f"{base}/api/jobs", headers={"Host": "rebound.attacker.example"}, timeout=30)
        assert evil.status_code == 400 and "Host" in evil.text
        assert httpx.get(f"{base}/api/jobs", timeout=30).status_code == 200  # 127.0.0.1:port
        port = int(base.rsplit(":", 1)[1])
        with pytest.raises(InvalidStatus) as refused:
            # the URI names the host the handshake's Host header carries; the socket is ours
            connect(
                f"ws://evil.example:{port}/ws/jobs/abc", sock=socket.create_connection(("127.0.0.1", port))
            )
        assert refused.value.response.status_code == 403


def test_failures_do_not_show_server_paths(tmp_path, database_url: str) -> None:  # noqa: ANN001
    model_dir = tmp_path / "secret-layout" / "models"
    settings = Settings(
        data_dir=tmp_path / "data",
        model_dir=model_dir,
        database_url=database_url,
        instructor_token="test-token-0123456789",
        device="cpu",
        allowed_hub_models=["someone/not-cached"],
    )
    with live_server(create_app(settings)) as base:
        job = httpx.post(f"{base}/api/jobs", json={**TINY_JOB, "model": "someone/not-cached"}, timeout=30)
        assert job.status_code == 201, job.text
        failed = wait_for_state(base, job.json()["id"], {"failed"}, timeout=120)
    assert "not in the server's model cache" in failed["error"]
    assert "secret-layout" not in failed["error"] and str(tmp_path) not in failed["error"]
