"""``ftlab train --model M --method X --task T [--steps N ...] [--jsonl]``: one job, in this process.

Every TrainConfig field is an option (``--seq-len``, ``--target-modules q_proj v_proj``, ``--use-dora``),
so the CLI and POST /api/jobs take the same settings with the same limits. ``--jsonl`` prints each
stamped event as one JSON line on stdout; otherwise a readable progress display. Ctrl-C asks the run to
stop between steps (it ends with a ``cancelled`` event); a second Ctrl-C stops at once.
Exit status: 0 done, 1 failed, 2 bad options, 130 cancelled.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import types
import uuid
from pathlib import Path
from typing import Any, TextIO, get_args

from pydantic import ValidationError

from app.json_numbers import number_type
from app.training.train_config import TrainConfig

EXIT = {"done": 0, "failed": 1, "cancelled": 130}
LOG_EVERY = 5  # steps between progress lines in the readable display (the first and last always show)


def add_command(subparsers: Any) -> None:
    train = subparsers.add_parser(
        "train",
        help="run one fine-tuning job in this process",
        description="Run one fine-tuning job here; options left out take the method's defaults.",
    )
    for name, info in TrainConfig.model_fields.items():
        _add_field_option(train, name, info)
    train.add_argument("--jsonl", action="store_true", help="print one event per line (JSON) on stdout")
    train.add_argument("--save-adapter", type=Path, metavar="DIR", help="write the PEFT adapter files here")
    train.add_argument("--time-limit", type=float, metavar="S", help="fail the run after S seconds")
    train.add_argument("--device", default=None, help="auto, cpu or cuda (default: the settings' device)")
    train.set_defaults(func=run_train)


def _add_field_option(parser: argparse.ArgumentParser, name: str, info: Any) -> None:
    """One option per TrainConfig field; pydantic checks the values (and names the field) afterwards."""
    flag = "--" + name.replace("_", "-")
    help_text = info.description or ""
    annotation = info.annotation
    if annotation is bool:
        parser.add_argument(flag, dest=name, action="store_true", default=None, help=help_text)
        return
    is_list = _is_list(annotation)
    default_note = "" if info.default is None else f" (default {info.default})"
    parser.add_argument(
        flag,
        dest=name,
        nargs="+" if is_list else None,
        type=number_type(annotation),  # TrainConfig takes JSON numbers, not text
        default=None,
        metavar=name.upper(),
        help=(help_text + default_note) if not is_list else help_text,
    )


def _is_list(annotation: Any) -> bool:
    kinds = get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    return any(getattr(kind, "__origin__", None) is list for kind in kinds)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The given options as a TrainConfig (numbers parsed by argparse; raises ValidationError)."""
    given = {name: getattr(args, name) for name in TrainConfig.model_fields}
    return TrainConfig.model_validate({name: value for name, value in given.items() if value is not None})


