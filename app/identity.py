"""Identity and access (the ground floor): what a request carries about who sends it, the owner
names jobs and uploads are filed under, and who may see and cancel which job.

A student's jobs are theirs and the instructor's; the instructor's runs (the pinned one above all) and
jobs made outside any class stay visible to all. Checking credentials is the classroom's
(``classroom.auth``); jobs, the classroom and the limits all read owners through this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INSTRUCTOR_OWNER = "instructor"
STUDENT_OWNER_PREFIX = "student:"


@dataclass(frozen=True)
class Credentials:
    """What a request carries about who sends it; the web layer reads it off the request."""

    authorization: str | None = None  # the Authorization header
    instructor_cookie: str | None = None
    student_cookie: str | None = None
    address: str | None = None  # the client's address (wrong tokens are throttled per address)
    memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # one check per request


def may_view(viewer: str | None, job_owner: str | None) -> bool:
    if viewer == INSTRUCTOR_OWNER or viewer == job_owner:
        return True
    return not (job_owner or "").startswith(STUDENT_OWNER_PREFIX)


def may_cancel(viewer: str | None, job_owner: str | None) -> bool:
    """Students cancel only their own jobs (never the run the class is watching)."""
    if viewer == INSTRUCTOR_OWNER or viewer == job_owner:
        return True
    return viewer is None and job_owner is None  # the single-user laptop, no class involved


def visible_owner_filter(viewer: str | None) -> str | None:
    """For listings: a student lists only their own jobs (None: no filter, then ``may_view`` each)."""
    return viewer if (viewer or "").startswith(STUDENT_OWNER_PREFIX) else None


def task_scope(owner: str | None, who: Credentials | None) -> str | None:
    """None for the instructor (uploads shared with the class), the seat's owner for a student,
    ``address:<ip>`` for anonymous use."""
    if owner == INSTRUCTOR_OWNER:
        return None
    return owner or f"address:{who.address if who is not None else None}"
