"""X-Forwarded-For counts only from a configured proxy (issue 22, fault 6). By default nobody is
trusted, loopback included (what a same-host proxy, or anyone on the host, presents): a client that
invents a new forwarded address per request is still one address to every per-address limit. With
FTLAB_TRUSTED_PROXIES naming the proxy, the address it forwards is the client's."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app import cli_serve
from app.config import Settings
from app.limits.policies import WRONG_TOKENS_PER_ADDRESS
from app.main import create_app
from tests.classroom.conftest import settings  # noqa: F401  (fixture)
from tests.limits.conftest import FakeClock
from tests.utils.server import live_server

ALLOWANCE = WRONG_TOKENS_PER_ADDRESS.limit


def _serve(settings: Settings, clock: FakeClock, **update: Any) -> Iterator[str]:  # noqa: F811
    with live_server(create_app(settings.model_copy(update=update), clock=clock)) as base:
        yield base


@pytest.fixture
def plain(settings: Settings) -> Iterator[str]:  # noqa: F811
    yield from _serve(settings, FakeClock())


@pytest.fixture
def behind_proxy(settings: Settings) -> Iterator[str]:  # noqa: F811
    yield from _serve(settings, FakeClock(), trusted_proxies=["127.0.0.1"])


def _guesses(base: str, count: int) -> list[int]:
    """Wrong bearer tokens, each claiming to come from a different forwarded address."""
    return [
        httpx.get(
            f"{base}/api/classes",
            headers={"Authorization": f"Bearer guess-{i}", "X-Forwarded-For": f"203.0.113.{i % 250}"},
            timeout=30,
        ).status_code
        for i in range(count)
    ]


def test_spoofed_forwarded_addresses_are_ignored_by_default(plain: str) -> None:
    statuses = _guesses(plain, ALLOWANCE + 5)
    assert statuses == [403] * ALLOWANCE + [429] * 5  # one address, whatever the header says


def test_a_trusted_proxy_names_the_client(behind_proxy: str) -> None:
    statuses = _guesses(behind_proxy, ALLOWANCE + 5)
    assert statuses == [403] * (ALLOWANCE + 5)  # each forwarded address guessed once
    same = [
        httpx.get(
            f"{behind_proxy}/api/classes",
            headers={"Authorization": f"Bearer again-{i}", "X-Forwarded-For": "198.51.100.7"},
            timeout=30,
        ).status_code
        for i in range(ALLOWANCE + 1)
    ]
    assert same == [403] * ALLOWANCE + [429]  # one forwarded client is still limited


def test_ftlab_serve_turns_off_uvicorns_loopback_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda target, **kwargs: seen.update(kwargs))
    args = argparse.Namespace(workers=1, host="127.0.0.1", port=0, verbose=False)
    assert cli_serve.run_serve(args) == 0
    assert seen["proxy_headers"] is False and seen["timeout_graceful_shutdown"] <= 5
