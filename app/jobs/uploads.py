"""Uploaded tasks: validated by the training core's parser, kept as a file in the data dir and a row
in the store, and turned back into a Task when a job names them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.jobs.store import JobStore, TaskView
from app.training.tasks import Task, builtin_task_names, load_builtin_task, parse_task_file

TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
TASK_NAME_RULE = "1 to 40 characters: lower-case letters, digits, '-' or '_', starting with a letter or digit"
MAX_FILENAME_CHARS = 200
SUFFIXES = {".jsonl": ".jsonl", ".ndjson": ".jsonl", ".csv": ".csv"}


class UploadProblem(ValueError):
    """A bad upload: ``field`` is the form field, ``line`` the file's line when it is about one."""

    def __init__(self, field: str, message: str, line: int | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.line, self.status = field, line, status


def save_upload(
    store: JobStore, data_dir: Path, name: str, filename: str, data: bytes, owner: str | None = None
) -> TaskView:
    """Check and keep an uploaded task file; the file lands at ``data_dir/tasks/<name><suffix>``,
    where ``name`` has passed TASK_NAME, so nothing a user sends becomes a path of its own."""
    if not TASK_NAME.match(name):
        raise UploadProblem("name", f"task name must be {TASK_NAME_RULE}")
    if name in builtin_task_names() or store.get_task(name) is not None:
        raise UploadProblem("name", f"a task named {name!r} already exists; choose another name", status=409)
    if len(filename) > MAX_FILENAME_CHARS:
        raise UploadProblem(
            "file", f"the file name has {len(filename)} characters; the limit is {MAX_FILENAME_CHARS}"
        )
    suffix = SUFFIXES.get(Path(filename).suffix.lower())
    if suffix is None:
        raise UploadProblem("file", f"unsupported file type of {filename!r}; use .jsonl or .csv")
    examples = parse_task_file(data, filename)  # TaskFileError names the line
    task = Task.from_examples(name, examples)
    relative = Path("tasks") / f"{name}{suffix}"
    _write_atomically(data_dir / relative, data)
    return store.add_task(
        name=name,
        kind=task.kind,
        filename=Path(filename).name,
        path=relative.as_posix(),
        n_examples=len(examples),
        size_bytes=len(data),
        owner=owner,
    )


def load_task(store: JobStore, data_dir: Path, name: str) -> Task | None:
    """The uploaded task ``name`` (None when ``name`` is built-in: the loop loads those itself).
    Raises LookupError when there is no such task at all."""
    if name in builtin_task_names():
        return None
    row = store.get_task(name)
    if row is None:
        valid = builtin_task_names() + [t.name for t in store.list_tasks()]
        raise LookupError(f"unknown task {name!r}; valid tasks: {', '.join(valid)}")
    path = (data_dir / row.path).resolve()
    if not path.is_relative_to(data_dir.resolve()):  # rows are ours, but never leave the data dir
        raise LookupError(f"task {name!r} points outside the data directory")
    return Task.from_examples(name, parse_task_file(path.read_bytes(), path.name))


def task_infos(store: JobStore) -> list[dict]:
    builtin = [load_builtin_task(name).info() for name in builtin_task_names()]
    uploaded = [
        {
            "name": t.name,
            "kind": t.kind,
            "description": f"uploaded {t.filename} ({t.n_examples} examples)",
            "n_examples": t.n_examples,
            "builtin": False,
        }
        for t in store.list_tasks()
    ]
    return builtin + uploaded


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
