"""Live notifications of a class: "something changed" signals to the dashboard and student sockets.

Changes happen in request threads; each listener belongs to a websocket's event loop and is woken
with ``call_soon_threadsafe``. A listener keeps only the set of topics changed since it last looked,
never a queue of messages, so a burst of 200 answers costs one dashboard refresh, and a slow
browser cannot make the server hold an ever-growing backlog.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Callable

logger = logging.getLogger(__name__)

TOPICS = frozenset({"members", "answers", "runs", "pin", "limits", "closed"})


class Listener:
    def __init__(self, code: str, loop: asyncio.AbstractEventLoop) -> None:
        self.code = code
        self.loop = loop
        self._changed: set[str] = set()
        self._wake = asyncio.Event()

    def _mark(self, topic: str) -> None:  # runs on the listener's loop
        self._changed.add(topic)
        self._wake.set()

    async def changes(self, timeout: float | None = None) -> set[str]:
        """The topics changed since the last call; waits up to ``timeout`` for one (empty set: none)."""
        if not self._changed:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
        changed, self._changed = self._changed, set()
        self._wake.clear()
        return changed


class ClassHub:
    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._lock = threading.Lock()
        # Tells the other web processes (PostgreSQL NOTIFY, set by the app's lifespan); None: only us.
        self.relay: Callable[[str, str], None] | None = None

    def listen(self, code: str) -> Listener:
        """Call from a coroutine: the listener is bound to the running loop."""
        listener = Listener(code, asyncio.get_running_loop())
        with self._lock:
            self._listeners[code].add(listener)
        return listener

    def drop(self, listener: Listener) -> None:
        with self._lock:
            listeners = self._listeners.get(listener.code)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[listener.code]

    def count(self, code: str) -> int:
        with self._lock:
            return len(self._listeners.get(code, ()))

    def notify(self, code: str, topic: str) -> None:
        """Thread-safe; wakes this process's listeners and, through ``relay``, every other process's."""
        self.notify_here(code, topic)
        if self.relay is not None:
            try:
                self.relay(code, topic)
            except Exception:  # the change is stored; dashboards elsewhere refresh on their next poll
                logger.exception("could not relay class %s change %r", code, topic)

    def notify_here(self, code: str, topic: str) -> None:
        """Thread-safe and non-blocking: this process's listeners only."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        with self._lock:
            listeners = list(self._listeners.get(code, ()))
        for listener in listeners:
            try:
                listener.loop.call_soon_threadsafe(listener._mark, topic)
            except RuntimeError:  # its loop has closed
                self.drop(listener)
