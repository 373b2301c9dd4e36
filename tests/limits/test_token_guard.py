"""Wrong instructor tokens are throttled wherever a token is checked (login form, bearer headers,
the dashboard websocket), per address and in the database, on a fake clock; the right token is
never refused, so a student behind the room's shared address cannot lock the instructor out."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.config import Settings
from app.limits.policies import WRONG_TOKENS_PER_ADDRESS
from app.main import create_app
from tests.classroom.conftest import TOKEN, settings  # noqa: F401  (fixture)
from tests.classroom.helpers import BEARER, open_class
from tests.limits.conftest import FakeClock
from tests.utils.server import live_server

ALLOWANCE = WRONG_TOKENS_PER_ADDRESS.limit


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(60 * 100_000.0)  # the start of a one-minute window


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[str]:  # noqa: F811
    with live_server(create_app(settings, clock=clock)) as base:
        yield base


def _login(client: httpx.Client, token: str) -> int:
    return client.post("/api/auth/login", json={"token": token}).status_code


def test_wrong_logins_are_throttled_but_the_right_token_still_logs_in(server: str, clock: FakeClock) -> None:
    student = httpx.Client(base_url=server, timeout=30)
    statuses = [_login(student, f"guess-{i}") for i in range(ALLOWANCE + 5)]
    assert statuses == [403] * ALLOWANCE + [429] * 5
    refused = student.post("/api/auth/login", json={"token": "guess-x"})
    assert 1 <= int(refused.headers["Retry-After"]) <= 120 and "too many wrong" in refused.json()["detail"]
    # The instructor, behind the same address, is not locked out.
    teacher = httpx.Client(base_url=server, timeout=30)
    assert _login(teacher, TOKEN) == 200
    assert teacher.get("/api/auth/me").json()["instructor"] is True
    clock.advance(2 * WRONG_TOKENS_PER_ADDRESS.window_s)  # the guesses have slid out of the window
    assert _login(student, "guess-again") == 403


def test_bearer_guesses_on_any_route_are_throttled(server: str, clock: FakeClock) -> None:
    open_class(server)
    statuses = [
        httpx.get(f"{server}/api/classes", headers={"Authorization": f"Bearer g{i}"}, timeout=30).status_code
        for i in range(ALLOWANCE + 10)
    ]
    assert statuses[:ALLOWANCE] == [403] * ALLOWANCE and set(statuses[ALLOWANCE:]) == {429}
    # a wrong bearer on a route that only asks who you are counts too, and is refused the same way
    jobs = httpx.get(f"{server}/api/jobs", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert jobs.status_code == 429
    # the right token works meanwhile, and anonymous use without any token is not affected
    assert httpx.get(f"{server}/api/classes", headers=BEARER, timeout=30).status_code == 200
    assert httpx.get(f"{server}/api/jobs", timeout=30).status_code == 200


def test_dashboard_websocket_guesses_are_throttled(server: str) -> None:
    code = open_class(server)
    url = server.replace("http", "ws") + f"/ws/classes/{code}/dashboard"
    statuses = []
    for i in range(ALLOWANCE + 3):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers={"Authorization": f"Bearer g{i}"}, open_timeout=10)
        statuses.append(refused.value.response.status_code)
    assert statuses == [403] * ALLOWANCE + [429] * 3
    with connect(url, additional_headers=BEARER, open_timeout=10) as socket:
        assert '"code"' in socket.recv(timeout=10)


@pytest.mark.parametrize("token", ["short", "aaaaaaaaaaaaaaaaaaaa", "abababababababababab"])
def test_guessable_instructor_tokens_are_refused_at_start_up(token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(instructor_token=token)
    assert "at least 16 characters" in str(refused.value)
    assert len(Settings().instructor_token) >= 32  # the generated one
