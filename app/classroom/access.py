"""Who may see and cancel which job. A student's jobs are theirs and the instructor's; the
instructor's runs (the pinned one above all) and jobs made outside any class stay visible to all."""

from __future__ import annotations

from app.classroom.auth import INSTRUCTOR_OWNER, STUDENT_OWNER_PREFIX


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
