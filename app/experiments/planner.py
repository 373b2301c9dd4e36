"""Sizing an experiment to the machine: from the step time this executor has measured for each model
and method (stored step events of earlier runs, or a short calibration run when there are none),
choose the steps and sequence length of every run so the whole grid, replicates included, finishes
within the instructor's budget on the workers there are. When even ``MIN_STEPS`` steps do not fit,
``PlanError`` says so and offers what would (more time, fewer runs, a smaller model).

Estimates (per run): ``overhead_s + steps × step_s × (seq_len × batch) / (seq_len₀ × batch₀)``,
where ``step_s`` was measured at seq_len₀ × batch₀ and ``overhead_s`` is the rest of a run's time
after its ``started`` event (the step-0 and last evaluations, samples, saving). Loading the model
(``load_s``, from the worker taking the job to ``started``) is paid once per worker: the base stays
warm in the worker for the experiment's later runs. The grid's total is that load plus the makespan
of the runs placed longest first on the least loaded worker.
"""

from __future__ import annotations

import heapq
import json
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.events import TERMINAL_TYPES
from app.rows import EventRow, JobRow
from app.training.methods import resolve_config
from app.training.train_config import TrainConfig

MIN_STEPS = 10
SEQ_LENS = (128, 96, 64)  # tried longest first (a fixed or varied seq_len is kept as it is)
HISTORY_RUNS = 5  # the latest finished runs of a model and method a pace is measured from
CALIBRATION_STEPS = 3


@dataclass(frozen=True)
class Pace:
    """Measured seconds per step at ``slots`` = seq_len × batch_size, and a run's other seconds."""

    step_s: float
    overhead_s: float
    slots: int
    runs: int  # how many runs it was measured from
    source: str  # "history" | "calibration"
    load_s: float = 0.0  # loading the model, once per worker (the most any measured run took)

    def run_s(self, steps: int, seq_len: int, batch_size: int) -> float:
        return self.overhead_s + steps * self.step_s * (seq_len * batch_size) / self.slots


class PlanError(ValueError):
    """The grid does not fit the budget: ``field`` names what to change, ``offers`` what would fit."""

    def __init__(self, message: str, field: str, offers: dict[str, Any]) -> None:
        super().__init__(message)
        self.field, self.offers = field, offers


class Plan(BaseModel):
    runs: int
    steps: int
    seq_len: int
    est_run_s: float  # the longest run
    est_total_s: float
    workers: int
    budget_s: float
    paces: dict[str, dict[str, Any]]  # "model/method" → step_s, overhead_s, runs, source


def executor_kind(node: str | None) -> str:
    """Where a job ran, as its ``jobs.node`` says: ``ray`` or ``local``."""
    return "ray" if (node or "").startswith("ray:") else "local"


def pace_of_run(config: dict[str, Any], events: Iterable[str]) -> tuple[float, float, int, float] | None:
    """(seconds per step, other seconds after ``started``, seq_len × batch, loading seconds) of one
    finished run, from its events."""
    first = started = end = None
    steps: list[tuple[int, float]] = []
    for data in events:
        event = json.loads(data)
        kind = event["type"]
        if kind == "queued":
            continue
        if first is None:
            first = event["time"]  # the worker took it: loading starts
        if kind == "step":
            steps.append((event["step"], event["elapsed_s"]))
        elif kind == "started":
            started = event["time"]
        elif kind in TERMINAL_TYPES:
            end = event["time"] if kind == "done" else None
    if first is None or end is None or started is None or len(steps) < 2:
        return None
    (s0, t0), (s1, t1) = steps[0], steps[-1]
    step_s = (t1 - t0) / (s1 - s0)  # steady pace: the first step's warm-up left out
    overhead_s = max(0.0, (end - started) - step_s * s1)
    return step_s, overhead_s, int(config["seq_len"]) * int(config["batch_size"]), started - first


def measured_pace(sessions: sessionmaker, model: str, method: str, executor: str) -> Pace | None:
    """The median pace of the latest finished runs of ``model``/``method`` on this kind of executor."""
    query = (
        select(JobRow.id, JobRow.config, JobRow.node)
        .where(JobRow.model == model, JobRow.method == method, JobRow.state == "done")
        .order_by(JobRow.finished_at.desc())
        .limit(HISTORY_RUNS * 4)
    )
    found: list[tuple[float, float, int, float]] = []
    with sessions() as session:
        for job_id, config, node in session.execute(query):
            if executor_kind(node) != executor:
                continue
            rows = session.scalars(
                select(EventRow.data).where(EventRow.job_id == job_id).order_by(EventRow.seq)
            )
            pace = pace_of_run(config, rows)
            if pace is not None:
                found.append(pace)
            if len(found) == HISTORY_RUNS:
                break
    if not found:
        return None
    slots = found[0][2]
    per_slot = statistics.median(p[0] / p[2] for p in found)
    return Pace(
        step_s=per_slot * slots,
        overhead_s=statistics.median(p[1] for p in found),
        slots=slots,
        runs=len(found),
        source="history",
        load_s=max(p[3] for p in found),
    )


