"""Class experiments over HTTP: the presets, making an experiment (instructor), a student's cell,
prediction and start, the instructor's start-all / run / reassign, and the results (JSON and CSV).
Thin: each route checks who asks and calls ``app.experiments.service``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import HTTPConnection

from app.api.classes import Code
from app.api.deps import ClassroomDep, CredentialsDep, Instructor
from app.api.errors import field_error
from app.classroom.room import Classroom
from app.classroom.service import Member
from app.experiments.errors import ExperimentError
from app.experiments.presets import UnknownPreset, get_preset, presets, recorded_result
from app.experiments.results import results_csv
from app.experiments.service import ExperimentService
from app.experiments.spec import MEASURES, ExperimentSpec, MeasureName, SpecError, Value
from app.identity import Credentials
from app.json_numbers import JsonNumbers

router = APIRouter(tags=["experiments"])

ExperimentId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="the experiment's id")]
CellId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="a cell's id")]
DEFAULT_BUDGET_S = 600.0


def get_experiments(conn: HTTPConnection) -> ExperimentService:
    return conn.app.state.experiments


ExperimentsDep = Annotated[ExperimentService, Depends(get_experiments)]


def _answer(exc: ExperimentError) -> Exception:
    if exc.status == 422:
        error: dict[str, Any] = {"type": "value_error", "loc": ("body", exc.field or "body"), "msg": str(exc)}
        if exc.offers:
            error["ctx"] = {"offers": exc.offers}  # what would fit: budget_s, runs, models; or limits
        return RequestValidationError([error])
    return HTTPException(exc.status, str(exc))


# -- presets -----------------------------------------------------------------------------------------
class PresetChoice(BaseModel):
    id: str
    text: str


class PresetPrediction(BaseModel):
    text: str
    measure: str
    choices: list[PresetChoice]


class PresetOut(BaseModel):
    id: str
    question: str
    section: str
    variable: str
    values: list[Value]
    fixed: dict[str, Any]
    replicates: int
    measures: list[str]
    primary: str
    series: list[dict[str, Any]] = Field(description="series crossed with the values (label, settings)")
    also: list[dict[str, Any]] | None = Field(description="per value, extra settings")
    prediction: PresetPrediction
    note: str
    recorded: bool = Field(description="a recorded class result ships (GET .../recorded)")


@router.get("/api/experiments/presets")
def list_presets() -> list[PresetOut]:
    """The lesson's experiments, each linked from the section that raises its question."""
    return [
        PresetOut(
            **p.model_dump(
                include={"id", "question", "section", "variable", "values", "fixed", "replicates"}
            ),
            measures=list(p.measures),
            primary=p.primary,
            series=[g.model_dump() for g in p.groups or []],
            also=p.also,
            prediction=PresetPrediction(**p.prediction.model_dump(include={"text", "measure", "choices"})),
            note=p.note,
            recorded=recorded_result(p.id) is not None,
        )
        for p in presets().values()
    ]


@router.get("/api/experiments/measures")
def list_measures() -> dict[str, str]:
    """Each measure's name and what it is (all computed from a run's stored events)."""
    return MEASURES


@router.get("/api/experiments/presets/{preset_id}/recorded")
def recorded(preset_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]) -> dict[str, Any]:
    """The preset's recorded class result (real runs) for a solo learner's page."""
    found = recorded_result(preset_id)
    if found is None:
        raise HTTPException(404, f"no recorded result for preset {preset_id!r}")
    return found


# -- making one (instructor) -------------------------------------------------------------------------
def _preset_ids(schema: dict[str, Any]) -> None:
    """The presets are lesson data (static on a server): the schema lists them, or none for a custom one."""
    schema["enum"] = [*sorted(presets()), None]


