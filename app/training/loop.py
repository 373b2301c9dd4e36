"""One training run as a generator of events: the loop that the runner, the CLI and the tests share.

    run = TrainingRun(resolve_job(config, task), cache=cache)   # or TrainingRun(config, cache=cache)
    for event in run.events():   # unstamped; ends with exactly one of done / failed / cancelled
        ...

A ``ResolvedJob`` (what the runner passes: resolved once, at submission) is trained as it is; a bare
``TrainConfig`` is resolved at the start of the run, where a bad one becomes a ``failed`` event.

The steps (numbered in ``_train``): config and task → the model, wrapped by the method → optimizer →
answers and held-out loss before → training steps (evaluations, ΔW spectra) → answers after → summary.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from app.events import Cancelled, Done, Eval, EventBase, Failed, Loading, Sample, Spectrum, Started, Step
from app.redact import hide_paths
from app.training import evaluation as ev
from app.training.loading import with_progress
from app.training.memory import memory_bytes, reset_peak
from app.training.methods import ConfigError, ResolvedJob, method_spec, resolve_job
from app.training.models import ModelCache
from app.training.registry import ModelNotAvailable
from app.training.spectra import dense_model_spectrum, lora_model_spectrum, soft_prompt_geometry
from app.training.steps import Steps
from app.training.tasks import Task, UnknownTaskError
from app.training.train_config import TrainConfig
from app.training.wrapping import Prepared, as_base, prepare

logger = logging.getLogger(__name__)

MAX_GRAD_NORM = 1.0
WARMUP_FRACTION = 0.1
SMALL_MODEL_PARAMS = 5_000_000
SPECTRUM_VALUES = 128  # singular values sent per layer (ranks use all of them; LoRA has at most r anyway)
EXPECTED = (ConfigError, ModelNotAvailable, UnknownTaskError)  # failures whose message is the whole story


class _Stop(Exception):
    """Raised between steps to end the run with a given terminal event (cancelled, time limit)."""

    def __init__(self, event: EventBase) -> None:
        self.event = event


class _LoadCancelled(BaseException):
    """Raised by a loading stage's progress report once the job is cancelled, ending the load between
    stages. A BaseException (like KeyboardInterrupt) so that loaders which try one source after
    another with ``except Exception`` let it through."""


class TrainingRun:
    def __init__(
        self,
        job: ResolvedJob | TrainConfig,
        cache: ModelCache,
        task: Task | None = None,
        cancel: threading.Event | None = None,
        time_limit_s: float | None = None,
    ) -> None:
        """``job``: resolved once by ``resolve_job``, or a config (and task) to resolve in the run."""
        self.config = job.config if isinstance(job, ResolvedJob) else job
        self.task = job.task if isinstance(job, ResolvedJob) else task
        self.resolved: TrainConfig | None = job.config if isinstance(job, ResolvedJob) else None
        self.cache = cache
        self.cancel = cancel or threading.Event()
        self.time_limit_s = time_limit_s
        self.prepared: Prepared | None = None
        self._started_at = 0.0

    @property
    def model(self) -> Any:
        return self.prepared.model if self.prepared else None

    @property
    def tokenizer(self) -> Any:
        return self.prepared.tokenizer if self.prepared else None

    # --------------------------------------------------------------------------- the loop

    def events(self) -> Iterator[EventBase]:
        """Every event of the run; never raises, always ends with one terminal event."""
        self._started_at = time.perf_counter()
        reset_peak()  # not the largest earlier run's in this warm worker
        threads = torch.get_num_threads()
        try:
            yield from self._train()
        except _Stop as stop:
            yield stop.event
        except _LoadCancelled:
            yield Cancelled()
        except EXPECTED as exc:
            yield Failed(error=hide_paths(str(exc)))
        except torch.cuda.OutOfMemoryError:
            yield Failed(error="out of GPU memory: try a smaller batch_size or seq_len")
        except Exception as exc:
            logger.exception("training run failed")
            yield Failed(error=hide_paths(f"{type(exc).__name__}: {exc}"))  # the log has the paths
        finally:
            torch.set_num_threads(threads)

    def _train(self) -> Iterator[EventBase]:
        # 1. the configuration, completed with the method's defaults, and the task
        if self.resolved is None or self.task is None:
            job = resolve_job(self.config, self.task)
            self.resolved, self.task = job.config, job.task
        cfg, task = self.resolved, self.task
        method = method_spec(cfg.method)
        yield Loading(stage="task", progress=1.0)

        # 2. the model: a fresh copy of the cached base, wrapped by the method
        prepared = yield from with_progress(
            lambda report: prepare(cfg, task, self.cache, self._unless_cancelled(report))
        )
        self.prepared = p = prepared
        self._check_stop(0)
        load_s = self._elapsed()
        if p.device == "cpu" and p.counts.total_params < SMALL_MODEL_PARAMS:
            torch.set_num_threads(1)  # tiny matrices: thread hand-offs cost more than they save

        # 3. optimizer over what the method trains, warmup then cosine decay
        params = [param for param in p.model.parameters() if param.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
        schedule = warmup_cosine(optimizer, cfg.steps)
        yield Started(
            model=cfg.model,
            method=cfg.method,
            task=task.name,
            device=p.device,
            trainable_params=p.counts.trainable_params,
            total_params=p.counts.total_params,
            trainable_pct=p.counts.trainable_pct,
            adapter_bytes=p.counts.adapter_bytes,
            steps=cfg.steps,
            weights=self.cache.weights_source(cfg.model),
            config=cfg.model_dump(),
        )

        # 4. before training: the base model's answers, the held-out loss and metric. Both depend on
        # the base alone where the method starts as the base, so a server works them out once.
        steps = p.steps
        assert steps is not None
        self._check_stop(0)
        prompts = list(task.sample_prompts)
        base_key = _base_key(cfg, task)
        yield Loading(stage="base samples", progress=0.0)  # named: on a busy CPU this takes minutes
        self._check_stop(0)
        before = self.cache.memo((*base_key, "answers"), lambda: self._base_answers(task, prompts))
        for prompt, text in zip(prompts, before, strict=True):
            yield Sample(step=0, prompt=prompt, before=text, after=text)
        yield Loading(stage="step-0 evaluation", progress=0.0)
        self._check_stop(0)
        if starts_as_base(cfg):
            last_eval = self.cache.memo((*base_key, "eval"), lambda: _eval(steps, task, 0)).model_copy()
        else:
            last_eval = _eval(steps, task, 0)
        yield last_eval
        if method.spectrum == "soft_prompt":
            yield self._spectrum(method.spectrum, 0)

        # 5. the training steps (the method's batches and loss: ours, or trl's for sft / dpo)
        data = steps.batches(cfg.batch_size, cfg.seed)
        p.model.train()
        losses: list[float] = []
        tokens_seen = 0
        train_start = time.perf_counter()
        for step in range(1, cfg.steps + 1):
            self._check_stop(step)
            batch = next(data)
            loss = steps.loss(p.model, batch)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
            lr = optimizer.param_groups[0]["lr"]  # the rate of this update (the schedule moves on below)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)

            losses.append(loss.item())
            tokens_seen += steps.tokens(batch)
            elapsed = time.perf_counter() - train_start
            yield Step(
                step=step,
                loss=losses[-1],
                lr=lr,
                grad_norm=float(grad_norm) if math.isfinite(float(grad_norm)) else -1.0,
                tokens_per_s=tokens_seen / max(elapsed, 1e-9),
                elapsed_s=elapsed,
                eta_s=elapsed / step * (cfg.steps - step),
                memory_bytes=memory_bytes(p.device),
            )
            if not math.isfinite(losses[-1]):
                raise ValueError(f"the loss diverged at step {step}: try a lower lr")
            if step % cfg.eval_every == 0 or step == cfg.steps:
                last_eval = _eval(steps, task, step)
                yield last_eval
            if method.spectrum != "none" and (step % cfg.spectrum_every == 0 or step == cfg.steps):
                yield self._spectrum(method.spectrum, step)

        # 6. after training: the tuned model's answers next to the base model's
        yield Loading(stage="tuned samples", progress=0.0)
        after = ev.answer(p.model, p.tokenizer, task, prompts, cfg.max_new_tokens, cfg.seq_len, p.device)
        for prompt, old, new in zip(prompts, before, after, strict=True):
            yield Sample(step=cfg.steps, prompt=prompt, before=old, after=new)

        # 7. the summary
        p.model.eval()
        yield Done(
            summary={
                "model": cfg.model,
                "method": cfg.method,
                "task": task.name,
                "device": p.device,
                "steps": cfg.steps,
                "wall_s": round(self._elapsed(), 2),
                "load_s": round(load_s, 2),
                "train_s": round(time.perf_counter() - train_start, 2),
                "final_loss": losses[-1],
                "final_eval_loss": last_eval.eval_loss,
                "metric": last_eval.metric,
                "metric_name": last_eval.metric_name,
                "degenerate": last_eval.degenerate,
                "trainable_params": p.counts.trainable_params,
                "total_params": p.counts.total_params,
                "trainable_pct": p.counts.trainable_pct,
                "adapter_bytes": p.counts.adapter_bytes,
                "peak_memory_bytes": memory_bytes(p.device),
                "tokens_seen": tokens_seen,
                "tokens_per_s": tokens_seen / max(time.perf_counter() - train_start, 1e-9),
                **steps.summary(),
            }
        )

    def _base_answers(self, task: Task, prompts: list[str]) -> list[str]:
        p, cfg = self.prepared, self.resolved
        assert p is not None and cfg is not None
        with as_base(p) as base:
            return ev.answer(base, p.tokenizer, task, prompts, cfg.max_new_tokens, cfg.seq_len, p.device)

    def _spectrum(self, kind: str, step: int) -> Spectrum:
        p = self.prepared
        assert p is not None
        start = time.perf_counter()
        if kind == "lora":
            event = Spectrum(step=step, layers=lora_model_spectrum(p.model, max_values=SPECTRUM_VALUES))
        elif kind == "dense":
            event = Spectrum(
                step=step,
                layers=dense_model_spectrum(p.model, p.snapshot, SPECTRUM_VALUES, rank=self.config.rank),
            )
        else:
            prompt = p.model.get_prompt_embedding_to_save(p.model.active_adapter)  # (k, d)
            vocab = p.model.get_input_embeddings().weight  # (V, d)
            geometry = soft_prompt_geometry(prompt, vocab, p.tokenizer, seed=self.config.seed)
            event = Spectrum(step=step, soft_prompt=geometry)
        event.compute_ms = 1000 * (time.perf_counter() - start)
        return event

    def _unless_cancelled(self, report: Callable[[str, float], None]) -> Callable[[str, float], None]:
        """``report``, raising _LoadCancelled first once the job is cancelled: cancel takes effect
        between loading stages, not after the whole load and the step-0 work."""

        def checked(stage: str, fraction: float) -> None:
            if self.cancel.is_set():
                raise _LoadCancelled
            report(stage, fraction)

        return checked

    def _check_stop(self, step: int) -> None:
        if self.cancel.is_set():
            raise _Stop(Cancelled())
        if self.time_limit_s is not None and self._elapsed() > self.time_limit_s:
            raise _Stop(Failed(error=f"time limit of {self.time_limit_s:g} s reached before step {step}"))

    def _elapsed(self) -> float:
        return time.perf_counter() - self._started_at

    # --------------------------------------------------------------------------- after the run

    def save_adapter(self, directory: Path | str) -> Path:
        """PEFT's adapter_config.json + adapter_model.safetensors (adapter methods only)."""
        from app.training.counting import is_peft

        if self.prepared is None:
            raise ValueError("the run has no model (it failed before loading, or was released)")
        if not is_peft(self.prepared.model):
            raise NotImplementedError(f"{self.config.method} trains no adapter: it changes the model itself")
        directory = Path(directory)
        self.prepared.model.save_pretrained(directory)
        return directory

    def generate(self, prompt: str, max_new_tokens: int | None = None) -> tuple[str, str]:
        """(tuned answer, base answer) to one prompt, greedy."""
        p, cfg, task = self.prepared, self.resolved, self.task
        if p is None or cfg is None or task is None:
            raise ValueError("the run has no model (it failed before loading, or was released)")
        n = max_new_tokens or cfg.max_new_tokens
        tuned = ev.answer(p.model, p.tokenizer, task, [prompt], n, cfg.seq_len, p.device)[0]
        with as_base(p) as base:
            original = ev.answer(base, p.tokenizer, task, [prompt], n, cfg.seq_len, p.device)[0]
        return tuned, original

    def release(self) -> None:
        """Drop the model (and its frozen base copy) so its memory can be reused."""
        self.prepared = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


