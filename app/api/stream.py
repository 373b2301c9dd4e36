"""``WS /ws/jobs/{id}?after=N``: stored events with seq > N, then live ones, then close.

No gaps, no duplicates across the replay/live seam: subscribe first, then replay from the store,
then pass live events on only if their seq is the next one (a gap is filled from the store, an old
seq is skipped). Events are stored before they are published, so anything published before the
subscription is in the replay. A second with nothing live reads the store again (see STORE_POLL_S).

Close codes: 1000 after the terminal event; 1013 when the client fell ``subscriber_queue_size``
events behind (reconnect with ?after=<last seq>); 4404 unknown job. A refused Origin gets HTTP 403
before the upgrade. Keep-alive pings are protocol pings sent by uvicorn (``ws_ping_interval``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from app.api.deps import BroadcasterDep, CredentialsDep, OwnerDep, SettingsDep, SocketCapsDep, StoreDep
from app.identity import may_view
from app.jobs.store import JobStore
from app.live.broadcast import Broadcaster, Subscription

logger = logging.getLogger(__name__)
router = APIRouter()

REPLAY_PAGE = 500
CLOSE_TIMEOUT_S = 5.0  # a client that reads nothing cannot even take the close frame
TOO_SLOW = 1013  # "try again later"
UNKNOWN_JOB = 4404
# With nothing live for this long, read the store: events of a job run by another server process
# reach this one through the database only (SQLite), and a lost notification costs at most this.
STORE_POLL_S = 1.0


def origin_allowed(headers: Headers, allowed: list[str]) -> bool:
    """Same-origin (Origin's host:port equals Host) or listed in ``allowed``. No Origin header means
    no browser (browsers always send one on websocket upgrades), so no cross-site page."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "").lower()
    if host and urlsplit(origin).netloc.lower() == host:
        return True
    return origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in allowed}


@router.websocket("/ws/jobs/{job_id}")
async def job_stream(
    websocket: WebSocket,
    job_id: str,
    owner: OwnerDep,
    settings: SettingsDep,
    store: StoreDep,
    broadcaster: BroadcasterDep,
    caps: SocketCapsDep,
    who: CredentialsDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> None:
    if not origin_allowed(websocket.headers, settings.allowed_origins):
        logger.warning("refused websocket from origin %r", websocket.headers.get("origin"))
        await websocket.close(code=1008, reason="origin not allowed")  # before accept: HTTP 403
        return
    with caps.hold(who.address):  # Throttled before the upgrade: a 429
        await _stream(websocket, job_id, owner, store, broadcaster, after)


async def _stream(
    websocket: WebSocket,
    job_id: str,
    owner: str | None,
    store: JobStore,
    broadcaster: Broadcaster,
    after: int,
) -> None:
    job = await run_in_threadpool(store.get_job, job_id) if len(job_id) <= 32 else None
    await websocket.accept()
    if job is None or not may_view(owner, job.owner):  # others' student jobs: as unknown
        await websocket.close(code=UNKNOWN_JOB, reason=f"unknown job {job_id[:32]}")
        return
    subscription = broadcaster.subscribe(job_id)
    stream = _Stream(websocket, store, subscription, after)
    sender = asyncio.create_task(stream.send_all(job.state.finished))
    subscription.on_overflow = sender.cancel  # wherever it waits: on the queue or on a full socket
    watcher = asyncio.create_task(_until_client_leaves(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if subscription.overflowed:
            broadcaster.unsubscribe(subscription)  # at once: the close below may wait for a full socket
            logger.info("job %s: dropping a websocket client %d events behind", job_id, subscription.maxsize)
            await _close(websocket, TOO_SLOW, f"client too slow; reconnect with ?after={stream.last}")
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
        broadcaster.unsubscribe(subscription)


async def _until_client_leaves(websocket: WebSocket) -> None:
    while True:  # clients have nothing to say; this only notices that they left
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


class _Stream:
    """One websocket's events: the stored ones after ``last``, then live ones, then the close.
    ``last`` is the last seq sent, kept up to date (a too-slow client is told to resume from it)."""

    def __init__(self, websocket: WebSocket, store: JobStore, subscription: Subscription, after: int) -> None:
        self.websocket, self.store, self.subscription = websocket, store, subscription
        self.job_id, self.last = subscription.job_id, after

    async def send_all(self, job_finished: bool) -> None:
        try:
            finished = await self._replay() or job_finished  # a finished job's events are all stored
            while not finished:
                try:
                    message = await asyncio.wait_for(self.subscription.get(), STORE_POLL_S)
                except TimeoutError:  # nothing live: another process may run the job (SQLite), look
                    finished = await self._replay()
                    continue
                if message.seq <= self.last:  # already sent from the store (or the client asked past it)
                    finished = message.terminal
                    continue
                if message.seq > self.last + 1:  # cannot happen while store-then-publish holds; stay exact
                    finished = await self._replay(upto=message.seq - 1)
                await self.websocket.send_text(message.data)
                self.last, finished = message.seq, message.terminal
            await _close(self.websocket, 1000, "job finished")
        except Exception as exc:  # the client went away mid-send
            logger.debug("job %s: websocket send ended: %r", self.job_id, exc)

    async def _replay(self, upto: int | None = None) -> bool:
        """Send stored events after ``last`` (up to ``upto``), page by page; True once the terminal one is."""
        while True:
            page = await run_in_threadpool(self.store.events_after, self.job_id, self.last, REPLAY_PAGE)
            for event in page:
                if upto is not None and event.seq > upto:
                    return False
                await self.websocket.send_text(event.data)
                self.last = event.seq
                if event.terminal:
                    return True
            if len(page) < REPLAY_PAGE:
                return False


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await asyncio.wait_for(websocket.close(code=code, reason=reason), CLOSE_TIMEOUT_S)
    except (TimeoutError, RuntimeError, OSError):
        pass  # uvicorn drops the connection when the handler returns
