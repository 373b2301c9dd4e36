"""The experiment room's one error: its HTTP status and, for a 422, the field and what would fit."""

from __future__ import annotations


class ExperimentError(Exception):
    """``status``: 404 (unknown, or of another class), 403 (not yours), 409 (state), 422 (``field``)."""

    def __init__(self, message: str, status: int, field: str | None = None, offers: dict | None = None):
        super().__init__(message)
        self.status, self.field, self.offers = status, field, offers
