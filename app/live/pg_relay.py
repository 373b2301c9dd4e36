"""Live fan-out between processes on PostgreSQL: ``LISTEN`` in every web process.

Whoever stores an event (a training worker, a scheduler, a web process cancelling a job) sends
``NOTIFY ftlab_events, 'job_id:seq'`` in the same transaction as the INSERT, so a listener never
hears of a row it cannot read. The payload is ids only (NOTIFY payloads are capped at 8,000 bytes);
this process reads the event bodies from the table, once per job for all its subscribers, and
publishes them to its broadcaster. Class changes travel on ``ftlab_class`` as
``origin:code:topic`` (a process skips its own: it woke its listeners already).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, make_url, text

from app.events import TERMINAL_TYPES
from app.live.broadcast import Broadcaster, Message

logger = logging.getLogger(__name__)

CLASS_CHANNEL = "ftlab_class"
RECONNECT_S = 1.0

EVENTS_CHANNEL = "ftlab_events"  # PostgreSQL NOTIFY channel; payload "job_id:seq", body in the table


def conninfo(sqlalchemy_url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (query options such as search_path kept)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgRelay:
    def __init__(
        self,
        url: str,
        broadcaster: Broadcaster,
        on_class_change: Callable[[str, str], None] | None = None,
    ) -> None:
        self.conninfo = conninfo(url)
        self.broadcaster = broadcaster
        self.on_class_change = on_class_change
        self.origin = secrets.token_hex(4)
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
        async with (
            await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as listener,
            await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as reader,
        ):
            await listener.execute(f"LISTEN {EVENTS_CHANNEL}")
            await listener.execute(f"LISTEN {CLASS_CHANNEL}")
            self.ready.set()
            async for notice in listener.notifies():
                if notice.channel == EVENTS_CHANNEL:
                    await self._job_event(reader, notice.payload)
                elif notice.channel == CLASS_CHANNEL:
                    self._class_change(notice.payload)

    async def _job_event(self, reader: psycopg.AsyncConnection, payload: str) -> None:
        job_id, _, seq_text = payload.rpartition(":")
        seq = int(seq_text)
        if self.broadcaster.subscriber_count(job_id) == 0:
            self._published.pop(job_id, None)
            return
        after = self._published.get(job_id, seq - 1)
        if seq <= after:
            return
        query = (
            "SELECT seq, type, data FROM job_events WHERE job_id = %s AND seq > %s AND seq <= %s ORDER BY seq"
        )
        rows = await reader.execute(query, (job_id, after, seq))
        for row_seq, type_, data in await rows.fetchall():
            terminal = type_ in TERMINAL_TYPES
            self.broadcaster.publish(job_id, Message(row_seq, data, terminal))
            self._published[job_id] = row_seq
            if terminal:
                self._published.pop(job_id, None)

    def _class_change(self, payload: str) -> None:
        origin, _, rest = payload.partition(":")
        code, _, topic = rest.rpartition(":")
        if origin != self.origin and self.on_class_change is not None and code:
            self.on_class_change(code, topic)

    def class_notifier(self, engine: Engine) -> Callable[[str, str], None]:
        """A function that tells every other web process that class ``code`` changed ``topic``."""

        def notify(code: str, topic: str) -> None:
            with engine.begin() as connection:
                payload = f"{self.origin}:{code}:{topic}"
                connection.execute(text("SELECT pg_notify(:c, :p)"), {"c": CLASS_CHANNEL, "p": payload})

        return notify
