"""Several finished jobs' LoRA adapters on one base model: swap, stack (combine) and score them.

    lab = AdapterLab(cache)
    answer = lab.swap_generate(source, prompt, max_new_tokens)   # that adapter active, its switch time
    combined = lab.combine(sources, weights, "cat", directory)    # PEFT files + each task's scores
    report = lab.merge_report(source)                            # see adapter_merge.py

Everything goes through peft's own multi-adapter machinery: the first adapter of a base comes in with
``PeftModel.from_pretrained``, the next ones with ``load_adapter`` under their own names, a request
picks one with ``set_adapter``, ``add_weighted_adapter`` builds a combination and ``save_pretrained``
writes it. The lab holds one base per (model, precision): dense bases are views of the cache's weights
(no bytes copied); a qlora base is its own 4-bit load, as training got it.

The lab is not thread-safe by itself (``set_adapter`` changes the shared model): whoever owns it runs
one call at a time (a training worker does: ``app.jobs.executors.worker.JobWorker.on_adapter_lab``).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from app.training import evaluation as ev
from app.training.adapter_merge import merge_report
from app.training.adapter_source import AdapterSource, base_key, precision_of
from app.training.methods import LORA_METHODS
from app.training.models import ModelCache
from app.training.registry import spec_for
from app.training.tasks import Task
from app.training.train_config import TrainConfig
from app.training.wrapping import load_base

logger = logging.getLogger(__name__)

# peft 0.21's add_weighted_adapter types, and what each asks of the sources' ranks (its
# _check_add_weighted_adapter): "equal" types add the A and B factors themselves, so shapes must
# match; "cat" stacks the factors (rank = the sum); the *_svd types add the full ΔW products and
# cut the sum back to the largest rank by SVD.
COMBINATIONS: dict[str, str] = {
    "linear": "equal",
    "ties": "equal",
    "dare_linear": "equal",
    "dare_ties": "equal",
    "magnitude_prune": "equal",
    "cat": "any",
    "svd": "any",
    "ties_svd": "any",
    "dare_linear_svd": "any",
    "dare_ties_svd": "any",
    "magnitude_prune_svd": "any",
}
PRUNING = {name for name in COMBINATIONS if name.startswith(("ties", "dare", "magnitude"))}  # need a density
MAX_ADAPTERS_PER_BASE = 8


class AdapterLabError(ValueError):
    """A request the lab cannot honour; the message names the reason (the jobs layer maps it to 422)."""

    field: str | None = None  # the request field it is about, where one is


class PromptTooLong(AdapterLabError):
    field = "prompt"


@dataclass(frozen=True)
class TaskScore:
    task: str
    eval_loss: float
    metric: float | None
    metric_name: str
    degenerate: float | None = None  # share of generated replies that loop (evaluation.degenerate_share)


@dataclass(frozen=True)
class SwapAnswer:
    adapter: str
    tuned: str
    base: str
    switch_ms: float  # set_adapter alone
    load_ms: float  # reading the adapter into the shared base (0.0 when it was already there)
    adapters_loaded: int  # adapters now sharing that base


@dataclass(frozen=True)
class CombinedAdapter:
    name: str
    directory: Path
    combination: str
    weights: list[float]
    density: float | None
    rank: int
    trainable_params: int
    adapter_bytes: int
    scores: dict[str, TaskScore]  # task → the combination's score
    source_scores: dict[str, dict[str, TaskScore]]  # adapter → task → its own score
    source_sizes: dict[str, tuple[int, int]]  # adapter → (params, adapter bytes)
    base_scores: dict[str, TaskScore]  # task → the base model's score
    seconds: float = 0.0


def check_compatible(sources: Sequence[AdapterSource]) -> None:
    """LoRA adapters of causal models on one base; raises AdapterLabError naming what differs."""
    for source in sources:
        cfg = source.config
        if cfg.method not in LORA_METHODS:
            raise AdapterLabError(
                f"{source.name} was trained with {cfg.method!r}, not a LoRA adapter "
                f"(only {', '.join(LORA_METHODS)} can be swapped, combined or merged)"
            )
        if spec_for(cfg.model).kind != "causal":
            raise AdapterLabError(f"{source.name} is a classifier on {cfg.model}; the lab serves causal LMs")
    keys = {base_key(s.config) for s in sources}
    if len(keys) > 1:
        shown = ", ".join(f"{s.name}: {s.config.model} ({precision_of(s.config)})" for s in sources)
        raise AdapterLabError(f"adapters must share one base model and precision; got {shown}")


def check_combination(sources: Sequence[AdapterSource], weights: Sequence[float], combination: str) -> None:
    """What peft's add_weighted_adapter accepts for these adapters (before loading anything)."""
    check_compatible(sources)
    if combination not in COMBINATIONS:
        raise AdapterLabError(f"unknown combination {combination!r}; valid: {', '.join(COMBINATIONS)}")
    if len(weights) != len(sources):
        raise AdapterLabError(f"{len(sources)} adapters but {len(weights)} weights")
    for source in sources:
        if source.config.use_dora or source.config.use_rslora:
            flag = "DoRA" if source.config.use_dora else "rsLoRA"
            why = (
                "its learned magnitude vectors are not combined (peft adds B·A only)"
                if source.config.use_dora
                else "peft folds α/√r into the weights but keeps use_rslora, rescaling the result by √r"
            )
            raise AdapterLabError(
                f"{source.name} is a {flag} adapter: add_weighted_adapter cannot combine it ({why})"
            )
        if source.task.kind != "chat":
            raise AdapterLabError(
                f"{source.name} trained on {source.task.name!r} ({source.task.kind} pairs); a combination is "
                "scored on held-out chat answers"
            )
    ranks = {s.name: s.config.rank for s in sources}
    if COMBINATIONS[combination] == "equal" and len(set(ranks.values())) > 1 and len(sources) > 1:
        shown = ", ".join(f"{name}: r={rank}" for name, rank in ranks.items())
        raise AdapterLabError(
            f"{combination!r} adds the A and B factors, so ranks must be equal ({shown}); "
            "use cat or an *_svd type"
        )