# --------------------------------------------------------------------------- helpers


def warmup_cosine(optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over the first tenth of the steps, then cosine decay. Unlike transformers'
    ``get_cosine_schedule_with_warmup``, whose first update has lr 0 (a wasted step in a 20-step run),
    update k of n gets k/warmup of the peak during warmup and the last update a small positive rate."""
    warmup = max(1, round(WARMUP_FRACTION * steps))

    def factor(index: int) -> float:  # index: updates done so far (0 for the first)
        k = index + 1
        if k <= warmup:
            return k / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (k - warmup) / (steps - warmup + 1)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _eval(steps: Steps, task: Task, step: int) -> Eval:
    loss, metric, degenerate = steps.evaluate()
    return Eval(step=step, eval_loss=loss, metric=metric, metric_name=task.metric_name, degenerate=degenerate)


def starts_as_base(cfg: TrainConfig) -> bool:
    """Does the model at step 0 compute exactly what its base computes? Full fine-tuning starts from
    the base weights; LoRA's B starts at zero (DoRA's magnitude vector only rounds to the same). dpo
    starts as the base too, but its evaluation is trl's, of preference pairs: not shared."""
    return method_spec(cfg.method).starts_as_base and not cfg.use_dora


def _base_key(cfg: TrainConfig, task: Task) -> tuple[Any, ...]:
    """What the base's answers and held-out results depend on (the model's name comes first)."""
    content = repr(
        (task.kind, task.metric_name, task.metric_args, task.test, task.sample_prompts, task.labels)
    )
    digest = hashlib.sha256(content.encode()).hexdigest()
    base = method_spec(cfg.method).base_precision
    return (cfg.model, base, task.name, digest, cfg.seq_len, cfg.max_new_tokens)
