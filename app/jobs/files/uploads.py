"""Uploaded tasks: validated by the training core's parser, kept as a file in the data dir and a row
in the store, and turned back into a Task when a job names them."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from app.jobs.store import JobStore, TaskView
from app.training.tasks import Task, builtin_task_names, load_builtin_task, parse_task_file

TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
TASK_NAME_RULE = "1 to 40 characters: lower-case letters, digits, '-' or '_', starting with a letter or digit"
MAX_FILENAME_CHARS = 200
# Uploads are named per owner: "tone" of one student and "tone" of another are two tasks. The
# instructor's uploads (scope None) keep their plain name and are shared with the class; anyone
# else's are stored as "<name>~<12 hex digits of their scope>" ('~' is not allowed in a chosen name).
SCOPE_MARK = "~"
MAX_UPLOADS_PER_OWNER = 20
MAX_UPLOAD_BYTES_PER_OWNER = 10_000_000
SUFFIXES = {".jsonl": ".jsonl", ".ndjson": ".jsonl", ".csv": ".csv"}


class UploadProblem(ValueError):
    """A bad upload: ``field`` is the form field, ``line`` the file's line when it is about one."""

    def __init__(self, field: str, message: str, line: int | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.line, self.status = field, line, status


def scoped_name(name: str, scope: str | None) -> str:
    if scope is None:
        return name
    return f"{name}{SCOPE_MARK}{hashlib.sha256(scope.encode()).hexdigest()[:12]}"


def visible_to(stored_name: str, scope: str | None) -> bool:
    """Shared uploads are everyone's; a scoped one only its owner's (and the instructor's: None)."""
    if scope is None or SCOPE_MARK not in stored_name:
        return True
    return stored_name == scoped_name(stored_name.split(SCOPE_MARK, 1)[0], scope)


def resolve_task_name(store: JobStore, name: str, scope: str | None) -> str:
    """The stored name a requester means: their own upload of that name, else the shared one."""
    if SCOPE_MARK in name:
        if not visible_to(name, scope):
            raise LookupError(f"unknown task {name!r}")
        return name
    own = scoped_name(name, scope)
    if own != name and store.get_task(own) is not None:
        return own
    return name


def check_quota(store: JobStore, scope: str | None, size: int) -> None:
    """At most MAX_UPLOADS_PER_OWNER files and MAX_UPLOAD_BYTES_PER_OWNER bytes per owner."""
    if scope is None:  # the instructor
        return
    mine = [t for t in store.list_tasks() if t.owner == scope]
    if len(mine) >= MAX_UPLOADS_PER_OWNER:
        raise UploadProblem(
            "file", f"you have {len(mine)} uploaded tasks; the limit is {MAX_UPLOADS_PER_OWNER}", status=413
        )
    used = sum(t.size_bytes for t in mine)
    if used + size > MAX_UPLOAD_BYTES_PER_OWNER:
        message = f"your uploads would take {used + size} bytes; the limit is {MAX_UPLOAD_BYTES_PER_OWNER}"
        raise UploadProblem("file", message, status=413)


def save_upload(
    store: JobStore,
    data_dir: Path,
    name: str,
    filename: str,
    data: bytes,
    owner: str | None = None,
    scope: str | None = None,
) -> TaskView:
    """Check and keep an uploaded task file, named for its ``scope`` (see SCOPE_MARK; None: shared);
    the file lands at ``data_dir/tasks/<stored name><suffix>``, where ``name`` has passed TASK_NAME,
    so nothing a user sends becomes a path of its own. ``owner`` is recorded (the scope by default)."""
    if not TASK_NAME.match(name):
        raise UploadProblem("name", f"task name must be {TASK_NAME_RULE}")
    stored = scoped_name(name, scope)
    if name in builtin_task_names() or store.get_task(stored) is not None:
        raise UploadProblem("name", f"a task named {name!r} already exists; choose another name", status=409)
    check_quota(store, scope, len(data))
    if len(filename) > MAX_FILENAME_CHARS:
        raise UploadProblem(
            "file", f"the file name has {len(filename)} characters; the limit is {MAX_FILENAME_CHARS}"
        )
    suffix = SUFFIXES.get(Path(filename).suffix.lower())
    if suffix is None:
        raise UploadProblem("file", f"unsupported file type of {filename!r}; use .jsonl or .csv")
    examples = parse_task_file(data, filename)  # TaskFileError names the line
    task = Task.from_examples(stored, examples)
    relative = Path("tasks") / f"{stored}{suffix}"
    _write_atomically(data_dir / relative, data)
    return store.add_task(
        name=stored,
        kind=task.kind,
        filename=Path(filename).name,
        path=relative.as_posix(),
        n_examples=len(examples),
        size_bytes=len(data),
        owner=scope if scope is not None else owner,
    )


def load_task(store: JobStore, data_dir: Path, name: str) -> Task | None:
    """The uploaded task ``name`` (None when ``name`` is built-in: the loop loads those itself).
    Raises LookupError when there is no such task at all."""
    if name in builtin_task_names():
        return None
    row = store.get_task(name)
    if row is None:
        valid = builtin_task_names() + [t.name for t in store.list_tasks() if SCOPE_MARK not in t.name]
        raise LookupError(f"unknown task {name!r}; valid tasks: {', '.join(valid)}")
    path = (data_dir / row.path).resolve()
    if not path.is_relative_to(data_dir.resolve()):  # rows are ours, but never leave the data dir
        raise LookupError(f"task {name!r} points outside the data directory")
    return Task.from_examples(name, parse_task_file(path.read_bytes(), path.name))


def task_infos(store: JobStore, scope: str | None = None) -> list[dict]:
    """Built-in tasks, shared uploads and the requester's own (``scope``; None: the instructor, all)."""
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
        if visible_to(t.name, scope)
    ]
    return builtin + uploaded


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
