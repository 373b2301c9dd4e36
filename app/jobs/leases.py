"""Leases in the database: which server processes are alive, and which one schedules.

Each server process renews a ``server:<id>`` row every few seconds; the jobs it runs name it in
``claimed_by``. A holder is gone when its lease expired, wherever it runs; on this host also at once
when its process no longer exists or is a zombie (a kill -9 is noticed at the next sweep). A live pid
never outlasts the expiry: a killed process's pid may stay unreaped or be reused by another
process, and either once kept a dead server's jobs ``running`` and its scheduler lease held for
minutes. One ``scheduler`` row says who dispatches the queue; another process takes it over when it
expires.
Time comes from an injected clock so tests can move it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from app.rows import LeaseRow

SCHEDULER = "scheduler"
HOST = socket.gethostname()


class Holder(NamedTuple):
    holder: str
    host: str
    pid: int
    expires_at: float


def server_lease(holder: str) -> str:
    return f"server:{holder}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:  # it ended meanwhile, or there is no /proc (macOS: trust the kill)
        return not Path("/proc/self").exists()
    return stat[stat.rindex(")") + 2 :][:1] not in ("Z", "X")  # the state follows "(command) "


class Leases:
    def __init__(self, sessions: sessionmaker, clock: Callable[[], float], ttl_s: float = 15.0) -> None:
        self._sessions, self.clock, self.ttl_s = sessions, clock, ttl_s

    def acquire(self, name: str, holder: str) -> bool:
        try:
            return self._acquire(name, holder)
        except IntegrityError:  # another process inserted the row first: theirs
            return False

    def _acquire(self, name: str, holder: str) -> bool:
        now = self.clock()
        values = {"holder": holder, "host": HOST, "pid": os.getpid(), "expires_at": now + self.ttl_s}
        with self._sessions.begin() as session:
            row = session.get(LeaseRow, name)
            if row is None:
                session.add(LeaseRow(name=name, **values))
                return True
            current = Holder(row.holder, row.host, row.pid, row.expires_at)
            if row.holder != holder and not self._gone(current, now):
                return False
            # compare-and-swap: a process that took it over since we read it wins
            taken = (
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.holder == current.holder)
                .where(LeaseRow.expires_at == current.expires_at)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return session.execute(taken).rowcount == 1

    def release(self, name: str, holder: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))

    def holder_of(self, name: str) -> Holder | None:
        with self._sessions() as session:
            row = session.get(LeaseRow, name)
            return Holder(row.holder, row.host, row.pid, row.expires_at) if row else None

    def gone(self, holders: set[str]) -> set[str]:
        """Which of these server holders are gone (no live ``server:`` lease)."""
        now = self.clock()
        names = [server_lease(h) for h in holders]
        with self._sessions() as session:
            rows = session.scalars(select(LeaseRow).where(LeaseRow.name.in_(names))).all()
            alive = {
                r.holder for r in rows if not self._gone(Holder(r.holder, r.host, r.pid, r.expires_at), now)
            }
        return holders - alive

    def live_servers(self, other_than: str | None = None) -> set[str]:
        now = self.clock()
        with self._sessions() as session:
            rows = session.scalars(select(LeaseRow).where(LeaseRow.name.startswith("server:"))).all()
            held = [Holder(r.holder, r.host, r.pid, r.expires_at) for r in rows]
        return {h.holder for h in held if h.holder != other_than and not self._gone(h, now)}

    @staticmethod
    def _gone(held: Holder, now: float) -> bool:
        if held.expires_at < now:
            return True
        return held.host == HOST and not pid_alive(held.pid)  # this host: a death is seen before expiry
