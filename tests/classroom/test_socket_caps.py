"""Websocket caps (issue 22, fault 8): one seat cannot open hundreds of class sockets, nor one
address more than its cap (sized for a class behind one NAT); refusals are a 429 before the upgrade,
and a closed socket frees its place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from app.api.socket_caps import PER_SEAT, SocketCaps
from app.config import Settings
from app.main import create_app
from tests.classroom.conftest import settings  # noqa: F401  (fixture)
from tests.classroom.helpers import open_class, student
from tests.utils.server import live_server

PER_ADDRESS = 6  # small here, so the test need not open 600 sockets


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:  # noqa: F811
    app = create_app(settings)
    app.state.socket_caps = SocketCaps(per_seat=PER_SEAT, per_address=PER_ADDRESS)
    with live_server(app) as base:
        yield base


def _class_socket(base: str, code: str, seat: httpx.Client) -> ClientConnection:
    cookie = "; ".join(f"{name}={value}" for name, value in seat.cookies.items())
    url = base.replace("http://", "ws://") + f"/ws/classes/{code}"
    socket = connect(url, additional_headers={"Cookie": cookie}, open_timeout=30)
    socket.recv(timeout=30)  # the class state: the socket is served
    return socket


def _refused(base: str, code: str, seat: httpx.Client) -> str:
    with pytest.raises(InvalidStatus) as refused:
        _class_socket(base, code, seat)
    assert refused.value.response.status_code == 429
    return refused.value.response.body.decode()


def test_sockets_are_capped_per_seat_and_per_address(server: str) -> None:
    code = open_class(server)
    ada, bob = student(server, code, "Ada"), student(server, code, "Bob")
    with ExitStack() as stack:
        sockets = [stack.enter_context(_class_socket(server, code, ada)) for _ in range(PER_SEAT)]
        assert f"the limit is {PER_SEAT}" in _refused(server, code, ada)  # this seat is full
        stack.enter_context(_class_socket(server, code, bob))  # another seat is not
        sockets[0].close()
        sockets[0] = stack.enter_context(_class_socket(server, code, ada))  # a closed one freed its place
        for _ in range(PER_ADDRESS - PER_SEAT - 1):
            stack.enter_context(_class_socket(server, code, bob))
        carl = student(server, code, "Carl")
        assert f"the limit is {PER_ADDRESS}" in _refused(server, code, carl)  # the address is full
        # the job streams count against the address too
        with pytest.raises(InvalidStatus) as refused:
            connect(server.replace("http://", "ws://") + "/ws/jobs/abc", open_timeout=30)
        assert refused.value.response.status_code == 429
    _class_socket(server, code, carl).close()  # all closed: room again
