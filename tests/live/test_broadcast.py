from __future__ import annotations

import asyncio
import threading

import pytest

from app.live.broadcast import Broadcaster, Message, SubscriberOverflow

pytestmark = pytest.mark.anyio


def _messages(n: int) -> list[Message]:
    return [Message(seq=i, data=f'{{"seq": {i}}}', terminal=i == n) for i in range(1, n + 1)]


async def test_every_subscriber_gets_every_event_in_order_from_another_thread() -> None:
    broadcaster = Broadcaster(queue_size=100)
    subs = [broadcaster.subscribe("job"), broadcaster.subscribe("job")]
    other = broadcaster.subscribe("other-job")
    thread = threading.Thread(target=lambda: [broadcaster.publish("job", m) for m in _messages(50)])
    thread.start()
    for sub in subs:
        got = [await asyncio.wait_for(sub.get(), 5) for _ in range(50)]
        assert [m.seq for m in got] == list(range(1, 51))
        assert got[-1].terminal
    thread.join()
    assert other.queue.empty()


async def test_a_slow_subscriber_overflows_without_blocking_the_publisher_or_others() -> None:
    broadcaster = Broadcaster(queue_size=8)
    slow = broadcaster.subscribe("job")
    fast = broadcaster.subscribe("job")
    received: list[int] = []

    async def drain_fast() -> None:
        while True:
            message = await fast.get()
            received.append(message.seq)
            if message.terminal:
                return

    reader = asyncio.create_task(drain_fast())
    published = threading.Event()

    def publish_all() -> None:
        for message in _messages(200):
            broadcaster.publish("job", message)
            if message.seq % 4 == 0:  # pace the job to the fast reader only (never to the slow one)
                while len(received) < message.seq:
                    published.wait(0.001)
        published.set()

    thread = threading.Thread(target=publish_all)
    thread.start()
    await asyncio.wait_for(reader, 10)
    thread.join(5)
    assert published.is_set()
    assert received == list(range(1, 201))
    assert slow.overflowed
    with pytest.raises(SubscriberOverflow, match="more than 8 events behind"):
        await slow.get()


async def test_unsubscribe_stops_delivery() -> None:
    broadcaster = Broadcaster(queue_size=8)
    sub = broadcaster.subscribe("job")
    assert broadcaster.subscriber_count("job") == 1
    broadcaster.unsubscribe(sub)
    assert broadcaster.subscriber_count() == 0
    broadcaster.publish("job", _messages(1)[0])
    await asyncio.sleep(0.01)
    assert sub.queue.empty()
