"""The instructor removes a member from a class (and may block the address they joined from)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from app.api.deps import ClassGuardDep, ClassroomDep, Instructor, RunnerDep
from app.api.params import ID_PATTERN
from app.classroom.codes import CODE_PATTERN
from app.identity import STUDENT_OWNER_PREFIX

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
    cancelled = [
        job.id
        for job in runner.list(owner=STUDENT_OWNER_PREFIX + member_id, limit=500)
        if not job.state.finished and runner.cancel(job.id)
    ]
    room.hub.notify(info.code, "members")
    room.hub.notify(info.code, "runs")
    return {
        "member_id": member_id,
        "removed": True,
        "blocked_address": address,
        "cancelled_jobs": cancelled,
    }
