"""The instructor removes a member from a class (and may block the address they joined from), and
undoes a join flood in one action: joining locked, the flood's seats removed, the window reset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from app.api.deps import ClassGuardDep, ClassroomDep, Instructor, RunnerDep
from app.api.params import ID_PATTERN
from app.classroom.codes import CODE_PATTERN
from app.identity import STUDENT_OWNER_PREFIX

if TYPE_CHECKING:
    from app.jobs.runner import Runner

router = APIRouter(prefix="/api/classes", tags=["classroom"])

Code = Annotated[str, Path(pattern=CODE_PATTERN, description="the class's join code")]
MemberId = Annotated[str, Path(pattern=ID_PATTERN, description="a member's id")]


@router.delete("/{code}/members/{member_id}", dependencies=[Instructor])
def remove_member(
    code: Code,
    member_id: MemberId,
    room: ClassroomDep,
    runner: RunnerDep,
    guard: ClassGuardDep,
    block_address: Annotated[
        bool,
        Query(
            description="also refuse joins to this class from the address the member joined from; "
            "behind a shared NAT address that is everyone in the room"
        ),
    ] = False,
) -> dict[str, Any]:
    """The seat stops working at once (their cookie no longer names a member), their queued and
    running jobs are cancelled; their answers stay in the results."""
    info = room.service.get_class(code)  # UnknownClass: 404
    if room.service.remove_member(info.code, member_id) is None:
        raise HTTPException(404, f"no member {member_id!r} in class {info.code}")
    address = guard.block_origin(info.code, member_id) if block_address else None
    cancelled = _cancel_jobs_of(runner, member_id)
    room.hub.notify(info.code, "members")
    room.hub.notify(info.code, "runs")
    return {
        "member_id": member_id,
        "removed": True,
        "blocked_address": address,
        "cancelled_jobs": cancelled,
    }


def _cancel_jobs_of(runner: Runner, member_id: str) -> list[str]:
    return [
        job.id
        for job in runner.list(owner=STUDENT_OWNER_PREFIX + member_id, limit=500)
        if not job.state.finished and runner.cancel(job.id)
    ]


class FloodRequest(BaseModel):
    first_member: str = Field(pattern=ID_PATTERN, description="the flood's first seat")
    last_member: str | None = Field(
        None, pattern=ID_PATTERN, description="its last seat (default: the newest)"
    )
    lock_joining: bool = Field(True, description="refuse every join until the instructor reopens joining")


class JoiningRequest(BaseModel):
    open: bool


@router.post("/{code}/flood", dependencies=[Instructor])
def undo_flood(
    code: Code, body: FloodRequest, guard: ClassGuardDep, room: ClassroomDep, runner: RunnerDep
) -> dict:
    """One action against a join flood: joining locked, every seat from ``first_member`` to
    ``last_member`` (in join order) that joined from the first one's address removed (their jobs
    cancelled), and that address's join window cleared, so the class behind it joins again at once
    when joining reopens."""
    info = room.service.get_class(code)  # UnknownClass: 404
    members = {m.id: m for m in room.service.members(info.code)}
    ends = [body.first_member, body.last_member or body.first_member]
    if any(member_id not in members for member_id in ends):
        raise HTTPException(
            404, f"no member {next(e for e in ends if e not in members)!r} in class {info.code}"
        )
    address = guard.origin(body.first_member)
    last = members[body.last_member].number if body.last_member else max(m.number for m in members.values())
    flood = [
        m.id
        for m in members.values()
        if members[body.first_member].number <= m.number <= last and guard.origin(m.id) == address
    ]
    guard.lock_joining(info.code, body.lock_joining)
    for member_id in flood:
        room.service.remove_member(info.code, member_id)
        _cancel_jobs_of(runner, member_id)
    if address is not None:
        guard.reset_joins(address)
    room.hub.notify(info.code, "members")
    return {"removed": flood, "joining_locked": body.lock_joining, "window_reset": address is not None}


@router.post("/{code}/joining", dependencies=[Instructor])
def set_joining(code: Code, body: JoiningRequest, guard: ClassGuardDep, room: ClassroomDep) -> dict:
    """Reopen (or lock) joining to the class."""
    info = room.service.get_class(code)  # UnknownClass: 404
    guard.lock_joining(info.code, not body.open)
    return {"joining_open": body.open}
