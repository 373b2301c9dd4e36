"""Adapters over HTTP: combine finished jobs' LoRA adapters, read and download a combination, generate
with it, and merge a job's adapter into its base (a measured report). Thin: the rules live in
``app.jobs.files.adapter_service``, the work in ``app.training.adapter_lab``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from app.api.bounded import ModelWorkDep
from app.api.deps import AdapterServiceDep, OwnerDep
from app.api.params import ID_PATTERN, JobId
from app.jobs.files.adapter_service import AdapterService
from app.jobs.files.adapter_zip import ADAPTER_FILES, adapter_zip
from app.jobs.files.combined_store import CombinedView
from app.json_numbers import JsonNumbers
from app.lesson.paths import ADAPTER_LAB_SESSION
from app.limits.generation import MAX_PROMPT_CHARS, MAX_PROMPT_TOKENS
from app.training.adapter_lab import COMBINATIONS, SwapAnswer

router = APIRouter(tags=["adapters"])

AdapterId = Annotated[str, Path(pattern=ID_PATTERN, description="a combined adapter's id")]
Combination = Literal[tuple(COMBINATIONS)]  # type: ignore[valid-type]


class CombineRequest(JsonNumbers):
    jobs: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        min_length=1, max_length=4, description="finished LoRA jobs on one base model and precision"
    )
    weights: list[Annotated[float, Field(ge=-2.0, le=2.0)]] = Field(
        min_length=1, max_length=4, description="one weight per job"
    )
    combination: Combination = Field("linear", description="peft's add_weighted_adapter combination type")
    density: float | None = Field(
        None, gt=0.0, le=1.0, description="share of each adapter kept by ties / dare / magnitude_prune types"
    )


class CombinedOut(BaseModel):
    id: str
    model: str
    precision: str
    combination: str
    density: float | None
    rank: int
    eval: dict[str, Any]  # task → {eval_loss, metric, metric_name}
    base_eval: dict[str, Any]
    sources: list[
        dict[str, Any]
    ]  # {job_id, task, method, rank, weight, eval, trainable_params, adapter_bytes}
    trainable_params: int
    adapter_bytes: int
    seconds: float
    created_at: float

    @classmethod
    def of(cls, view: CombinedView) -> CombinedOut:
        return cls.model_validate(view.model_dump())


class PromptRequest(JsonNumbers):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_new_tokens: int = Field(32, ge=1, le=128)


class CombinedAnswer(BaseModel):
    id: str
    adapter: str
    prompt: str
    tuned: str
    base: str
    switch_ms: float
    load_ms: float
    adapters_loaded: int


class MergeOut(BaseModel):
    job_id: str
    max_abs_logit_diff: float
    latency_ms: dict[str, float]
    prompts: int
    tokens: int
    repeats: int
    device: str
    dtype: str
    base_precision: str
    merged_into: str
    merge_ms: float


@router.post("/api/adapters/combine", status_code=201, response_model=CombinedOut)
async def combine(
    body: CombineRequest, service: AdapterServiceDep, owner: OwnerDep, bound: ModelWorkDep
) -> CombinedOut:
    """Bounded like generation (app.api.bounded): the per-client rate, then a generation slot."""
    view = await bound.run(
        lambda: service.combine(body.jobs, body.weights, body.combination, body.density, owner)
    )
    return CombinedOut.of(view)


@router.get("/api/adapters/recorded", response_class=FileResponse)
def recorded_session() -> FileResponse:
    """A real session recorded by scripts/record_adapter_lab.py: the lesson's widget shows it before
    (or without) any live run. Declared before ``/{adapter_id}``, which would otherwise match."""
    if not ADAPTER_LAB_SESSION.is_file():
        raise HTTPException(404, "no recorded adapter-lab session")
    return FileResponse(ADAPTER_LAB_SESSION, media_type="application/json")


@router.get("/api/adapters/{adapter_id}", response_model=CombinedOut)
def get_combined(adapter_id: AdapterId, service: AdapterServiceDep, owner: OwnerDep) -> CombinedOut:
    return CombinedOut.of(service.get(adapter_id, owner))


@router.get(
    "/api/adapters/{adapter_id}/adapter",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": " + ".join(ADAPTER_FILES)}},
)
def download_combined(adapter_id: AdapterId, service: AdapterServiceDep, owner: OwnerDep) -> Response:
    directory = service.combined_dir(adapter_id, owner)
    headers = {"Content-Disposition": f'attachment; filename="ftlab-combined-{adapter_id}-adapter.zip"'}
    return Response(adapter_zip(directory), media_type="application/zip", headers=headers)


@router.post("/api/adapters/{adapter_id}/generate", response_model=CombinedAnswer)
async def generate_combined(
    adapter_id: AdapterId,
    body: PromptRequest,
    service: AdapterServiceDep,
    owner: OwnerDep,
    bound: ModelWorkDep,
) -> CombinedAnswer:
    """Bounded like generation: the rates, a generation slot, a prompt of at most 256 tokens."""
    answer = await bound.run(
        lambda: service.generate_combined(
            adapter_id, body.prompt, body.max_new_tokens, owner, MAX_PROMPT_TOKENS
        )
    )
    return CombinedAnswer(id=adapter_id, prompt=body.prompt, **asdict(answer))


@router.post("/api/jobs/{job_id}/merge", response_model=MergeOut)
async def merge(job_id: JobId, service: AdapterServiceDep, owner: OwnerDep, bound: ModelWorkDep) -> MergeOut:
    """Bounded like generation (app.api.bounded): the per-client rate, then a generation slot."""
    report = await bound.run(lambda: service.merge(job_id, owner))
    fields = asdict(report)
    fields.pop("adapter")
    return MergeOut(job_id=job_id, **fields)


def swap_answer(
    service: AdapterService, job_id: str, adapter: str, prompt: str, max_new_tokens: int, owner: str | None
) -> SwapAnswer:
    """For ``POST /api/jobs/{id}/generate`` with ``"adapter"``: job ``adapter``'s LoRA on job_id's base."""
    return service.swap_generate(job_id, adapter, prompt, max_new_tokens, owner, MAX_PROMPT_TOKENS)