class NewExperiment(JsonNumbers):
    """Either ``preset`` or a custom ``variable`` + ``values`` (+ fixed, replicates, measures)."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", json_schema_extra=_preset_ids)
    variable: str | None = Field(None, max_length=40, description="a TrainConfig field")
    values: list[Value] | None = Field(None, max_length=12)
    fixed: dict[str, Any] | None = None
    replicates: int | None = Field(None, ge=1, le=8, description="seeds per value")
    measures: list[MeasureName] | None = Field(None, max_length=len(MEASURES))
    budget_s: float = Field(DEFAULT_BUDGET_S, ge=30, le=86_400, description="the whole grid's time budget")
    students: int | None = Field(
        None, ge=0, le=1000, description="students who will run a cell (default: those joined now)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> NewExperiment:
        custom = self.variable is not None or self.values is not None
        if self.preset is None and not custom:
            raise ValueError("give a preset id, or a variable and its values")
        return self


class PlanOut(BaseModel):
    runs: int
    steps: int
    seq_len: int
    est_run_s: float
    est_total_s: float
    workers: int
    budget_s: float
    paces: dict[str, dict[str, Any]]


class CellOut(BaseModel):
    cell_id: str
    experiment_id: str
    setting: dict[str, Any]
    value: Any
    series: str | None
    seed: int
    prediction: str | None
    job_id: str | None
    started: bool
    state: str | None
    config: dict[str, Any] = Field(description="the TrainConfig the cell's job trains")
    member_id: str | None = None


class ExperimentOut(BaseModel):
    id: str
    class_code: str
    preset: str | None
    question: str
    state: Literal["open", "complete"]
    variable: str
    values: list[Any]
    series: list[str]
    measures: list[str]
    primary: str
    prediction: dict[str, Any]
    plan: PlanOut
    version: int
    cells: list[CellOut] = Field(default_factory=list)


def _spec(body: NewExperiment) -> tuple[ExperimentSpec, str | None]:
    if body.preset is not None:
        try:
            base = get_preset(body.preset)
        except UnknownPreset as exc:
            raise field_error("preset", f"{exc}; presets: {', '.join(presets())}", body.preset) from None
        data = base.spec().model_dump()
    else:
        data = {}
    data.update(
        body.model_dump(include={"variable", "values", "fixed", "replicates", "measures"}, exclude_none=True)
    )
    try:
        return ExperimentSpec.model_validate(data), body.preset
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, SpecError):
            raise field_error(cause.field, str(cause)) from None
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise field_error(field, first["msg"]) from None


@router.post("/api/classes/{code}/experiments", status_code=201, dependencies=[Instructor])
def create_experiment(code: Code, body: NewExperiment, experiments: ExperimentsDep) -> ExperimentOut:
    """Plan the grid to ``budget_s`` on this server's workers (422 naming what to change, with
    ``offers`` of what would fit, when fewer than 10 steps per run fit) and assign cells."""
    spec, preset = _spec(body)
    try:
        return ExperimentOut(**experiments.create(code, spec, body.budget_s, preset, body.students))
    except ExperimentError as exc:
        raise _answer(exc) from None


@router.get("/api/classes/{code}/experiments")
def list_experiments(
    code: Code, experiments: ExperimentsDep, room: ClassroomDep, who: CredentialsDep
) -> list[ExperimentOut]:
    """The class's experiments (the instructor, or a student of the class)."""
    _instructor_or_member(room, who, code)
    return [ExperimentOut(**e) for e in experiments.list(code)]


@router.get("/api/classes/{code}/experiments/{experiment_id}", dependencies=[Instructor])
def get_experiment(code: Code, experiment_id: ExperimentId, experiments: ExperimentsDep) -> ExperimentOut:
    try:
        return ExperimentOut(**experiments.describe(code, experiment_id))
    except ExperimentError as exc:
        raise _answer(exc) from None


# -- a student's cell --------------------------------------------------------------------------------
def _student(room: Classroom, who: Credentials, code: str) -> Member:
    info = room.service.get_class(code)  # UnknownClass: 404
    found = room.seat_member(who)
    if found is None or found[0].code != info.code:
        if room.auth.is_instructor(who):
            raise HTTPException(403, "the instructor has no cell: students get one each (join at /join)")
        raise HTTPException(403, f"you are not a student of class {info.code} (join at /join)")
    return found[1]


def _instructor_or_member(room: Classroom, who: Credentials, code: str) -> Member | None:
    if room.auth.is_instructor(who):
        room.service.get_class(code)
        return None
    return _student(room, who, code)


def _own_cell(
    experiments: ExperimentService, code: str, experiment_id: str, member: Member, cell_id: str | None
):
    cell = experiments.cell_for(code, experiment_id, member.id)
    if cell_id is not None and cell_id != cell["cell_id"]:
        raise HTTPException(403, f"cell {cell_id} is not yours: your cell is {cell['cell_id']}")
    return cell


@router.get("/api/classes/{code}/experiments/{experiment_id}/cell")
def my_cell(
    code: Code,
    experiment_id: ExperimentId,
    experiments: ExperimentsDep,
    room: ClassroomDep,
    who: CredentialsDep,
) -> CellOut:
    """The student's cell (assigned on first ask; the same one on every later ask, from any process)."""
    member = _student(room, who, code)
    try:
        return CellOut(**experiments.cell_for(code, experiment_id, member.id))
    except ExperimentError as exc:
        raise _answer(exc) from None


class PredictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: Literal["lower", "same", "higher"]
    cell_id: str | None = Field(None, pattern=r"^[0-9a-f]{16}$", description="optional: must be your cell")


@router.post("/api/classes/{code}/experiments/{experiment_id}/cell/prediction")
def predict(
    code: Code,
    experiment_id: ExperimentId,
    body: PredictionIn,
    experiments: ExperimentsDep,
    room: ClassroomDep,
    who: CredentialsDep,
) -> CellOut:
    member = _student(room, who, code)
    try:
        _own_cell(experiments, code, experiment_id, member, body.cell_id)
        cell = experiments.predict(code, experiment_id, member.id, body.choice)
    except ExperimentError as exc:
        raise _answer(exc) from None
    room.hub.notify(room.service.get_class(code).code, "experiment")
    return CellOut(**cell)


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cell_id: str | None = Field(None, pattern=r"^[0-9a-f]{16}$", description="optional: must be your cell")


