"""Fan-out of live events to websocket subscribers, each with a bounded queue.

Publishing happens on worker threads and never blocks: an event is handed to each subscriber's
event loop with ``call_soon_threadsafe`` and dropped into its queue there. A subscriber whose queue
is full is marked overflowed (its queue is emptied and it is told to disconnect); the job and the
other subscribers do not wait for it. The overflowed client reconnects with ``?after=<last seq>``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


class SubscriberOverflow(Exception):
    """The subscriber fell more than its queue size behind the job."""


@dataclass(frozen=True)
class Message:
    seq: int
    data: str  # the event's JSON text, exactly as stored
    terminal: bool


_OVERFLOW = Message(seq=-1, data="", terminal=True)


class Subscription:
    def __init__(self, job_id: str, maxsize: int, loop: asyncio.AbstractEventLoop) -> None:
        self.job_id = job_id
        self.loop = loop
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=maxsize + 1)  # +1: room for the notice
        self.maxsize = maxsize
        self.overflowed = False
        # Called (on the subscriber's loop) when it overflows: a sender stuck in a send to a client
        # that stopped reading (its socket buffers full) never comes back to ``get`` to hear of it.
        self.on_overflow: Callable[[], Any] | None = None

    def _offer(self, message: Message) -> None:
        """Runs on the subscriber's loop."""
        if self.overflowed:
            return
        if self.queue.qsize() >= self.maxsize:
            self.overflowed = True
            while not self.queue.empty():  # nobody will read these now; free them
                self.queue.get_nowait()
            self.queue.put_nowait(_OVERFLOW)
            if self.on_overflow is not None:
                self.on_overflow()
            return
        self.queue.put_nowait(message)

    async def get(self) -> Message:
        message = await self.queue.get()
        if message is _OVERFLOW:
            raise SubscriberOverflow(f"more than {self.maxsize} events behind")
        return message


class Broadcaster:
    def __init__(self, queue_size: int = 1024) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()

    def subscribe(self, job_id: str) -> Subscription:
        """Call from a coroutine: the subscription is bound to the running loop."""
        subscription = Subscription(job_id, self.queue_size, asyncio.get_running_loop())
        with self._lock:
            self._subscribers[job_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscribers.get(subscription.job_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[subscription.job_id]

    def subscriber_count(self, job_id: str | None = None) -> int:
        with self._lock:
            if job_id is not None:
                return len(self._subscribers.get(job_id, ()))
            return sum(len(s) for s in self._subscribers.values())

    def publish(self, job_id: str, message: Message) -> None:
        """Thread-safe and non-blocking."""
        with self._lock:
            subscribers = list(self._subscribers.get(job_id, ()))
        for subscription in subscribers:
            try:
                subscription.loop.call_soon_threadsafe(subscription._offer, message)
            except RuntimeError:  # its loop has closed: the client is gone
                self.unsubscribe(subscription)
