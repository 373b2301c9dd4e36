"""Live notifications of a class: "something changed" signals to the dashboard and student sockets.

Changes happen in request threads. The hub rides on the jobs' fan-out (``app.live.broadcast``): each
listener is a subscription, bound to its websocket's event loop, keyed ``class:<code>``, and a
notification is a message whose text is the topic. A listener reads everything that has arrived at
once and answers with the set of topics, so a burst of 200 answers costs one dashboard refresh; the
subscription's queue is bounded, so a slow browser cannot make the server hold a growing backlog
(past the bound it is told that every topic may have changed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.live.broadcast import Broadcaster, Message, SubscriberOverflow, Subscription

logger = logging.getLogger(__name__)
TOPICS = frozenset({"members", "answers", "runs", "pin", "limits", "closed"})
QUEUE_SIZE = 256  # notices a listener may fall behind before it is told "everything changed"


def _key(code: str) -> str:
    return f"class:{code}"  # never a job id (those are hex)


class Listener:
    def __init__(self, code: str, hub: ClassHub) -> None:
        self.code = code
        self._hub = hub
        self._subscription: Subscription = hub.broadcaster.subscribe(_key(code))

    async def changes(self, timeout: float | None = None) -> set[str]:
        """The topics changed since the last call; waits up to ``timeout`` for one (empty set: none)."""
        subscription, changed = self._subscription, set()
        try:
            if subscription.queue.empty():
                try:
                    changed.add((await asyncio.wait_for(subscription.get(), timeout)).data)
                except TimeoutError:
                    return changed
            while not subscription.queue.empty():
                changed.add((await subscription.get()).data)
        except SubscriberOverflow:
            self._hub.broadcaster.unsubscribe(subscription)
            self._subscription = self._hub.broadcaster.subscribe(_key(self.code))
            return set(TOPICS)
        return changed

    def close(self) -> None:
        self._hub.broadcaster.unsubscribe(self._subscription)


class ClassHub:
    def __init__(
        self, broadcaster: Broadcaster | None = None, relay: Callable[[str, str], None] | None = None
    ) -> None:
        """``relay(code, topic)`` tells the other web processes (``live.pg_relay.class_notifier`` on
        PostgreSQL); None: this process is the only one."""
        self.broadcaster = broadcaster or Broadcaster(QUEUE_SIZE)
        self.relay = relay

    def listen(self, code: str) -> Listener:
        """Call from a coroutine: the listener is bound to the running loop."""
        return Listener(code, self)

    def drop(self, listener: Listener) -> None:
        listener.close()

    def count(self, code: str) -> int:
        return self.broadcaster.subscriber_count(_key(code))

    def notify(self, code: str, topic: str) -> None:
        """Thread-safe; wakes this process's listeners and, through ``relay``, every other process's."""
        self.notify_here(code, topic)
        if self.relay is not None:
            try:
                self.relay(code, topic)
            except Exception:  # the change is stored; other processes' dashboards miss one refresh
                logger.exception("could not relay class %s change %r", code, topic)

    def notify_here(self, code: str, topic: str) -> None:
        """Thread-safe and non-blocking: this process's listeners only."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        self.broadcaster.publish(_key(code), Message(seq=0, data=topic, terminal=False))
