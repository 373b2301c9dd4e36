"""Swap, combine and merge finished jobs' LoRA adapters: who may, which jobs fit, where results live.

The work itself happens in the training core (``app.training.adapter_lab``) on whatever holds the tuned
models. This service reaches it through one seam, ``run_on_tuned_models(base_model, fn)``: ``fn`` takes
the ``AdapterLab`` and returns a plain result. The app passes ``Runner.run_on_adapter_lab``, which runs
``fn`` in a training worker (a process of the local pool or a Ray actor), the same worker for the same
base model; the web process never loads a model. Every ``fn`` here is a picklable
``functools.partial`` of an ``AdapterLab`` method with keyword arguments.

Errors are ``AdapterServiceError``s with an HTTP-like ``status`` (404 unknown or not visible, 409 not
finished, 422 does not fit, naming the ``field``, 503 the worker died or did not answer); the API maps
them one to one.
"""

from __future__ import annotations

import functools
import logging
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from app.identity import may_view
from app.jobs.executors.tuned import NotInMemory
from app.jobs.files.combined_store import CombinedStore, CombinedView
from app.jobs.files.uploads import load_task
from app.jobs.store import JobStore, JobView
from app.training.adapter_lab import (
    PRUNING,
    AdapterLab,
    AdapterLabError,
    CombinedAdapter,
    SwapAnswer,
    TaskScore,
    check_combination,
    check_compatible,
    precision_of,
)
from app.training.adapter_merge import MergeReport
from app.training.adapter_source import AdapterSource
from app.training.methods import LORA_METHODS, resolve_config
from app.training.registry import ModelNotAvailable
from app.training.tasks import load_builtin_task
from app.training.train_config import TrainConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")
RunOnTunedModels = Callable[[str, Callable[[AdapterLab], Any]], Any]  # (base model, fn)
MAX_COMBINED_PER_OWNER = 4
MAX_SOURCES = 4


class AdapterServiceError(Exception):
    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AdapterNotFound(AdapterServiceError):
    status = 404


class NotFinished(AdapterServiceError):
    status = 409


class LabUnavailable(AdapterServiceError):
    status = 503


