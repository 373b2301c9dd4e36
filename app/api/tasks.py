"""Tasks: the built-in ones and uploads (JSONL or CSV)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, UploadFile

from app.api.deps import OwnerDep, SettingsDep, StoreDep
from app.api.errors import field_error
from app.jobs.store import TaskView
from app.jobs.uploads import TASK_NAME_RULE, UploadProblem, save_upload, task_infos
from app.training.tasks import TaskFileError

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("")
def list_tasks(store: StoreDep) -> list[dict[str, Any]]:
    return task_infos(store)


@router.post("", status_code=201, response_model=TaskView)
async def upload_task(
    file: UploadFile,
    name: Annotated[str, Form(min_length=1, max_length=40, description=TASK_NAME_RULE)],
    store: StoreDep,
    settings: SettingsDep,
    owner: OwnerDep,
) -> TaskView:
    limit = settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"file: larger than the upload limit of {limit} bytes")
    filename = file.filename or "upload.jsonl"
    try:  # UploadProblem and TaskFileError (naming the line) are answered by app.api.errors
        return save_upload(store, settings.data_dir, name, filename, data, owner=owner)
    except (UploadProblem, TaskFileError):
        raise
    except ValueError as exc:  # Task.from_examples: too few examples, bad split, ...
        raise field_error("file", str(exc)) from None
