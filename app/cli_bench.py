"""``ftlab bench [NAME ...] [--quick]``: the benchmarks in ``bench/`` (tables printed, JSON written)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

NAMES = ("overhead", "spectra", "fanout", "first-step", "load", "memory")


def add_command(subparsers: Any) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks against a bare reference (bench/results/*.json)")
    bench.add_argument(
        "names", nargs="*", metavar="NAME", help=f"which benchmarks (default: all): {', '.join(NAMES)}"
    )
    bench.add_argument("--quick", action="store_true", help="small settings (a smoke run in under a minute)")
    bench.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    # bench/ sits next to app/ in the checkout and is not installed: make it importable from anywhere
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        from bench import run_benchmarks
    except ModuleNotFoundError:
        print(f"error: no bench package in {root} (ftlab bench runs from a source checkout)", file=sys.stderr)
        return 2
    unknown = [name for name in args.names if name not in NAMES]
    if unknown:
        choices = ", ".join(NAMES)
        print(f"error: unknown benchmark {', '.join(unknown)}: choose from {choices}", file=sys.stderr)
        return 2
    results = run_benchmarks(args.names, quick=args.quick)
    failed = [name for name, result in results.items() if "error" in result]
    for name in failed:
        print(f"error: benchmark {name} failed: {results[name]['error']}", file=sys.stderr)
    return 1 if failed else 0
