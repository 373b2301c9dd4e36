"""Class experiments in the database: making one (planned to the budget), a student's cell (assigned
once, race-safe), predictions, starting cells as normal jobs, measuring finished runs from their
events, grading predictions when every cell has finished, and the results.

Stands on the classroom (seats, limits, the class hub) and the jobs room (the submit path, the
store); neither imports this package. No HTTP: errors are ``ExperimentError`` with a status.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from app.classroom.auth import StudentSeat
from app.classroom.class_rules import LimitExceeded, check_config
from app.classroom.room import Classroom
from app.classroom.service import ClassInfo
from app.experiments import planner
from app.experiments.errors import ExperimentError
from app.experiments.measures import measures_of
from app.experiments.paces import Paces
from app.experiments.planner import Plan, PlanError
from app.experiments.presets import get_preset
from app.experiments.results import grade, results_body
from app.experiments.spec import ExperimentSpec, Prediction, PredictionChoice, value_label
from app.identity import INSTRUCTOR_OWNER, Credentials
from app.jobs.state import FINISHED
from app.jobs.store import JobStore
from app.jobs.submit import JobSubmitter
from app.rows import CellRow, ExperimentRow, JobRow
from app.training.methods import resolve_config
from app.training.train_config import TrainConfig

TERMINAL_STATES = tuple(s.value for s in FINISHED)
SIZED = ("steps", "seq_len")


@dataclass
class ExperimentService:
    sessions: sessionmaker
    store: JobStore
    room: Classroom
    submitter: JobSubmitter
    workers: Callable[[], int]
    paces: Paces

    # -- making one -------------------------------------------------------------------------------
    def create(
        self,
        code: str,
        spec: ExperimentSpec,
        budget_s: float,
        preset: str | None = None,
        students: int | None = None,
    ) -> dict[str, Any]:
        """``students``: how many will run a cell (default: the members present now); past the grid,
        each extra student runs a replicate seed, so the plan counts their runs too."""
        info = self._open(code)
        prediction, question, primary = self._framing(spec, preset)
        grid = [(group, index) for group in spec.series() for index in range(len(spec.values))]
        configs = [TrainConfig(**spec.setting(g, i)) for g, i in grid for _ in range(spec.replicates)]
        present = len(self.room.service.members(info.code)) if students is None else students
        configs += [TrainConfig(**spec.setting(*grid[k % len(grid)])) for k in range(present - len(configs))]
        _open_to(info, configs)  # before planning: a calibration of a method the class refuses is wasted
        fixed_steps = _sized(spec, "steps")
        fixed_seq_len = _sized(spec, "seq_len")
        paces = self.paces.of(configs)
        try:
            plan = planner.plan_grid(
                configs,
                paces,
                self.workers(),
                budget_s,
                fixed_steps=fixed_steps,
                fixed_seq_len=fixed_seq_len,
                faster_models=lambda: self.paces.faster_models(configs, paces),
            )
        except PlanError as exc:
            raise ExperimentError(str(exc), 422, exc.field, exc.offers) from None
        for config in configs:  # the cells are students' jobs: the class limits hold for them
            cfg = resolve_config(config.model_copy(update=self._sizes(spec, plan)))
            try:
                check_config(info.limits, cfg.model, cfg.method, int(cfg.steps or 0))
            except LimitExceeded as exc:
                raise ExperimentError(
                    f"{exc}; allow it in the class limits first (PUT /api/classes/{info.code}/limits)",
                    422,
                    exc.field or "fixed",
                ) from None
        experiment_id = secrets.token_hex(8)
        with self.sessions.begin() as session:
            session.add(
                ExperimentRow(
                    id=experiment_id,
                    class_code=info.code,
                    preset=preset,
                    question=question,
                    spec=spec.model_dump(mode="json"),
                    prediction=prediction.model_dump(mode="json"),
                    primary=primary,
                    plan=plan.model_dump(mode="json"),
                    state="open",
                    created_at=time.time(),
                    version=1,
                )
            )
            session.flush()  # the experiment row before its cells (no ORM relationship orders them)
            position = 0
            for group in spec.series():
                for index in range(len(spec.values)):
                    for seed in range(spec.replicates):
                        session.add(_cell(experiment_id, position, group.label, index, seed))
                        position += 1
        for member in self.room.service.members(info.code):  # those here now get their cells at once
            self._assign(experiment_id, member.id)
        return self.describe(info.code, experiment_id)

    def _framing(self, spec: ExperimentSpec, preset: str | None) -> tuple[Prediction, str, str]:
        if preset is not None:
            found = get_preset(preset)
            labels = {g.label for g in spec.series()} | {None}
            sides = [found.prediction.a, found.prediction.b]
            if (
                all(v in spec.values for v in sides)
                and {found.prediction.group, found.prediction.group_b} <= labels
                and found.prediction.measure in spec.measures
            ):
                return found.prediction, found.question, found.primary
            # the instructor changed what it compares: predict on this experiment's own ends
        question = f"How does {spec.variable} change {spec.measures[0]}?"
        measure = spec.measures[0]
        if preset is not None:
            question = found.question
            measure = found.primary if found.primary in spec.measures else measure
        first, last = spec.values[0], spec.values[-1]
        name = f"{spec.variable} = {value_label(last)}"
        prediction = Prediction(
            text=f"{name} will give a lower {measure} than {spec.variable} = {value_label(first)}.",
            measure=measure,
            a=last,
            b=first,
            group=spec.series()[0].label or None,
            choices=[
                PredictionChoice(id="lower", text="Yes, lower"),
                PredictionChoice(id="same", text="About the same (within 2%)"),
                PredictionChoice(id="higher", text="No, higher"),
            ],
        )
        return prediction, question, measure

    @staticmethod
    def _sizes(spec: ExperimentSpec, plan: Plan | dict[str, Any]) -> dict[str, Any]:
        """The planned sizes a cell's config gets (a size the instructor fixed or varies is kept)."""
        plan = plan if isinstance(plan, dict) else plan.model_dump()
        sizes: dict[str, Any] = {}
        for name in SIZED:
            if _sized(spec, name) is None:
                sizes[name] = plan[name]
        sizes["eval_every"] = sizes["spectrum_every"] = plan["steps"]  # evaluate at the start and the end
        return sizes

    # -- a student's cell ----------------------------------------------------------------------------
    def cell_for(self, code: str, experiment_id: str, member_id: str) -> dict[str, Any]:
        """The member's cell, assigned on first ask (kept across reloads, re-joins and processes)."""
        row = self._experiment(code, experiment_id)
        cell = self._assign(row.id, member_id)
        return self._cell_view(row, cell)

    def _assign(self, experiment_id: str, member_id: str) -> CellRow:
        """The member's cell: theirs already, else the first free planned cell (compare-and-set),
        else a new replicate of the value with the fewest cells. Safe under concurrent requests: a
        lost race (another request took the cell, the position, or gave this member a cell meanwhile:
        the unique constraints) is tried again."""
        for _ in range(20):
            try:
                cell = self._try_assign(experiment_id, member_id)
            except IntegrityError:
                continue
            if cell is not None:
                return cell
        raise ExperimentError("could not assign a cell; try again", 503)

    def _try_assign(self, experiment_id: str, member_id: str) -> CellRow | None:
        with self.sessions.begin() as session:
            mine = session.scalar(
                select(CellRow).where(CellRow.experiment_id == experiment_id, CellRow.member_id == member_id)
            )
            if mine is not None:
                return mine
            free = session.scalars(
                select(CellRow.id)
                .where(CellRow.experiment_id == experiment_id, CellRow.member_id.is_(None))
                .where(CellRow.started_at.is_(None))
                .order_by(CellRow.position)
                .limit(1)
            ).first()
            if free is not None:
                taken = session.execute(
                    update(CellRow)
                    .where(CellRow.id == free, CellRow.member_id.is_(None))
                    .values(member_id=member_id)
                ).rowcount
                if taken != 1:
                    return None  # another request took it first: look again
                self._bump(session, experiment_id)
                return session.get(CellRow, free)
            cell = self._replicate(session, experiment_id, member_id)
            self._bump(session, experiment_id)
            return cell

    def _replicate(self, session: Any, experiment_id: str, member_id: str) -> CellRow:
        cells = session.scalars(select(CellRow).where(CellRow.experiment_id == experiment_id)).all()
        counts: dict[tuple[str, int], list[int]] = {}
        for cell in cells:
            counts.setdefault((cell.series, cell.value_index), []).append(cell.seed)
        (series, value_index), seeds = min(counts.items(), key=lambda item: (len(item[1]), min(item[1])))
        position = max(c.position for c in cells) + 1
        cell = _cell(experiment_id, position, series, value_index, max(seeds) + 1, member_id)
        session.add(cell)
        session.flush()
        return cell

    def predict(self, code: str, experiment_id: str, member_id: str, choice: str) -> dict[str, Any]:
        row = self._experiment(code, experiment_id)
        allowed = [c["id"] for c in row.prediction["choices"]]
        if choice not in allowed:
            raise ExperimentError(f"choice {choice!r} is not one of {', '.join(allowed)}", 422, "choice")
        if row.state == "complete":
            raise ExperimentError("the experiment is complete: predictions are closed", 409)
        cell = self._assign(row.id, member_id)
        with self.sessions.begin() as session:
            session.execute(
                update(CellRow).where(CellRow.id == cell.id).values(choice=choice, predicted_at=time.time())
            )
            self._bump(session, row.id)
        return self.cell_for(code, experiment_id, member_id)

    # -- starting cells -------------------------------------------------------------------------------
    def start_cell(self, code: str, experiment_id: str, member_id: str, who: Credentials) -> str:
        """The student starts their own cell (their seat's class limits apply). 409 the second time."""
        row = self._experiment(code, experiment_id)
        cell = self._assign(row.id, member_id)
        return self._start(row, cell, f"student:{member_id}", who, "student")

    def start_all(self, code: str, experiment_id: str) -> list[dict[str, Any]]:
        """The instructor starts every cell not started: a member's cell as that member (their own
        run, in the fair queue), a cell nobody holds (or whose member left) as the instructor's."""
        row = self._experiment(code, experiment_id)
        present = {m.id for m in self.room.service.members(row.class_code)}
        started = []
        with self.sessions() as session:
            waiting = session.scalars(
                select(CellRow)
                .where(CellRow.experiment_id == row.id, CellRow.started_at.is_(None))
                .order_by(CellRow.position)
            ).all()
        for cell in waiting:
            try:
                job_id = self._start_for(row, cell, present)
            except ExperimentError as exc:
                if exc.status == 409:  # started meanwhile by its student
                    continue
                started.append({"cell_id": cell.id, "error": str(exc)})
                continue
            except (LimitExceeded, ValueError) as exc:
                started.append({"cell_id": cell.id, "error": str(exc)})
                continue
            started.append({"cell_id": cell.id, "job_id": job_id})
        return started

    def run_cell(self, code: str, experiment_id: str, cell_id: str) -> str:
        """The instructor runs one cell as their own run: one nobody started (a student who left
        before starting), or again one whose run failed or was cancelled (removing a student cancels
        their run). The ended job stays in the jobs table; the cell takes the new one, and a complete
        experiment opens again until it has finished."""
        row = self._experiment(code, experiment_id)
        cell = self._cell(row, cell_id)
        if cell.state in ("failed", "cancelled"):
            with self.sessions.begin() as session:
                session.execute(
                    update(CellRow)
                    .where(CellRow.id == cell.id, CellRow.state == cell.state)
                    .values(
                        started_at=None,
                        started_by=None,
                        job_id=None,
                        state=None,
                        measures=None,
                        measured_at=None,
                    )
                )
                session.execute(
                    update(ExperimentRow)
                    .where(ExperimentRow.id == row.id)
                    .values(state="open", completed_at=None, outcome=None)
                )
            row, cell = self._experiment(code, experiment_id), self._cell(row, cell_id)
        return self._start(row, cell, INSTRUCTOR_OWNER, Credentials(), "instructor")

    def reassign(self, code: str, experiment_id: str, cell_id: str, member_id: str | None) -> dict[str, Any]:
        """Give a cell nobody started to another member (None: to nobody, so the next to ask gets it)."""
        row = self._experiment(code, experiment_id)
        cell = self._cell(row, cell_id)
        if member_id is not None and self.room.service.seat(row.class_code, member_id) is None:
            raise ExperimentError(f"no student {member_id!r} in class {row.class_code}", 422, "member_id")
        with self.sessions.begin() as session:
            if member_id is not None:  # the new holder's old cell, if unstarted, goes free
                session.execute(
                    update(CellRow)
                    .where(CellRow.experiment_id == row.id, CellRow.member_id == member_id)
                    .where(CellRow.started_at.is_(None))
                    .values(member_id=None)
                )
            done = session.execute(
                update(CellRow)
                .where(CellRow.id == cell.id, CellRow.started_at.is_(None))
                .values(member_id=member_id, choice=None, predicted_at=None)
            ).rowcount
            if done != 1:
                raise ExperimentError(f"cell {cell.id} has started: it cannot change hands", 409)
            self._bump(session, row.id)
        return self._cell_view(row, self._cell(row, cell_id))

    def _start_for(self, row: ExperimentRow, cell: CellRow, present: set[str]) -> str:
        if cell.member_id is not None and cell.member_id in present:
            seat = StudentSeat(row.class_code, cell.member_id)
            who = Credentials(student_cookie=self.room.auth.student_cookie(seat))
            return self._start(row, cell, f"student:{cell.member_id}", who, "instructor")
        return self._start(row, cell, INSTRUCTOR_OWNER, Credentials(), "instructor")

    def _start(self, row: ExperimentRow, cell: CellRow, owner: str, who: Credentials, by: str) -> str:
        if row.state == "complete":
            raise ExperimentError("the experiment is complete", 409)
        with self.sessions.begin() as session:  # compare-and-set: one start per cell, whoever asks
            claimed = session.execute(
                update(CellRow)
                .where(CellRow.id == cell.id, CellRow.started_at.is_(None))
                .values(started_at=time.time(), started_by=by)
            ).rowcount
        if claimed != 1:
            raise ExperimentError(f"cell {cell.id} has already been started", 409)
        try:
            result = self.submitter.submit(self.config_of(row, cell), owner, who)
        except BaseException:
            with self.sessions.begin() as session:  # nothing ran: the cell can be started again
                session.execute(
                    update(CellRow).where(CellRow.id == cell.id).values(started_at=None, started_by=None)
                )
            raise
        with self.sessions.begin() as session:
            session.execute(update(CellRow).where(CellRow.id == cell.id).values(job_id=result.id))
            self._bump(session, row.id)
        if owner == INSTRUCTOR_OWNER:  # a student's run is recorded by the submit path already
            self.room.service.record_run(row.class_code, None, result.id)
        return result.id

    def config_of(self, row: ExperimentRow, cell: CellRow) -> TrainConfig:
        spec = ExperimentSpec.model_validate(row.spec)
        group = next(g for g in spec.series() if g.label == cell.series)
        settings = {**spec.setting(group, cell.value_index), **self._sizes(spec, row.plan), "seed": cell.seed}
        return TrainConfig(**settings)

    # -- measuring and results ----------------------------------------------------------------------
    def measure_pending(self) -> list[tuple[str, str]]:
        """Measure every started cell whose job has ended (from its stored events), and complete the
        experiments whose cells have all ended. Returns the (class code, experiment id) changed.
        Any process may run it: each write is a compare-and-set on ``measured_at``."""
        query = (
            select(CellRow.id, CellRow.job_id, CellRow.experiment_id, JobRow.state)
            .join(JobRow, JobRow.id == CellRow.job_id)
            .where(CellRow.measured_at.is_(None), JobRow.state.in_(TERMINAL_STATES))
        )
        with self.sessions() as session:
            ended = session.execute(query).all()
        changed: set[str] = set()
        for cell_id, job_id, experiment_id, state in ended:
            _, measures = measures_of(e.data for e in self.store.events_after(job_id))
            with self.sessions.begin() as session:
                wrote = session.execute(
                    update(CellRow)
                    .where(CellRow.id == cell_id, CellRow.measured_at.is_(None))
                    .values(measures=measures, state=state, measured_at=time.time())
                ).rowcount
                if wrote == 1:
                    self._bump(session, experiment_id)
                    changed.add(experiment_id)
        for experiment_id in self._all_ended():
            self._complete_if_done(experiment_id)
            changed.add(experiment_id)
        with self.sessions() as session:
            codes = dict(
                session.execute(
                    select(ExperimentRow.id, ExperimentRow.class_code).where(ExperimentRow.id.in_(changed))
                ).all()
            )
        return [(codes[e], e) for e in changed]

    def _all_ended(self) -> list[str]:
        """Open experiments whose every cell has been measured (each is completed next)."""
        unmeasured = select(CellRow.id).where(
            CellRow.experiment_id == ExperimentRow.id, CellRow.measured_at.is_(None)
        )
        query = select(ExperimentRow.id).where(ExperimentRow.state != "complete", ~unmeasured.exists())
        with self.sessions() as session:
            return list(session.scalars(query))

    def _complete_if_done(self, experiment_id: str) -> None:
        with self.sessions.begin() as session:
            open_cells = session.scalar(
                select(func.count())
                .select_from(CellRow)
                .where(CellRow.experiment_id == experiment_id, CellRow.measured_at.is_(None))
            )
            if open_cells:
                return
            row = session.get(ExperimentRow, experiment_id)
            cells = session.scalars(select(CellRow).where(CellRow.experiment_id == experiment_id)).all()
            outcome = grade(row, cells)
            session.execute(  # once: another process may complete it at the same time
                update(ExperimentRow)
                .where(ExperimentRow.id == experiment_id, ExperimentRow.state != "complete")
                .values(
                    state="complete",
                    completed_at=time.time(),
                    outcome=outcome,
                    version=ExperimentRow.version + 1,
                )
            )

    def versions(self, since_s: float = 120.0) -> dict[str, tuple[str, int]]:
        """experiment id → (class code, version) of those still open or completed lately."""
        now = time.time()
        query = select(ExperimentRow.id, ExperimentRow.class_code, ExperimentRow.version).where(
            (ExperimentRow.state != "complete") | (ExperimentRow.completed_at > now - since_s)
        )
        with self.sessions() as session:
            return {i: (c, v) for i, c, v in session.execute(query)}

    def has_work(self) -> bool:
        """Any experiment not complete (the watcher polls fast only then)."""
        with self.sessions() as session:
            return (
                session.scalar(select(ExperimentRow.id).where(ExperimentRow.state != "complete").limit(1))
                is not None
            )

    def updates(self, code: str, viewer: str | None, sent: dict[str, int]) -> list[dict[str, Any]]:
        """The class socket's ``experiment`` messages: the results of each experiment of the class
        whose version moved since ``sent`` (experiment id → version sent; updated here)."""
        messages = []
        with self.sessions() as session:
            rows = session.execute(
                select(ExperimentRow.id, ExperimentRow.version).where(ExperimentRow.class_code == code)
            ).all()
        for experiment_id, version in rows:
            if sent.get(experiment_id) == version:
                continue
            body = self.results(code, experiment_id, viewer)
            sent[experiment_id] = body["version"]
            messages.append(
                {
                    "type": "experiment",
                    "experiment_id": experiment_id,
                    "version": body["version"],
                    "results": body,
                }
            )
        return messages

    def results(self, code: str, experiment_id: str, viewer: str | None = None) -> dict[str, Any]:
        """``viewer``: a member id (their own run and prediction marked, nobody's name), or None for
        the instructor (names as the class's anonymity allows)."""
        row = self._experiment(code, experiment_id)
        info = self.room.service.get_class(row.class_code)
        with self.sessions() as session:
            cells = session.scalars(
                select(CellRow).where(CellRow.experiment_id == row.id).order_by(CellRow.position)
            ).all()
            states = dict(
                session.execute(
                    select(JobRow.id, JobRow.state).where(
                        JobRow.id.in_([c.job_id for c in cells if c.job_id])
                    )
                ).all()
            )
        names = None
        if viewer is None:
            members = self.room.service.members(info.code, include_removed=True)
            names = {m.id: m.shown_as(info.anonymous) for m in members}
        return results_body(row, cells, states, names, viewer)

    def predictions_by_member(self, code: str) -> dict[str, dict[str, str]]:
        """For the class results CSV: column name → member id → "choice (right|wrong|open)"."""
        columns: dict[str, dict[str, str]] = {}
        with self.sessions() as session:
            rows = session.scalars(
                select(ExperimentRow)
                .where(ExperimentRow.class_code == code)
                .order_by(ExperimentRow.created_at)
            ).all()
            for row in rows:
                column = f"prediction {row.preset or row.id}"
                cells = session.scalars(
                    select(CellRow).where(CellRow.experiment_id == row.id, CellRow.choice.is_not(None))
                ).all()
                measured = (row.outcome or {}).get("choice")
                columns[column] = {c.member_id: _marked(c.choice, measured) for c in cells if c.member_id}
        return columns

    def list(self, code: str) -> list[dict[str, Any]]:
        info = self.room.service.get_class(code)
        with self.sessions() as session:
            rows = session.scalars(
                select(ExperimentRow)
                .where(ExperimentRow.class_code == info.code)
                .order_by(ExperimentRow.created_at)
            ).all()
        return [self._summary(r) for r in rows]

    def describe(self, code: str, experiment_id: str) -> dict[str, Any]:
        row = self._experiment(code, experiment_id)
        with self.sessions() as session:
            cells = session.scalars(
                select(CellRow).where(CellRow.experiment_id == row.id).order_by(CellRow.position)
            ).all()
        return {**self._summary(row), "cells": [self._cell_view(row, c) for c in cells]}

    # -- helpers ------------------------------------------------------------------------------------------
    def _summary(self, row: ExperimentRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "class_code": row.class_code,
            "preset": row.preset,
            "question": row.question,
            "state": row.state,
            "variable": row.spec["variable"],
            "values": row.spec["values"],
            "series": [g["label"] for g in row.spec.get("groups") or []],
            "measures": row.spec["measures"],
            "primary": row.primary,
            "prediction": {"text": row.prediction["text"], "choices": row.prediction["choices"]},
            "plan": {
                k: row.plan[k] for k in ("runs", "steps", "seq_len", "est_run_s", "est_total_s", "workers")
            }
            | {"budget_s": row.plan["budget_s"], "paces": row.plan["paces"]},
            "version": row.version,
        }

    def _cell_view(self, row: ExperimentRow, cell: CellRow) -> dict[str, Any]:
        config = self.config_of(row, cell)
        spec = ExperimentSpec.model_validate(row.spec)
        return {
            "cell_id": cell.id,
            "experiment_id": row.id,
            "setting": {spec.variable: spec.values[cell.value_index]}
            | ({"series": cell.series} if cell.series else {}),
            "value": spec.values[cell.value_index],
            "series": cell.series or None,
            "seed": cell.seed,
            "prediction": cell.choice,
            "job_id": cell.job_id,
            "started": cell.started_at is not None,
            "state": cell.state,
            "config": config.model_dump(mode="json", exclude_none=True),
            "member_id": cell.member_id,
        }

    def _open(self, code: str) -> ClassInfo:
        info = self.room.service.get_class(code)  # UnknownClass: 404
        if info.closed:
            raise ExperimentError(f"class {info.code} is closed", 403)
        return info

    def _experiment(self, code: str, experiment_id: str) -> ExperimentRow:
        info = self.room.service.get_class(code)
        with self.sessions() as session:
            row = session.get(ExperimentRow, experiment_id)
        if row is None or row.class_code != info.code:  # another class's experiment is not found here
            raise ExperimentError(f"class {info.code} has no experiment {experiment_id!r}", 404)
        return row

    def _cell(self, row: ExperimentRow, cell_id: str) -> CellRow:
        with self.sessions() as session:
            cell = session.get(CellRow, cell_id)
        if cell is None or cell.experiment_id != row.id:
            raise ExperimentError(f"experiment {row.id} has no cell {cell_id!r}", 404)
        return cell

    @staticmethod
    def _bump(session: Any, experiment_id: str) -> None:
        session.execute(
            update(ExperimentRow)
            .where(ExperimentRow.id == experiment_id)
            .values(version=ExperimentRow.version + 1)
        )