@dataclass
class _Base:
    model: Any  # peft PeftModel with several named adapters
    tokenizer: Any
    device: str
    adapters: OrderedDict[str, None] = field(default_factory=OrderedDict)  # least recently used first


class AdapterLab:
    def __init__(self, cache: ModelCache, max_adapters_per_base: int = MAX_ADAPTERS_PER_BASE) -> None:
        self.cache = cache
        self.max_adapters = max_adapters_per_base
        self._bases: dict[tuple[str, str], _Base] = {}
        self._scores: dict[tuple[str, str], TaskScore] = {}  # (adapter or base key, task) → score

    # -- swap -----------------------------------------------------------------------------------
    def swap_generate(
        self, source: AdapterSource, prompt: str, max_new_tokens: int, max_prompt_tokens: int | None = None
    ) -> SwapAnswer:
        """Greedy answer with ``source``'s adapter active on its shared base (and the base's own).
        PromptTooLong when the prompt has more than ``max_prompt_tokens`` of the base's tokens."""
        check_compatible([source])
        start = time.perf_counter()
        base, loaded = self._with_adapter(source)
        tokens = len(base.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if max_prompt_tokens is not None and tokens > max_prompt_tokens:
            raise PromptTooLong(f"the prompt has {tokens} tokens; the limit is {max_prompt_tokens}")
        load_ms = (time.perf_counter() - start) * 1000 if loaded else 0.0
        start = time.perf_counter()
        base.model.set_adapter(source.name, inference_mode=True)
        switch_ms = (time.perf_counter() - start) * 1000
        args = (base.tokenizer, source.task, [prompt], max_new_tokens, source.config.seq_len, base.device)
        tuned = ev.answer(base.model, *args)[0]
        with base.model.disable_adapter():
            original = ev.answer(base.model, *args)[0]
        return SwapAnswer(source.name, tuned, original, switch_ms, load_ms, len(base.adapters))

    # -- stack ----------------------------------------------------------------------------------
    def combine(
        self,
        sources: Sequence[AdapterSource],
        weights: Sequence[float],
        combination: str,
        directory: Path,
        density: float | None = None,
        seed: int = 0,
    ) -> CombinedAdapter:
        """``add_weighted_adapter`` over the sources, saved as PEFT files in ``directory`` (must not
        exist), scored on each source's task beside the sources themselves and the base."""
        check_combination(sources, weights, combination)
        if combination in PRUNING and density is None:
            raise AdapterLabError(f"{combination!r} prunes each adapter: give a density in (0, 1]")
        start = time.perf_counter()
        base = None
        for source in sources:
            base, _ = self._with_adapter(source, keep=[s.name for s in sources])
        assert base is not None
        name = f"combined-{directory.name}"
        with torch.random.fork_rng(devices=[]):  # dare_* prune at random: the same request, the same adapter
            torch.manual_seed(seed)
            try:
                base.model.add_weighted_adapter(
                    adapters=[s.name for s in sources],
                    weights=[float(w) for w in weights],
                    adapter_name=name,
                    combination_type=combination,
                    density=density if combination in PRUNING else None,
                )
            except (ValueError, TypeError) as exc:  # peft's own checks (e.g. target types it cannot mix)
                raise AdapterLabError(f"peft could not combine these adapters: {exc}") from None
        base.adapters[name] = None
        _save_one(base.model, name, directory)
        tasks = {s.task.name: s for s in sources}  # each task scored with its source's settings
        scores = {task: self._score(base, name, tasks[task], tasks[task].task) for task in tasks}
        source_scores = {
            s.name: {task: self._score(base, s.name, tasks[task], tasks[task].task) for task in tasks}
            for s in sources
        }
        base_scores = {task: self._score(base, None, tasks[task], tasks[task].task) for task in tasks}
        self._evict(base)
        return CombinedAdapter(
            name=name,
            directory=directory,
            combination=combination,
            weights=[float(w) for w in weights],
            density=density if combination in PRUNING else None,
            rank=int(base.model.peft_config[name].r),
            trainable_params=_adapter_params(base.model, name),
            adapter_bytes=(directory / "adapter_model.safetensors").stat().st_size,
            scores=scores,
            source_scores=source_scores,
            source_sizes={
                s.name: (_adapter_params(base.model, s.name), _file_bytes(s.adapter_dir)) for s in sources
            },
            base_scores=base_scores,
            seconds=time.perf_counter() - start,
        )

    def evaluate(self, source: AdapterSource, task_source: AdapterSource | None = None) -> TaskScore:
        """``source``'s adapter scored on a task (default its own) as training scores it: the held-out
        answer-token loss and the task's metric (evaluation.py), with that task's job's settings."""
        check_compatible([source])
        target = task_source or source
        base, _ = self._with_adapter(source)
        return self._score(base, source.name, target, target.task)

    # -- merge ----------------------------------------------------------------------------------
    def merge_report(self, source: AdapterSource, repeats: int = 5) -> Any:
        """See ``adapter_merge.merge_report`` (its own copies of the base: merging writes weights)."""

        check_compatible([source])
        return merge_report(source, self.cache, repeats=repeats)

    def release(self) -> None:
        self._bases.clear()
        self._scores.clear()

    # -- internals ------------------------------------------------------------------------------
    def _with_adapter(self, source: AdapterSource, keep: Sequence[str] = ()) -> tuple[_Base, bool]:
        """The base of ``source`` with its adapter loaded (loading either as needed); True if the
        adapter was read from disk now."""
        from peft import PeftModel

        key = base_key(source.config)
        base = self._bases.get(key)
        if base is None:
            with torch.random.fork_rng(devices=[]):  # load_base draws nothing for causal models; stay safe
                model, tokenizer = load_base(source.config, source.task, self.cache, _no_progress)
            peft_model = PeftModel.from_pretrained(
                model, source.adapter_dir, adapter_name=source.name, torch_device=self.cache.device
            )
            base = _Base(peft_model.eval().requires_grad_(False), tokenizer, self.cache.device)
            self._bases[key] = base
            loaded = True
        elif source.name not in base.model.peft_config:
            base.model.load_adapter(source.adapter_dir, adapter_name=source.name, torch_device=base.device)
            base.model.requires_grad_(False)
            loaded = True
        else:
            loaded = False
        base.adapters[source.name] = None
        base.adapters.move_to_end(source.name)
        self._evict(base, keep=[*keep, source.name])
        return base, loaded

    def _evict(self, base: _Base, keep: Sequence[str] = ()) -> None:
        """Delete the least recently used adapters beyond ``max_adapters`` (never one in ``keep``)."""
        for name in list(base.adapters):
            if len(base.adapters) <= self.max_adapters:
                return
            if name in keep:
                continue
            base.model.delete_adapter(name)
            del base.adapters[name]
            self._scores = {k: v for k, v in self._scores.items() if k[0] != name}

    def _score(self, base: _Base, adapter: str | None, settings: AdapterSource, task: Task) -> TaskScore:
        """Held-out loss and metric of one adapter (None: the base) on ``task``; cached per pair (a
        job's adapter never changes; a combination's name is new each time)."""
        cache_key = (adapter or f"base:{base_key(settings.config)}", task.name)
        if cache_key in self._scores:
            return self._scores[cache_key]
        cfg, model = settings.config, base.model
        if adapter is not None:
            model.set_adapter(adapter, inference_mode=True)
            score = _task_score(model, base, task, cfg)
        else:
            with model.disable_adapter():
                score = _task_score(model, base, task, cfg)
        self._scores[cache_key] = score
        return score


def _task_score(model: Any, base: _Base, task: Task, cfg: TrainConfig) -> TaskScore:
    """Scored as the training loop scores a run (NativeSteps.evaluate): loss, metric, looping share."""
    from app.training.steps import NativeSteps

    loss, metric, degenerate = NativeSteps(model, base.tokenizer, task, cfg, base.device).evaluate()
    metric = metric if metric is not None and math.isfinite(metric) else None
    return TaskScore(task.name, loss, metric, task.metric_name, degenerate)


def _save_one(model: Any, name: str, directory: Path) -> None:
    """PEFT files of adapter ``name`` at the top of ``directory`` (peft writes a named adapter into a
    subfolder of the one it is given: save beside, then move into place)."""
    staging = directory.parent / f".staging-{directory.name}"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, selected_adapters=[name])
    (staging / name).rename(directory)
    shutil.rmtree(staging, ignore_errors=True)


def _adapter_params(model: Any, name: str) -> int:
    """Parameters of one named adapter (peft's own count covers trainable ones; these are frozen)."""
    marker = f".{name}."
    return sum(p.numel() for n, p in model.named_parameters() if marker in n)


def _file_bytes(directory: Path) -> int:
    path = directory / "adapter_model.safetensors"
    return path.stat().st_size if path.is_file() else 0


def _no_progress(stage: str, fraction: float) -> None:
    pass
