"""Jobs over HTTP: submit, list, inspect, cancel, events, the adapter zip, and generation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import OwnerDep, RunnerDep, SettingsDep, StoreDep
from app.api.errors import field_error
from app.classroom.access import may_cancel, may_view, visible_owner_filter
from app.classroom.gate import admit_job, check_view
from app.classroom.task_scope import task_scope
from app.jobs.adapters import ADAPTER_FILES, adapter_zip
from app.jobs.runner import JobInfo, NotInMemory, QueueFull, SubmitResult
from app.jobs.uploads import load_task, resolve_task_name
from app.training.methods import ConfigError
from app.training.models import MODEL_REGISTRY
from app.training.train_config import TrainConfig

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="a job id")]
MAX_PROMPT_CHARS = 1000
MAX_SEQ = 2**63 - 1  # the largest seq a database integer holds


def _job_or_404(runner: RunnerDep, job_id: str, viewer: str | None) -> JobInfo:
    job = runner.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    check_view(viewer, job.owner, job_id)  # a student's job is theirs and the instructor's
    return job


@router.post("", status_code=201, response_model=SubmitResult)
def submit_job(
    config: TrainConfig,
    runner: RunnerDep,
    store: StoreDep,
    settings: SettingsDep,
    owner: OwnerDep,
    request: Request,
) -> SubmitResult:
    if config.model not in MODEL_REGISTRY and config.model not in settings.allowed_hub_models:
        valid = ", ".join([*MODEL_REGISTRY, *settings.allowed_hub_models])
        raise field_error("model", f"unknown model {config.model!r}; valid models: {valid}", config.model)
    try:  # an uploaded task of that name is the requester's own, else the shared one
        stored = resolve_task_name(store, config.task, task_scope(request.app.state.classroom, request))
        task = load_task(store, settings.data_dir, stored)
    except LookupError as exc:
        raise field_error("task", str(exc.args[0]), config.task) from None
    config = config.model_copy(update={"task": stored})
    try:
        with admit_job(request, config) as admitted:  # class limits, for a student's seat
            result = runner.submit(config, owner=owner, task=task)
            admitted.record(result.id)
        return result
    except ConfigError as exc:
        raise field_error(getattr(exc, "field", None) or "method", str(exc)) from None
    except QueueFull as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "30"}) from None


@router.get("", response_model=list[JobInfo])
def list_jobs(
    runner: RunnerDep, owner: OwnerDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[JobInfo]:
    jobs = runner.list(owner=visible_owner_filter(owner), limit=limit)
    return [job for job in jobs if may_view(owner, job.owner)]


@router.get("/{job_id}", response_model=JobInfo)
def get_job(job_id: JobId, runner: RunnerDep, owner: OwnerDep) -> JobInfo:
    return _job_or_404(runner, job_id, owner)


@router.post("/{job_id}/cancel", response_model=JobInfo)
def cancel_job(job_id: JobId, runner: RunnerDep, owner: OwnerDep) -> JobInfo:
    job = _job_or_404(runner, job_id, owner)
    if not may_cancel(owner, job.owner):
        raise HTTPException(403, f"job {job_id} is not yours to cancel")
    if job.state.finished:
        raise HTTPException(409, f"job {job_id} is already {job.state.value}")
    if not runner.cancel(job_id):
        raise HTTPException(409, f"job {job_id} is not queued or running on this server")
    return _job_or_404(runner, job_id, owner)


@router.get("/{job_id}/events", response_description="the job's events with seq > after, in order")
def job_events(
    job_id: JobId,
    runner: RunnerDep,
    store: StoreDep,
    owner: OwnerDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=20000)] = 20000,
) -> Response:
    _job_or_404(runner, job_id, owner)
    stored = store.events_after(job_id, after=after, limit=limit)
    # The stored JSON texts, joined: the same bytes the websocket sent, without re-serialising.
    return Response("[" + ",".join(e.data for e in stored) + "]", media_type="application/json")


@router.get(
    "/{job_id}/adapter",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": " + ".join(ADAPTER_FILES)}},
)
def job_adapter(job_id: JobId, runner: RunnerDep, owner: OwnerDep) -> Response:
    job = _job_or_404(runner, job_id, owner)
    if job.state.value != "done":
        raise HTTPException(409, f"job {job_id} is {job.state.value}; an adapter exists once it is done")
    if not job.has_adapter:
        raise HTTPException(
            404, f"method {job.method!r} trains no PEFT adapter (full and head change the model)"
        )
    body = adapter_zip(runner.adapter_dir(job_id))
    headers = {"Content-Disposition": f'attachment; filename="ftlab-{job_id}-{job.method}-adapter.zip"'}
    return Response(body, media_type="application/zip", headers=headers)


class GenerateRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_new_tokens: int = Field(32, ge=1, le=128)


class GenerateResponse(BaseModel):
    job_id: str
    prompt: str
    tuned: str
    base: str


@router.post("/{job_id}/generate", response_model=GenerateResponse)
def generate(job_id: JobId, body: GenerateRequest, runner: RunnerDep, owner: OwnerDep) -> GenerateResponse:
    job = _job_or_404(runner, job_id, owner)
    if job.state.value != "done":
        raise HTTPException(409, f"job {job_id} is {job.state.value}; generation needs a finished job")
    try:
        tuned, base = runner.generate(job_id, body.prompt, body.max_new_tokens)
    except NotInMemory as exc:
        raise HTTPException(409, str(exc)) from None
    return GenerateResponse(job_id=job_id, prompt=body.prompt, tuned=tuned, base=base)
