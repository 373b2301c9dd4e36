"""The rate counters' table: one row per (key, fixed window), incremented atomically."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class RateCounterRow(Base):
    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True, doc="floor(time / window_s)")
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class SeatOriginRow(Base):
    """The address a class member joined from."""

    __tablename__ = "seat_origins"

    member_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    class_code: Mapped[str] = mapped_column(String(16), index=True)
    address: Mapped[str] = mapped_column(String(64))


class BlockedAddressRow(Base):
    """An address an instructor blocked from joining a class again (when removing a member)."""

    __tablename__ = "blocked_addresses"

    class_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked_at: Mapped[float] = mapped_column(Float)


class JobOriginRow(Base):
    """The address a job was submitted from: per-address limits hold across seats."""

    __tablename__ = "job_origins"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
