"""Websocket clients for the fan-out benchmark, run in their own process (not the server's loop)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any


async def _client(url: str, ready: asyncio.Event, connected: list[int]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    seqs: list[int] = []
    latencies: list[float] = []
    code = None
    async with connect(url, max_size=None, open_timeout=120, ping_interval=None) as ws:
        connected[0] += 1
        ready.set() if connected[0] == connected[1] else None
        try:
            async for frame in ws:
                now = time.time()
                event = json.loads(frame)
                seqs.append(event["seq"])
                latencies.append(now - event["time"])
        finally:
            code = ws.close_code
    return {"seqs": seqs, "latencies": latencies, "close_code": code}


async def _stalled(url: str, hold_s: float) -> dict[str, Any]:
    """Connects, then reads nothing for ``hold_s`` (a tiny receive buffer, one queued message),
    then reads what is left and notes how the server closed it."""
    from websockets.asyncio.client import connect

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = url.split("//")[1].split("/")[0].split(":")
    sock.connect((host, int(port)))
    sock.setblocking(False)
    seqs: list[int] = []
    async with connect(url, sock=sock, max_size=None, max_queue=1, ping_interval=None) as ws:
        await asyncio.sleep(hold_s)
        try:
            async for frame in ws:
                seqs.append(json.loads(frame)["seq"])
        except Exception as exc:  # the server cut it off without a close frame
            return {"seqs": seqs, "close_code": None, "error": type(exc).__name__}
        return {"seqs": seqs, "close_code": ws.close_code, "error": None}


async def _main(url: str, count: int, stalled_hold_s: float | None, out: Any) -> None:
    ready = asyncio.Event()
    connected = [0, count]
    tasks = [asyncio.create_task(_client(url, ready, connected)) for _ in range(count)]
    stalled = asyncio.create_task(_stalled(url, stalled_hold_s)) if stalled_hold_s is not None else None
    if count:
        await ready.wait()
    out.put(("ready", count))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    clients = [r if isinstance(r, dict) else {"error": repr(r), "seqs": [], "latencies": []} for r in results]
    out.put(("done", {"clients": clients, "stalled": await stalled if stalled else None}))


def client_process(url: str, count: int, stalled_hold_s: float | None, out: Any) -> None:
    """Entry point of a client process: ``count`` readers (and optionally one stalled client)."""
    asyncio.run(_main(url, count, stalled_hold_s, out))
