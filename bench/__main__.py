"""``python -m bench [NAME ...] [--quick]``: the benchmarks (tables printed, JSON in bench/results/).

The benchmarks are their own entry point, run from a source checkout: the product (``app``) never
imports them."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bench import BENCHMARKS, run_benchmarks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="benchmarks against a bare reference (bench/results/*.json)"
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"which benchmarks (default: all): {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small settings (a smoke run in under a minute)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        choices = ", ".join(BENCHMARKS)
        print(f"error: unknown benchmark {', '.join(unknown)}: choose from {choices}", file=sys.stderr)
        return 2
    results = run_benchmarks(args.names, quick=args.quick)
    failed = [name for name, result in results.items() if "error" in result]
    for name in failed:
        print(f"error: benchmark {name} failed: {results[name]['error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
