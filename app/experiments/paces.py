"""How fast this machine trains each model and method, for the planner: the measured pace of earlier
runs on this kind of executor (``planner.measured_pace``), else a short calibration run submitted as
the instructor's job and awaited; and which other models were measured faster, for the 422's offers."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.experiments import planner
from app.experiments.errors import ExperimentError
from app.experiments.planner import Pace
from app.identity import INSTRUCTOR_OWNER
from app.jobs.state import FINISHED
from app.jobs.store import JobStore
from app.jobs.submit import JobSubmitter
from app.rows import JobRow
from app.training.train_config import TrainConfig

TERMINAL_STATES = tuple(s.value for s in FINISHED)
CALIBRATION_TIMEOUT_S = 600.0


@dataclass
class Paces:
    sessions: sessionmaker
    store: JobStore
    submitter: JobSubmitter
    executor: str = "local"  # "local" | "ray": whose measured step times plan the grid
    calibrate_timeout_s: float = CALIBRATION_TIMEOUT_S

    def of(self, configs: list[TrainConfig]) -> dict[tuple[str, str], Pace]:
        """Measured step times per (model, method); a short calibration run where there is none."""
        paces: dict[tuple[str, str], Pace] = {}
        missing: dict[tuple[str, str], TrainConfig] = {}
        for config in configs:
            key = (config.model, config.method)
            if key in paces or key in missing:
                continue
            found = planner.measured_pace(self.sessions, *key, self.executor)
            if found is not None:
                paces[key] = found
            else:
                missing[key] = config
        jobs = {key: self._calibration_job(config) for key, config in missing.items()}
        for key, job_id in jobs.items():
            paces[key] = self._await_calibration(key, job_id)
        return paces

    def _calibration_job(self, config: TrainConfig) -> str:
        steps = planner.CALIBRATION_STEPS
        short = config.model_copy(update={"steps": steps, "eval_every": steps, "spectrum_every": steps})
        return self.submitter.submit(short, INSTRUCTOR_OWNER).id

    def _await_calibration(self, key: tuple[str, str], job_id: str) -> Pace:
        deadline = time.monotonic() + self.calibrate_timeout_s
        while time.monotonic() < deadline:
            job = self.store.get_job(job_id)
            if job is not None and job.state.value in TERMINAL_STATES:
                events = [e.data for e in self.store.events_after(job_id)]
                measured = planner.pace_of_run(job.config, events)
                if measured is None:
                    raise ExperimentError(
                        f"calibration run {job_id} of {key[0]}/{key[1]} ended {job.state.value} "
                        f"({job.error or 'no steps'}): no step time to plan with",
                        422,
                        "fixed",
                    )
                step_s, overhead_s, slots, load_s = measured
                return Pace(step_s, overhead_s, slots, 1, "calibration", load_s)
            time.sleep(0.25)
        raise ExperimentError(
            f"calibration run {job_id} of {key[0]}/{key[1]} did not finish in "
            f"{self.calibrate_timeout_s:.0f} s (the queue is busy); try again when it has",
            503,
        )

    def faster_models(self, configs: list[TrainConfig], paces: dict[tuple[str, str], Pace]) -> list[str]:
        """Models with a measured pace faster than the experiment's, for the same methods."""
        methods = {c.method for c in configs}
        slowest = max(p.step_s / p.slots for p in paces.values())
        found = []
        with self.sessions() as session:
            models = session.scalars(select(JobRow.model).where(JobRow.state == "done").distinct())
            for model in models:
                if model in {c.model for c in configs}:
                    continue
                measured = [planner.measured_pace(self.sessions, model, m, self.executor) for m in methods]
                if all(p is not None and p.step_s / p.slots < slowest for p in measured):
                    found.append(model)
        return found