def _cell(
    experiment_id: str, position: int, series: str, value_index: int, seed: int, member_id: str | None = None
) -> CellRow:
    return CellRow(
        id=secrets.token_hex(8),
        experiment_id=experiment_id,
        position=position,
        series=series,
        value_index=value_index,
        seed=seed,
        member_id=member_id,
    )


def _marked(choice: str, measured: str | None) -> str:
    verdict = "open" if measured is None else "right" if choice == measured else "wrong"
    return f"{choice} ({verdict})"


def _open_to(info: ClassInfo, configs: list[TrainConfig]) -> None:
    """The class allows every model and method of the grid; else a 422 whose offer is the class's
    limits with them added (the dashboard's "allow them and plan again")."""
    limits = info.limits
    methods = sorted({str(c.method) for c in configs} - set(limits.allowed_methods))
    models = sorted({str(c.model) for c in configs} - set(limits.allowed_models))
    if not methods and not models:
        return
    named = (("method", methods), ("model", models))
    wanted = [f"{kind} {', '.join(names)}" for kind, names in named if names]
    opened = limits.model_copy(
        update={
            "allowed_methods": [*limits.allowed_methods, *methods],
            "allowed_models": [*limits.allowed_models, *models],
        }
    )
    raise ExperimentError(
        f"this experiment runs {' and '.join(wanted)}, not allowed in this class; allow "
        f"{'them' if len(methods) + len(models) > 1 else 'it'} in the class limits first "
        f"(PUT /api/classes/{info.code}/limits)",
        422,
        "method" if methods else "model",
        {"limits": opened.model_dump(mode="json"), "allow": [*methods, *models]},
    )


def _sized(spec: ExperimentSpec, name: str) -> int | None:
    """A size the instructor fixed (or the variable itself): not the planner's to choose."""
    if spec.variable == name:
        return max(int(v) for v in spec.values)  # type: ignore[arg-type]
    if spec.fixed.get(name) is not None:
        return int(spec.fixed[name])
    return None
