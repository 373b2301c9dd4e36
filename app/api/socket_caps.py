"""Caps on open websockets, per seat and per address, counted in this web process (sockets live in
a process; N processes allow N times as many). A seat is one student: a few tabs are plenty. An
address may be a whole class behind one NAT: about two sockets per student (the class socket and
one job stream) for the largest class, with room to spare."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from app.limits.errors import Throttled

PER_SEAT = 4
PER_ADDRESS = 600


class SocketCaps:
    def __init__(self, per_seat: int = PER_SEAT, per_address: int = PER_ADDRESS) -> None:
        self.limits = {"seat": per_seat, "address": per_address}
        self._open: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, address: str | None, seat: str | None = None) -> Iterator[None]:
        """Counts one open socket for its address (and seat) while the block runs; Throttled (a 429
        before the upgrade) when one is at its cap."""
        keys = [("address", address or "unknown")] + ([("seat", seat)] if seat else [])
        with self._lock:
            for kind, value in keys:
                if self._open[kind, value] >= self.limits[kind]:
                    raise Throttled(
                        f"{self._open[kind, value]} websockets are open from this {kind}; "
                        f"the limit is {self.limits[kind]}",
                        5,
                    )
            self._open.update(keys)
        try:
            yield
        finally:
            with self._lock:
                self._open.subtract(keys)
                for key in keys:
                    if self._open[key] <= 0:
                        del self._open[key]
