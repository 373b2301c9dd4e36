"""The class hub wakes listeners from other threads and coalesces bursts into one set of topics."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.classroom.hub import ClassHub


@pytest.mark.anyio
async def test_notifications_from_threads_coalesce() -> None:
    hub = ClassHub()
    listener = hub.listen("ABC")
    other = hub.listen("XYZ")
    threads = [threading.Thread(target=hub.notify, args=("ABC", "answers")) for _ in range(50)]
    threads.append(threading.Thread(target=hub.notify, args=("ABC", "pin")))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    await asyncio.sleep(0)  # let the loop run the scheduled marks
    assert await listener.changes(1.0) == {"answers", "pin"}
    assert await listener.changes(0.01) == set()  # nothing new
    assert await other.changes(0.01) == set()  # another class heard nothing
    hub.drop(listener)
    hub.drop(other)
    assert hub.count("ABC") == 0
    with pytest.raises(ValueError):
        hub.notify("ABC", "gossip")


@pytest.mark.anyio
async def test_waiting_listener_wakes() -> None:
    hub = ClassHub()
    listener = hub.listen("ABC")
    waiter = asyncio.create_task(listener.changes(5.0))
    await asyncio.sleep(0.01)
    threading.Thread(target=hub.notify, args=("ABC", "members")).start()
    assert await asyncio.wait_for(waiter, 5.0) == {"members"}


@pytest.mark.anyio
async def test_a_listener_past_its_bound_hears_every_topic_then_listens_on() -> None:
    from app.classroom.hub import QUEUE_SIZE, TOPICS

    hub = ClassHub()
    listener = hub.listen("ABC")
    for _ in range(QUEUE_SIZE + 10):
        hub.notify("ABC", "answers")
    await asyncio.sleep(0)  # let the loop run the scheduled offers
    assert await listener.changes(1.0) == set(TOPICS)  # the backlog was dropped: anything may have changed
    assert hub.count("ABC") == 1
    hub.notify("ABC", "pin")
    await asyncio.sleep(0)
    assert await listener.changes(1.0) == {"pin"}
    hub.drop(listener)
    assert hub.count("ABC") == 0
