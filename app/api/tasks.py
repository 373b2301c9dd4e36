"""Tasks: the built-in ones and uploads (JSONL or CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from app.api.classes import ClassroomDep
from app.api.deps import SettingsDep, StoreDep
from app.api.errors import field_error
from app.classroom.auth import client_address
from app.classroom.limits import LimitExceeded
from app.classroom.room import Classroom
from app.classroom.task_scope import task_scope, upload_scope
from app.jobs.store import JobStore, TaskView
from app.jobs.uploads import TASK_NAME_RULE, UploadProblem, save_upload, task_infos
from app.limits.errors import Throttled
from app.limits.policies import UPLOADS_PER_OWNER
from app.training.tasks import TaskFileError

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("")
def list_tasks(store: StoreDep, request: Request, room: ClassroomDep) -> list[dict[str, Any]]:
    """Built-in tasks, the instructor's uploads, and your own (the instructor sees every upload)."""
    return task_infos(store, task_scope(room, request))


@router.post("", status_code=201, response_model=TaskView)
async def upload_task(
    file: UploadFile,
    name: Annotated[str, Form(min_length=1, max_length=40, description=TASK_NAME_RULE)],
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    room: ClassroomDep,
) -> TaskView:
    """Upload a task; it is yours (named ``<name>~<owner digest>``) unless you are the instructor,
    whose uploads keep their name and are shared with the class."""
    scope = await run_in_threadpool(_admit_upload, request, room)
    limit = settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"file: larger than the upload limit of {limit} bytes")
    filename = file.filename or "upload.jsonl"
    owner = room.auth.owner_of(request) or f"address:{client_address(request)}"
    return await run_in_threadpool(_save, store, settings.data_dir, name, filename, data, owner, scope)


def _admit_upload(request: Request, room: Classroom) -> str | None:
    """The uploader's scope, under the same access rules as training and a per-person rate."""
    try:
        scope = upload_scope(room, request)
    except LimitExceeded as exc:
        raise HTTPException(exc.status, str(exc)) from None
    if scope is not None:
        verdict = request.app.state.limiter.hit(f"upload:{scope}", UPLOADS_PER_OWNER)
        if not verdict.allowed:
            raise Throttled(f"at most {UPLOADS_PER_OWNER.describe()} uploads per person", verdict.retry_after)
    return scope


def _save(
    store: JobStore, data_dir: Path, name: str, filename: str, data: bytes, owner: str, scope: str | None
) -> TaskView:
    try:
        return save_upload(store, data_dir, name, filename, data, owner=owner, scope=scope)
    except UploadProblem as exc:
        if exc.status != 422:
            raise HTTPException(exc.status, f"{exc.field}: {exc}") from None
        raise field_error(exc.field, str(exc)) from None
    except TaskFileError as exc:
        raise field_error("file", str(exc), line=exc.line) from None
    except ValueError as exc:  # Task.from_examples: too few examples, bad split, ...
        raise field_error("file", str(exc)) from None
