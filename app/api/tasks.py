"""Tasks: the built-in ones and uploads (JSONL or CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from app.api.deps import AnyClassroomDep, CredentialsDep, LimiterDep, OwnerDep, SettingsDep, StoreDep
from app.api.errors import field_error
from app.classroom.room import Classroom
from app.classroom.task_scope import upload_scope
from app.identity import Credentials, task_scope
from app.jobs.files.uploads import TASK_NAME_RULE, UploadProblem, save_upload, task_infos
from app.jobs.store import JobStore, TaskView
from app.limits.counters import RateLimiter
from app.limits.errors import Throttled
from app.limits.policies import UPLOADS_PER_OWNER
from app.training.tasks import TaskFileError

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("")
def list_tasks(store: StoreDep, owner: OwnerDep, who: CredentialsDep) -> list[dict[str, Any]]:
    """Built-in tasks, the instructor's uploads, and your own (the instructor sees every upload)."""
    return task_infos(store, task_scope(owner, who))


@router.post("", status_code=201, response_model=TaskView)
async def upload_task(
    file: UploadFile,
    name: Annotated[str, Form(min_length=1, max_length=40, description=TASK_NAME_RULE)],
    store: StoreDep,
    settings: SettingsDep,
    room: AnyClassroomDep,
    owner: OwnerDep,
    who: CredentialsDep,
    limiter: LimiterDep,
) -> TaskView:
    """Upload a task; it is yours (named ``<name>~<owner digest>``) unless you are the instructor,
    whose uploads keep their name and are shared with the class. The same access rules as training."""
    scope = await run_in_threadpool(_admit_upload, limiter, room, owner, who)
    limit = settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"file: larger than the upload limit of {limit} bytes")
    filename = file.filename or "upload.jsonl"
    recorded_owner = owner or f"address:{who.address}"
    return await run_in_threadpool(
        _save, store, settings.data_dir, name, filename, data, recorded_owner, scope
    )


def _admit_upload(
    limiter: RateLimiter, room: Classroom | None, owner: str | None, who: Credentials
) -> str | None:
    """The uploader's scope (LimitExceeded 403 if they may not upload), under a per-person rate."""
    scope = upload_scope(room, who) if room is not None else task_scope(owner, who)
    if scope is not None:
        verdict = limiter.hit(f"upload:{scope}", UPLOADS_PER_OWNER)
        if not verdict.allowed:
            raise Throttled(f"at most {UPLOADS_PER_OWNER.describe()} uploads per person", verdict.retry_after)
    return scope


def _save(
    store: JobStore, data_dir: Path, name: str, filename: str, data: bytes, owner: str, scope: str | None
) -> TaskView:
    try:  # UploadProblem and TaskFileError (naming the line) are answered by app.api.errors
        return save_upload(store, data_dir, name, filename, data, owner=owner, scope=scope)
    except (UploadProblem, TaskFileError):
        raise
    except ValueError as exc:  # Task.from_examples: too few examples, bad split, ...
        raise field_error("file", str(exc)) from None