class Started(BaseModel):
    job_id: str
    cell_id: str


@router.post("/api/classes/{code}/experiments/{experiment_id}/cell/start", status_code=201)
def start_my_cell(
    code: Code,
    experiment_id: ExperimentId,
    experiments: ExperimentsDep,
    room: ClassroomDep,
    who: CredentialsDep,
    body: StartIn | None = None,
) -> Started:
    """Start the student's own cell as their job (their class limits apply); 409 the second time."""
    member = _student(room, who, code)
    try:
        cell = _own_cell(experiments, code, experiment_id, member, body.cell_id if body else None)
        job_id = experiments.start_cell(code, experiment_id, member.id, who)
    except ExperimentError as exc:
        raise _answer(exc) from None
    return Started(job_id=job_id, cell_id=cell["cell_id"])


# -- the instructor's controls -------------------------------------------------------------------------
class StartAllOut(BaseModel):
    started: list[dict[str, Any]] = Field(description="per cell: job_id, or the error that stopped it")


@router.post("/api/classes/{code}/experiments/{experiment_id}/start", dependencies=[Instructor])
def start_all(code: Code, experiment_id: ExperimentId, experiments: ExperimentsDep) -> StartAllOut:
    """Start every cell not started yet: a present student's as theirs, the others as the instructor's."""
    try:
        return StartAllOut(started=experiments.start_all(code, experiment_id))
    except ExperimentError as exc:
        raise _answer(exc) from None


@router.post(
    "/api/classes/{code}/experiments/{experiment_id}/cells/{cell_id}/run",
    status_code=201,
    dependencies=[Instructor],
)
def run_cell(
    code: Code, experiment_id: ExperimentId, cell_id: CellId, experiments: ExperimentsDep
) -> Started:
    """Run one cell as the instructor (a student left before starting it)."""
    try:
        return Started(job_id=experiments.run_cell(code, experiment_id, cell_id), cell_id=cell_id)
    except ExperimentError as exc:
        raise _answer(exc) from None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str | None = Field(pattern=r"^[0-9a-f]{16}$", description="null: free the cell")


@router.post(
    "/api/classes/{code}/experiments/{experiment_id}/cells/{cell_id}/assign", dependencies=[Instructor]
)
def assign_cell(
    code: Code, experiment_id: ExperimentId, cell_id: CellId, body: AssignIn, experiments: ExperimentsDep
) -> CellOut:
    """Give a cell nobody started to another student (or to nobody: the next to ask gets it)."""
    try:
        return CellOut(**experiments.reassign(code, experiment_id, cell_id, body.member_id))
    except ExperimentError as exc:
        raise _answer(exc) from None


# -- results ---------------------------------------------------------------------------------------------
class ByValue(BaseModel):
    value: Any
    label: str
    n: int
    mean: float | None
    min: float | None
    max: float | None
    series: str | None = None


class RunOut(BaseModel):
    cell_id: str
    setting: dict[str, Any]
    value: Any
    series: str | None
    seed: int
    state: str
    job_id: str | None
    measures: dict[str, float | None]
    mine: bool
    student: str | None = Field(None, description="instructor's view only, as the class's anonymity allows")


class ResultsOut(BaseModel):
    id: str
    question: str
    state: Literal["open", "complete"]
    variable: str
    measures: list[str]
    primary: str
    version: int
    finished: int
    runs: list[RunOut]
    by_value: list[ByValue]
    by_measure: dict[str, list[ByValue]]
    predictions: dict[str, Any]
    summary: str = Field(description="the plot's text alternative")


@router.get("/api/classes/{code}/experiments/{experiment_id}/results")
def results(
    code: Code,
    experiment_id: ExperimentId,
    experiments: ExperimentsDep,
    room: ClassroomDep,
    who: CredentialsDep,
) -> ResultsOut:
    """The class result: every run, each value's mean and spread, the predictions (graded once every
    cell has finished). A student sees their own run marked and no names."""
    member = _instructor_or_member(room, who, code)
    try:
        return ResultsOut(**experiments.results(code, experiment_id, member.id if member else None))
    except ExperimentError as exc:
        raise _answer(exc) from None


@router.get(
    "/api/classes/{code}/experiments/{experiment_id}/results.csv",
    dependencies=[Instructor],
    response_class=Response,
)
def results_as_csv(code: Code, experiment_id: ExperimentId, experiments: ExperimentsDep) -> Response:
    """One row per run: cell, series, value, seed, student (as anonymity allows), state, measures, job id."""
    try:
        body = experiments.results(code, experiment_id)
    except ExperimentError as exc:
        raise _answer(exc) from None
    name = f"ftlab-experiment-{body['id']}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(results_csv(body), media_type="text/csv; charset=utf-8", headers=headers)