class AdapterService:
    def __init__(
        self,
        store: JobStore,
        combined: CombinedStore,
        data_dir: Path,
        run_on_tuned_models: RunOnTunedModels,
        max_combined_per_owner: int = MAX_COMBINED_PER_OWNER,
    ) -> None:
        self.store, self.combined, self.data_dir = store, combined, data_dir
        self.run_on_tuned_models = run_on_tuned_models
        self.max_combined_per_owner = max_combined_per_owner

    # -- swap and merge a job's adapter -------------------------------------------------------
    def swap_generate(
        self,
        job_id: str,
        adapter_job_id: str,
        prompt: str,
        max_new_tokens: int,
        viewer: str | None,
        max_prompt_tokens: int | None = None,
    ) -> SwapAnswer:
        """Job ``job_id``'s base answering with job ``adapter_job_id``'s adapter active; a prompt over
        ``max_prompt_tokens`` of the base's tokens is a 422 naming ``prompt``."""
        own = self._source(job_id, viewer)
        other = own if adapter_job_id == job_id else self._source(adapter_job_id, viewer, field="adapter")
        self._check(check_compatible, [own, other], field="adapter")
        call = functools.partial(
            AdapterLab.swap_generate,
            source=other,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            max_prompt_tokens=max_prompt_tokens,
        )
        return self._run(own.config.model, call)

    def merge(self, job_id: str, viewer: str | None) -> MergeReport:
        source = self._source(job_id, viewer)
        self._check(check_compatible, [source], field="job")
        return self._run(source.config.model, functools.partial(AdapterLab.merge_report, source=source))

    # -- combined adapters --------------------------------------------------------------------
    def combine(
        self,
        job_ids: Sequence[str],
        weights: Sequence[float],
        combination: str,
        density: float | None,
        viewer: str | None,
    ) -> CombinedView:
        if not 1 <= len(job_ids) <= MAX_SOURCES:
            raise AdapterServiceError(f"combine 1 to {MAX_SOURCES} jobs, got {len(job_ids)}", "jobs")
        if len(set(job_ids)) != len(job_ids):
            raise AdapterServiceError("each job may appear once", "jobs")
        if len(weights) != len(job_ids):
            raise AdapterServiceError(
                f"{len(job_ids)} jobs need {len(job_ids)} weights, got {len(weights)}", "weights"
            )
        if combination in PRUNING and density is None:
            raise AdapterServiceError(
                f"{combination!r} prunes each adapter: give a density in (0, 1]", "density"
            )
        sources = [self._source(job_id, viewer, field="jobs") for job_id in job_ids]
        self._check(check_combination, sources, weights, combination, field="combination")
        combined_id = secrets.token_hex(8)
        directory = self.combined_root / combined_id
        directory.parent.mkdir(parents=True, exist_ok=True)
        call = functools.partial(
            AdapterLab.combine,
            sources=sources,
            weights=list(weights),
            combination=combination,
            directory=directory,
            density=density,
        )
        result: CombinedAdapter = self._run(sources[0].config.model, call)
        view = self.combined.add(id=combined_id, owner=viewer, **_row_fields(result, sources))
        self._bound(viewer)
        return view

    def get(self, combined_id: str, viewer: str | None) -> CombinedView:
        """A combined adapter the viewer may see, whose source jobs (and files) still exist."""
        view = self.combined.get(combined_id)
        if view is None or not may_view(viewer, view.owner):
            raise AdapterNotFound(f"no combined adapter {combined_id!r}")
        gone = [job_id for job_id in view.job_ids if not self._adapter_job_exists(job_id)]
        if gone or not (self.combined_root / combined_id).is_dir():
            self._drop(combined_id)  # evicted with its jobs
            raise AdapterNotFound(
                f"combined adapter {combined_id!r} is gone: its source jobs {gone} were removed"
            )
        return view

    def combined_dir(self, combined_id: str, viewer: str | None) -> Path:
        self.get(combined_id, viewer)
        return self.combined_root / combined_id  # ids are server-made hex: never user input

    def generate_combined(
        self,
        combined_id: str,
        prompt: str,
        max_new_tokens: int,
        viewer: str | None,
        max_prompt_tokens: int | None = None,
    ) -> SwapAnswer:
        view = self.get(combined_id, viewer)
        config = TrainConfig.model_validate(view.base_config)
        first = view.sources[0]
        task = self._task(first["task"])
        source = AdapterSource(f"combined-{combined_id}", config, self.combined_root / combined_id, task)
        call = functools.partial(
            AdapterLab.swap_generate,
            source=source,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            max_prompt_tokens=max_prompt_tokens,
        )
        return self._run(config.model, call)

    @property
    def combined_root(self) -> Path:
        return self.data_dir / "combined"

    # -- helpers ------------------------------------------------------------------------------
    def _source(self, job_id: str, viewer: str | None, field: str = "job") -> AdapterSource:
        """The adapter of a finished, visible LoRA-family job (errors name the reason)."""
        job = self.store.get_job(job_id)
        if job is None or not may_view(viewer, job.owner):
            raise AdapterNotFound(f"no job {job_id!r}", field)
        if job.state.value != "done":
            raise NotFinished(f"job {job_id} is {job.state.value}; its adapter exists once it is done", field)
        if job.method not in LORA_METHODS:
            raise AdapterServiceError(
                f"job {job_id} trained with {job.method!r}, which makes no LoRA adapter "
                f"(swap, combine and merge take {', '.join(LORA_METHODS)} jobs)",
                field,
            )
        if not job.has_adapter:
            raise NotFinished(f"job {job_id} saved no adapter", field)
        task = self._task(job.task)
        config = resolve_config(TrainConfig.model_validate(job.config), task.kind)
        return AdapterSource(job_id, config, self.data_dir / "adapters" / job_id, task)

    def _task(self, name: str) -> Any:
        try:
            return load_task(self.store, self.data_dir, name) or load_builtin_task(name)
        except LookupError as exc:
            raise AdapterNotFound(str(exc.args[0]), "task") from None

    def _adapter_job_exists(self, job_id: str) -> bool:
        job: JobView | None = self.store.get_job(job_id)
        return job is not None and job.has_adapter and (self.data_dir / "adapters" / job_id).is_dir()

    @staticmethod
    def _check(check: Callable[..., None], *args: Any, field: str) -> None:
        try:
            check(*args)
        except AdapterLabError as exc:
            raise AdapterServiceError(str(exc), field) from None

    def _run(self, base_model: str, call: Callable[[AdapterLab], T]) -> T:
        try:
            return self.run_on_tuned_models(base_model, call)
        except AdapterLabError as exc:
            raise AdapterServiceError(str(exc), exc.field) from None
        except (FileNotFoundError, ModelNotAvailable) as exc:
            raise NotFinished(f"the adapter or its base model is not available: {exc}") from None
        except NotInMemory as exc:  # the worker died or timed out: it is replaced, a retry may work
            raise LabUnavailable(f"the adapter lab's worker failed: {exc}") from None

    def _bound(self, owner: str | None) -> None:
        """Keep the owner's newest ``max_combined_per_owner`` combined adapters."""
        mine = self.combined.of_owner(owner)
        for old in mine[: max(0, len(mine) - self.max_combined_per_owner)]:
            self._drop(old.id)

    def _drop(self, combined_id: str) -> None:
        self.combined.delete(combined_id)
        shutil.rmtree(self.combined_root / combined_id, ignore_errors=True)
        logger.info("combined adapter %s removed", combined_id)


def _score(score: TaskScore) -> dict[str, Any]:
    return {
        "eval_loss": score.eval_loss,
        "metric": score.metric,
        "metric_name": score.metric_name,
        "degenerate": score.degenerate,
    }


def _row_fields(result: CombinedAdapter, sources: Sequence[AdapterSource]) -> dict[str, Any]:
    first = sources[0].config
    return {
        "model": first.model,
        "precision": precision_of(first),
        "combination": result.combination,
        "density": result.density,
        "rank": result.rank,
        "sources": [
            {
                "job_id": source.name,
                "task": source.task.name,
                "method": source.config.method,
                "rank": source.config.rank,
                "weight": weight,
                "eval": {task: _score(s) for task, s in result.source_scores[source.name].items()},
                "trainable_params": result.source_sizes[source.name][0],
                "adapter_bytes": result.source_sizes[source.name][1],
            }
            for source, weight in zip(sources, result.weights, strict=True)
        ],
        "base_config": first.model_dump(mode="json"),
        "eval": {task: _score(s) for task, s in result.scores.items()},
        "base_eval": {task: _score(s) for task, s in result.base_scores.items()},
        "trainable_params": result.trainable_params,
        "adapter_bytes": result.adapter_bytes,
        "seconds": result.seconds,
    }
