"""Live class sockets.

``WS /ws/classes/{code}`` (a student of the class, or the instructor): the class's state now, then
again whenever the pinned run, the limits or the open/closed state change; the page then follows the
pinned job on the normal ``/ws/jobs/{id}`` stream. ``WS /ws/classes/{code}/dashboard`` (instructor):
the whole dashboard now and after every change, changes coalesced, refreshed every couple of seconds
while class runs are queued or running (their progress happens in the runner, not in a request).

Refusals happen before the upgrade (HTTP 403): a foreign Origin, no seat in the class, not the
instructor. Close codes: 4404 unknown class; 1000 when the class closes (student socket).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool

from app.api.deps import ClassroomDep, CredentialsDep, RunnerDep, SettingsDep, SocketCapsDep
from app.api.stream import origin_allowed
from app.classroom import quiz
from app.classroom.dashboard import class_state, dashboard_state
from app.classroom.hub import Listener
from app.classroom.room import Classroom
from app.classroom.service import ClassInfo, Member, UnknownClass
from app.identity import Credentials

logger = logging.getLogger(__name__)
router = APIRouter()

COALESCE_S = 0.25  # a burst of answers becomes one refresh
REFRESH_S = 2.0  # dashboard refresh while runs are active
STUDENT_TOPICS = {"pin", "limits", "closed"}
UNKNOWN_CLASS = 4404


async def _admit(
    websocket: WebSocket,
    room: Classroom,
    who: Credentials,
    allowed_origins: list[str],
    code: str,
    instructor_only: bool,
) -> tuple[ClassInfo, Member | None] | None:
    """The class and (for students) the member, or None after refusing the connection."""
    if not origin_allowed(websocket.headers, allowed_origins):
        await websocket.close(code=1008, reason="origin not allowed")
        return None
    try:
        info = await run_in_threadpool(room.service.get_class, code[:16])
    except UnknownClass:
        await websocket.accept()
        await websocket.close(code=UNKNOWN_CLASS, reason="unknown class")
        return None
    if room.auth.is_instructor(who):
        return info, None
    found = None if instructor_only else await run_in_threadpool(room.seat_member, who)
    if found is None or found[0].code != info.code:
        await websocket.close(code=1008, reason="not allowed")  # before accept: HTTP 403
        return None
    return found


async def _serve(
    websocket: WebSocket, room: Classroom, code: str, body: Callable[[Listener], Awaitable[None]]
) -> None:
    await websocket.accept()
    listener = room.hub.listen(code)
    sender = asyncio.create_task(body(listener))
    watcher = asyncio.create_task(_until_client_leaves(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if sender.done() and not sender.cancelled() and sender.exception() is not None:
            logger.debug("class socket %s ended: %r", code, sender.exception())
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
        room.hub.drop(listener)


async def _until_client_leaves(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send(websocket: WebSocket, data: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(data, separators=(",", ":")))


async def _send_experiments(
    websocket: WebSocket, experiments: Any, code: str, viewer: str | None, sent: dict[str, int]
) -> None:
    """``{"type": "experiment", "experiment_id", "version", "results"}`` for each experiment of the
    class that changed since this socket last sent it (``viewer``: the student, None: instructor)."""
    if experiments is None:
        return
    for message in await run_in_threadpool(experiments.updates, code, viewer, sent):
        await _send(websocket, message)


@router.websocket("/ws/classes/{code}")
async def class_socket(
    websocket: WebSocket,
    code: str,
    room: ClassroomDep,
    who: CredentialsDep,
    settings: SettingsDep,
    caps: SocketCapsDep,
) -> None:
    admitted = await _admit(websocket, room, who, settings.allowed_origins, code, instructor_only=False)
    if admitted is None:
        return
    info, member = admitted
    seat = member.id if member is not None else None

    experiments = getattr(websocket.app.state, "experiments", None)
    viewer = member.id if member is not None else None
    sent: dict[str, int] = {}

    async def body(listener: Listener) -> None:
        current = info
        await _send(websocket, class_state(current, member))
        await _send_experiments(websocket, experiments, info.code, viewer, sent)
        while not current.closed:
            changed = await listener.changes()
            if changed & STUDENT_TOPICS:
                current = await run_in_threadpool(room.service.get_class, info.code)
                await _send(websocket, class_state(current, member))
            if "experiment" in changed:
                await _send_experiments(websocket, experiments, info.code, viewer, sent)
        await websocket.close(code=1000, reason="class closed")

    with caps.hold(who.address, seat):  # Throttled before the upgrade: a 429
        await _serve(websocket, room, info.code, body)


@router.websocket("/ws/classes/{code}/dashboard")
async def dashboard_socket(
    websocket: WebSocket,
    code: str,
    room: ClassroomDep,
    who: CredentialsDep,
    settings: SettingsDep,
    runner: RunnerDep,
) -> None:
    admitted = await _admit(websocket, room, who, settings.allowed_origins, code, instructor_only=True)
    if admitted is None:
        return
    info, _ = admitted

    def snapshot() -> dict[str, Any]:
        return dashboard_state(room, info.code, quiz.questions(info.lesson), runner)

    experiments = getattr(websocket.app.state, "experiments", None)
    sent: dict[str, int] = {}

    async def body(listener: Listener) -> None:
        data = await run_in_threadpool(snapshot)
        await _send(websocket, data)
        await _send_experiments(websocket, experiments, info.code, None, sent)
        while True:
            timeout = REFRESH_S if data["active_runs"] else None
            changed = await listener.changes(timeout)
            if changed == {"experiment"}:  # a run's point: at once, without the dashboard's coalescing
                await _send_experiments(websocket, experiments, info.code, None, sent)
                continue
            if changed:
                await asyncio.sleep(COALESCE_S)
                changed |= await listener.changes(0)  # what arrived meanwhile is in this snapshot too
            data = await run_in_threadpool(snapshot)
            await _send(websocket, data)
            if "experiment" in changed:
                await _send_experiments(websocket, experiments, info.code, None, sent)

    await _serve(websocket, room, info.code, body)
