"""Jobs over HTTP: submit, list, inspect, cancel, events, the adapter zip, and generation."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.adapters import swap_answer
from app.api.bounded import ModelWorkDep
from app.api.deps import (
    AdapterServiceDep,
    CredentialsDep,
    OwnerDep,
    RunnerDep,
    StoreDep,
    SubmitterDep,
)
from app.api.errors import field_error
from app.api.params import ID_PATTERN, JobId
from app.identity import may_cancel, may_view, visible_owner_filter
from app.jobs.files.adapter_zip import ADAPTER_FILES, adapter_zip
from app.jobs.runner import JobInfo, SubmitResult
from app.json_numbers import JsonNumbers
from app.lesson.notebook_export import MEDIA_TYPE, NotebookUnsupported, notebook_bytes, notebook_for_run
from app.limits.generation import MAX_PROMPT_CHARS, BoundedGenerate, PromptTooLong
from app.training.train_config import TrainConfig

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

MAX_SEQ = 2**63 - 1  # the largest seq a database integer holds


def _job_or_404(runner: RunnerDep, job_id: str, viewer: str | None) -> JobInfo:
    job = runner.get(job_id)
    if job is None or not may_view(viewer, job.owner):  # a student's job is theirs and the instructor's
        raise HTTPException(404, f"no job {job_id!r}")
    return job


@router.post("", status_code=201, response_model=SubmitResult)
def submit_job(
    config: TrainConfig, submitter: SubmitterDep, owner: OwnerDep, who: CredentialsDep
) -> SubmitResult:
    """Queue a job (422 naming the field, a class limit's 403 / 429, 503 when the queue is full)."""
    return submitter.submit(config, owner, who)


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


class GenerateRequest(JsonNumbers):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_new_tokens: int = Field(32, ge=1, le=128)
    adapter: str | None = Field(
        None, pattern=ID_PATTERN, description="another finished LoRA job on the same base"
    )


class GenerateResponse(BaseModel):
    job_id: str
    prompt: str
    tuned: str
    base: str
    adapter: str  # the job whose adapter answered
    switch_ms: float | None = None  # set_adapter's time, when "adapter" was asked for


@router.get(
    "/{job_id}/notebook",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "a Jupyter notebook reproducing the run"}},
)
def job_notebook(job_id: JobId, runner: RunnerDep, store: StoreDep, owner: OwnerDep) -> Response:
    """The finished run as a notebook (plain transformers + peft): 409 until it is done, or for a method
    or task the export does not cover (the message says which)."""
    _job_or_404(runner, job_id, owner)
    events = [json.loads(e.data) for e in store.events_after(job_id, after=0)]
    try:
        notebook = notebook_for_run(events, f"ftlab run {job_id}")
    except NotebookUnsupported as exc:
        raise HTTPException(409, str(exc)) from None
    headers = {"Content-Disposition": f'attachment; filename="ftlab-{job_id}.ipynb"'}
    return Response(notebook_bytes(notebook), media_type=MEDIA_TYPE, headers=headers)


@router.post("/{job_id}/generate", response_model=GenerateResponse)
async def generate(
    job_id: JobId,
    body: GenerateRequest,
    runner: RunnerDep,
    owner: OwnerDep,
    adapters: AdapterServiceDep,
    bound: ModelWorkDep,
) -> GenerateResponse:
    """The tuned and the base model's completions. Bounded (app.limits.generation): a prompt of at
    most 256 tokens, a per-client rate, a few generations at a time on their own threads and a short
    line (429 with Retry-After beyond it), so generation never takes the threads the API needs."""
    job = await run_in_threadpool(_job_or_404, runner, job_id, owner)
    if job.state.value != "done":
        raise HTTPException(409, f"job {job_id} is {job.state.value}; generation needs a finished job")

    def work() -> GenerateResponse:
        if (
            body.adapter is not None
        ):  # a finished run's adapter swapped in on this job's base (api/adapters.py)
            swap = swap_answer(adapters, job_id, body.adapter, body.prompt, body.max_new_tokens, owner)
            return GenerateResponse(
                job_id=job_id,
                prompt=body.prompt,
                tuned=swap.tuned,
                base=swap.base,
                adapter=swap.adapter,
                switch_ms=swap.switch_ms,
            )
        try:  # NotInMemory: 409 (app.api.errors)
            tuned, base = runner.call(job_id, BoundedGenerate(body.prompt, body.max_new_tokens))
        except PromptTooLong as exc:
            raise field_error("prompt", str(exc), None) from None
        return GenerateResponse(job_id=job_id, prompt=body.prompt, tuned=tuned, base=base, adapter=job_id)

    return await bound.run(work)
