"""The one exception every limit raises; the web layer answers it with 429 and Retry-After."""

from __future__ import annotations


class Throttled(Exception):
    """Too many requests of one kind from one client: ``retry_after`` seconds until one is allowed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