def run_train(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.events import EventStamper
    from app.training.loop import TrainingRun
    from app.training.methods import ConfigError, resolve_job
    from app.training.models import ModelCache

    try:
        config = config_from_args(args)
        _check_task(config.task)
        job = resolve_job(config)  # bad combinations are reported before any model loads
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "config"
            print(f"error: --{field.replace('_', '-')}: {error['msg']}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"error: --{exc.field.replace('_', '-')}: {str(exc).split(': ', 1)[1]}", file=sys.stderr)
        return 2
    settings = get_settings()
    try:
        cache = ModelCache(settings.model_dir, args.device or settings.device)
    except ValueError as exc:
        print(f"error: --device: {exc}", file=sys.stderr)
        return 2

    cancel = threading.Event()
    run = TrainingRun(job, cache=cache, cancel=cancel, time_limit_s=args.time_limit)
    show = _print_jsonl if args.jsonl else _Display(sys.stdout)
    stamper = EventStamper(f"cli-{uuid.uuid4().hex[:8]}")
    last = "failed"
    with _cancel_on_interrupt(cancel):
        for event in stamper.stamp_all(run.events()):
            show(event)
            last = event.type  # type: ignore[attr-defined]
    if last == "done" and args.save_adapter is not None:
        try:
            path = run.save_adapter(args.save_adapter)
        except NotImplementedError as exc:
            print(f"note: no adapter saved: {exc}", file=sys.stderr)
        else:
            print(f"adapter saved to {path}", file=sys.stderr)
    run.release()
    return EXIT.get(last, 1)


def _check_task(name: str) -> None:
    from app.training.methods import ConfigError
    from app.training.tasks import builtin_task_names

    if name not in builtin_task_names():  # the CLI has no uploaded tasks (the server does)
        raise ConfigError("task", f"unknown task {name!r}; valid tasks: {', '.join(builtin_task_names())}")


def _print_jsonl(event: Any) -> None:
    print(event.model_dump_json(), flush=True)


class _cancel_on_interrupt:
    """The first Ctrl-C sets the cancel flag (the loop stops between steps); the next one interrupts."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum: int, frame: Any) -> None:
        print("\nstopping after this step (Ctrl-C again to stop now)", file=sys.stderr, flush=True)
        self.cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)


class _Display:
    """A readable account of the events: loading, parameters, progress lines, evals, samples, summary."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.steps = 0
        self.stage = ""

    def __call__(self, event: Any) -> None:
        handler = getattr(self, f"_{event.type}", None)
        if handler is not None:
            handler(event)
            self.out.flush()

    def _line(self, text: str) -> None:
        print(text, file=self.out)

    def _loading(self, ev: Any) -> None:
        if ev.stage != self.stage or ev.progress >= 1.0:
            self.stage = ev.stage
            self._line(f"loading {ev.stage}: {ev.progress:.0%}")

    def _started(self, ev: Any) -> None:
        self.steps = ev.steps
        self._line(
            f"{ev.method} on {ev.model} / {ev.task} ({ev.device}): {ev.trainable_params:,} of "
            f"{ev.total_params:,} parameters train ({ev.trainable_pct:.3f} %), "
            f"adapter {ev.adapter_bytes / 1e6:.2f} MB, {ev.steps} steps"
        )

    def _step(self, ev: Any) -> None:
        if ev.step == 1 or ev.step == self.steps or ev.step % LOG_EVERY == 0:
            self._line(
                f"step {ev.step:>4}/{self.steps}  loss {ev.loss:.4f}  lr {ev.lr:.2e}  "
                f"|g| {ev.grad_norm:.2f}  {ev.tokens_per_s:,.0f} tok/s  eta {ev.eta_s:.0f} s  "
                f"mem {ev.memory_bytes / 2**20:,.0f} MiB"
            )

    def _eval(self, ev: Any) -> None:
        metric = "" if ev.metric is None else f"  {ev.metric_name} {ev.metric:.3f}"
        self._line(f"eval @ {ev.step}: held-out loss {ev.eval_loss:.4f}{metric}")

    def _spectrum(self, ev: Any) -> None:
        if ev.soft_prompt is not None:
            norms = ev.soft_prompt.norms
            nearest = [tokens[0] for tokens in ev.soft_prompt.nearest_tokens if tokens]
            self._line(
                f"soft prompt @ {ev.step}: mean norm {sum(norms) / max(len(norms), 1):.3f}, "
                f"nearest tokens {nearest[:8]}"
            )
        elif ev.layers:
            ranks = [layer.effective_rank for layer in ev.layers]
            top = max(layer.singular_values[0] for layer in ev.layers if layer.singular_values)
            self._line(
                f"ΔW spectra @ {ev.step}: {len(ev.layers)} layers, largest σ {top:.4f}, "
                f"effective rank {min(ranks)}–{max(ranks)}"
            )

    def _sample(self, ev: Any) -> None:
        if ev.step == 0:
            self._line(f"sample  {ev.prompt!r}\n  base:  {ev.before!r}")
        else:
            self._line(f"sample  {ev.prompt!r}\n  before: {ev.before!r}\n  after:  {ev.after!r}")

    def _done(self, ev: Any) -> None:
        s = ev.summary
        metric = "" if s.get("metric") is None else f", {s['metric_name']} {s['metric']:.3f}"
        eval_loss = s.get("final_eval_loss")
        held_out = "" if eval_loss is None else f", held-out loss {eval_loss:.4f}"
        self._line(
            f"done in {s['wall_s']:.1f} s (load {s['load_s']:.1f} s): loss {s['final_loss']:.4f}"
            f"{held_out}{metric}; peak memory {s['peak_memory_bytes'] / 2**20:,.0f} MiB"
        )

    def _failed(self, ev: Any) -> None:
        self._line(f"failed: {ev.error}")

    def _cancelled(self, ev: Any) -> None:
        self._line("cancelled")
