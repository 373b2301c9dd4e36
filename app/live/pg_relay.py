"""Live fan-out between processes on PostgreSQL: ``LISTEN`` in every web process.

Whoever stores an event (a training worker, a scheduler, a web process cancelling a job) sends
``NOTIFY ftlab_events, 'job_id:seq'`` in the same transaction as the INSERT, so a listener never
hears of a row it cannot read. The payload is ids only (NOTIFY payloads are capped at 8,000 bytes);
this process reads the event bodies through the job store (``EventSource.events_after``, the same
query a websocket replays with), once per job for all its subscribers, and publishes them to its
broadcaster. Class changes travel on ``ftlab_class`` as
``origin:code:topic`` (a process skips its own: it woke its listeners already).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Protocol

import anyio
import psycopg
from sqlalchemy import Engine, make_url, text

from app.live.broadcast import Broadcaster, Message

logger = logging.getLogger(__name__)

CLASS_CHANNEL = "ftlab_class"
RECONNECT_S = 1.0

EVENTS_CHANNEL = "ftlab_events"  # PostgreSQL NOTIFY channel; payload "job_id:seq", body in the table


def conninfo(sqlalchemy_url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (query options such as search_path kept)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class StoredEventLike(Protocol):
    seq: int
    data: str

    @property
    def terminal(self) -> bool: ...


class EventSource(Protocol):
    """Where stored events are read (``app.jobs.store.JobStore``)."""

    def events_after(
        self, job_id: str, after: int = 0, limit: int | None = None
    ) -> Sequence[StoredEventLike]: ...


def new_origin() -> str:
    """This process's name on the class channel (it skips its own notices)."""
    return secrets.token_hex(4)


def class_notifier(engine: Engine, origin: str) -> Callable[[str, str], None]:
    """A function that tells every other web process that class ``code`` changed ``topic``."""

    def notify(code: str, topic: str) -> None:
        with engine.begin() as connection:
            payload = f"{origin}:{code}:{topic}"
            connection.execute(text("SELECT pg_notify(:c, :p)"), {"c": CLASS_CHANNEL, "p": payload})

    return notify


class PgRelay:
    def __init__(
        self,
        url: str,
        broadcaster: Broadcaster,
        events: EventSource,
        on_class_change: Callable[[str, str], None] | None = None,
        origin: str | None = None,
    ) -> None:
        """``origin``: the one ``class_notifier`` signs this process's class notices with."""
        self.conninfo = conninfo(url)
        self.broadcaster, self.events = broadcaster, events
        self.on_class_change = on_class_change
        self.origin = origin or new_origin()
        self.ready = asyncio.Event()
        self._published: dict[str, int] = {}  # job id → last seq published here (only while watched)

    async def run(self) -> None:
        """Listen until cancelled; reconnect after a lost connection (the stream's store poll covers
        what was missed meanwhile)."""
        while True:
            try:
                await self._listen()
            except (psycopg.OperationalError, OSError) as exc:
                self.ready.clear()
                logger.warning("LISTEN connection lost (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_S)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as listener:
            await listener.execute(f"LISTEN {EVENTS_CHANNEL}")
            await listener.execute(f"LISTEN {CLASS_CHANNEL}")
            self.ready.set()
            async for notice in listener.notifies():
                if notice.channel == EVENTS_CHANNEL:
                    await self._job_event(notice.payload)
                elif notice.channel == CLASS_CHANNEL:
                    self._class_change(notice.payload)

    async def _job_event(self, payload: str) -> None:
        job_id, _, seq_text = payload.rpartition(":")
        seq = int(seq_text)
        if self.broadcaster.subscriber_count(job_id) == 0:
            self._published.pop(job_id, None)
            return
        after = self._published.get(job_id, seq - 1)
        if seq <= after:
            return
        stored = await anyio.to_thread.run_sync(self.events.events_after, job_id, after, seq - after)
        for event in stored:
            self.broadcaster.publish(job_id, Message(event.seq, event.data, event.terminal))
            self._published[job_id] = event.seq
            if event.terminal:
                self._published.pop(job_id, None)

    def _class_change(self, payload: str) -> None:
        origin, _, rest = payload.partition(":")
        code, _, topic = rest.rpartition(":")
        if origin != self.origin and self.on_class_change is not None and code:
            self.on_class_change(code, topic)