def makespan(durations: Sequence[float], workers: int) -> float:
    """Longest first onto the least loaded worker."""
    loads = [0.0] * max(1, workers)
    for duration in sorted(durations, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + duration)
    return max(loads)


def plan_grid(
    configs: Sequence[TrainConfig],
    paces: dict[tuple[str, str], Pace],
    workers: int,
    budget_s: float,
    *,
    fixed_steps: int | None = None,
    fixed_seq_len: int | None = None,
    faster_models: Callable[[], list[str]] | None = None,
) -> Plan:
    """The steps and seq_len of every run (one of each for the whole grid, so runs compare).

    ``configs``: each run's settings without the planned sizes; ``fixed_steps``/``fixed_seq_len``: set
    by the instructor (or varied), kept as they are. Steps never exceed the largest method default."""
    resolved = [resolve_config(c) for c in configs]
    wanted = fixed_steps or max(int(c.steps or MIN_STEPS) for c in resolved)
    seq_lens = (fixed_seq_len,) if fixed_seq_len else SEQ_LENS

    def durations(steps: int, seq_len: int) -> list[float]:
        return [paces[(c.model, c.method)].run_s(steps, seq_len, int(c.batch_size or 4)) for c in resolved]

    load_s = max(p.load_s for p in paces.values())  # each worker loads once, all at the start

    def fitting_steps(seq_len: int) -> int:
        """The most steps (≤ wanted) whose grid fits the budget; 0 if not even one does."""
        lo, hi = 0, wanted
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if load_s + makespan(durations(mid, seq_len), workers) <= budget_s:
                lo = mid
            else:
                hi = mid - 1
        return lo

    choice: tuple[int, int] | None = None
    for seq_len in seq_lens:
        steps = fitting_steps(seq_len)
        if fixed_steps is not None:
            if steps >= fixed_steps:
                choice = (fixed_steps, seq_len)
                break
            continue
        if steps >= max(MIN_STEPS, wanted // 2) or (steps >= MIN_STEPS and seq_len == seq_lens[-1]):
            choice = (steps, seq_len)
            break
    if choice is None:
        steps = fixed_steps or MIN_STEPS
        raise _does_not_fit(durations, load_s, workers, budget_s, steps, seq_lens[-1], faster_models)
    steps, seq_len = choice
    runs = durations(steps, seq_len)
    return Plan(
        runs=len(resolved),
        steps=steps,
        seq_len=seq_len,
        est_run_s=round(max(runs), 1),
        est_total_s=round(load_s + makespan(runs, workers), 1),
        workers=workers,
        budget_s=budget_s,
        paces={
            f"{model}/{method}": {
                "step_s": round(p.step_s, 3),
                "overhead_s": round(p.overhead_s, 1),
                "load_s": round(p.load_s, 1),
                "at_seq_len_x_batch": p.slots,
                "runs": p.runs,
                "source": p.source,
            }
            for (model, method), p in paces.items()
        },
    )


def _does_not_fit(
    durations: Callable[[int, int], list[float]],
    load_s: float,
    workers: int,
    budget_s: float,
    steps: int,
    seq_len: int,
    faster_models: Callable[[], list[str]] | None,
) -> PlanError:
    each = durations(steps, seq_len)
    need = load_s + makespan(each, workers)
    per_run = statistics.mean(each)
    fit_runs = 0
    while fit_runs < len(each) and load_s + makespan(each[: fit_runs + 1], workers) <= budget_s:
        fit_runs += 1
    offers: dict[str, Any] = {"budget_s": math.ceil(need), "runs": fit_runs, "workers": workers}
    cut = (
        f"cut the grid to {fit_runs} run(s) (fewer values or replicates)"
        if fit_runs
        else f"the model's load alone takes about {load_s:.0f} s"
        if load_s >= budget_s
        else "not even one run fits"
    )
    message = (
        f"{len(each)} runs of {steps} steps (seq_len {seq_len}) need about {need:.0f} s on {workers} "
        f"worker(s), about {per_run:.0f} s each; budget_s is {budget_s:.0f}: raise budget_s to "
        f"{math.ceil(need)}, or {cut}"
    )
    models = faster_models() if faster_models is not None else []
    if models:
        offers["models"] = models
        message += f", or use a smaller model ({', '.join(models)})"
    return PlanError(message, "budget_s", offers)
