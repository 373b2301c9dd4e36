"""1. Streaming overhead: median step time of a job through the runner over a bare torch + peft loop.

Ours: a real server (uvicorn + the app: runner, SQLite store, broadcaster), the job posted with
POST /api/jobs and watched by one websocket subscriber, spectrum every 10 steps, eval at the
method's default interval. Bare: :mod:`bench.bare`, same model, data, batch and seed, in the same
process. The two alternate (ABBA); each repeat's pair (ours and bare, run back to back under the same
machine load) gives one ratio of median step times, and the reported ratio is the median of those
paired ratios with their spread (min to max). Pooling every repeat's steps before taking medians would
compare medians drawn under different loads when the machine's load changes between repeats.
Step times skip the first step (warm-up) on both sides; ours are differences of the step events'
``elapsed_s``, so they include publishing each event. Spectra (``compute_ms`` of the spectrum
events) and evaluations are reported separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.bare import bare_run, load_base
from bench.common import interleaved, median, print_table, print_targets, target, write_result
from bench.common import repeats as bench_repeats
from bench.jobs import WatchedJob, run_job, step_seconds
from bench.server import running_server

TARGET_RATIO = 1.03
# Smaller than the method defaults (4 x 128, 32 new tokens) so a run fits a shared 2-core CPU in
# minutes; both sides use the same. Generated tokens only size the before/after samples and the
# eval metric, which are outside the step times.
BATCH, SEQ_LEN, NEW_TOKENS = 2, 64, 4


def paired_ratios(ours: Sequence[Sequence[float]], bare: Sequence[Sequence[float]]) -> dict[str, Any]:
    """``ours[i]`` and ``bare[i]``: the step times of repeat i's pair. Each pair's ratio of medians,
    their median (the reported ratio) and its spread."""
    per_repeat = [median(o) / median(b) for o, b in zip(ours, bare, strict=True)]
    return {
        "ratio": median(per_repeat),
        "ratio_per_repeat": per_repeat,
        "ratio_min": min(per_repeat),
        "ratio_max": max(per_repeat),
    }


def _eval_seconds(job: WatchedJob, step_median: float) -> list[float]:
    """Each in-training evaluation's cost: the step after it took this much longer than the median
    step (its spectrum's own compute time taken out)."""
    steps = job.of_type("step")
    spectra = {e["step"]: e["compute_ms"] / 1000 for e in job.of_type("spectrum")}
    out = []
    for ev in job.of_type("eval"):
        s = ev["step"]
        if 0 < s < len(steps):  # the final eval has no following step
            extra = steps[s]["elapsed_s"] - steps[s - 1]["elapsed_s"] - step_median - spectra.get(s, 0.0)
            out.append(extra)
    return out


def _measure(method: str, steps: int, repeats: int, server: Any, base: Any, tokenizer: Any) -> dict[str, Any]:
    from app.training.methods import METHODS

    defaults = METHODS[method].defaults["causal"]
    config = {
        "model": "smollm2-135m",
        "method": method,
        "task": "tone",
        "steps": steps,
        "seed": 0,
        "spectrum_every": 10,
        "batch_size": BATCH,
        "seq_len": SEQ_LEN,
        "max_new_tokens": NEW_TOKENS,
    }
    jobs: list[WatchedJob] = []

    def ours() -> list[float]:
        job = run_job(server, config)
        jobs.append(job)
        return step_seconds(job)

    def bare() -> list[float]:
        times = bare_run(
            base,
            tokenizer,
            method,
            steps,
            lr=defaults.lr,
            batch_size=BATCH,
            seq_len=SEQ_LEN,
        )
        return times[1:]

    runs = interleaved({"ours": ours, "bare": bare}, repeats)
    ours_all = [t for run in runs["ours"] for t in run]
    bare_all = [t for run in runs["bare"] for t in run]
    ours_med, bare_med = median(ours_all), median(bare_all)  # absolute times, for the record
    spectra_ms = [e["compute_ms"] for job in jobs for e in job.of_type("spectrum")]
    evals = [x for job in jobs for x in _eval_seconds(job, ours_med)]
    return {
        "method": method,
        "steps": steps,
        "repeats": repeats,
        "batch_size": BATCH,
        "seq_len": SEQ_LEN,
        "max_new_tokens": NEW_TOKENS,
        "eval_every": defaults.eval_every,
        "spectrum_every": 10,
        "ours_step_s": ours_all,
        "bare_step_s": bare_all,
        "ours_median_s": ours_med,
        "bare_median_s": bare_med,
        **paired_ratios(runs["ours"], runs["bare"]),
        "spectrum_ms": spectra_ms,
        "spectrum_median_ms": median(spectra_ms),
        "eval_extra_s": evals,
        "eval_median_s": median(evals),
        "job_wall_s": [job.terminal["summary"]["wall_s"] for job in jobs],
    }


def run(quick: bool = False) -> dict[str, Any]:
    from app.config import get_settings

    methods = ["lora"] if quick else ["lora", "full"]
    steps, repeats = (3, 1) if quick else (12, bench_repeats(2))
    base, tokenizer = load_base(get_settings().model_dir)
    rows: list[dict[str, Any]] = []
    with running_server() as server:
        for method in methods:  # written after each method: a partial run still leaves numbers
            rows.append(_measure(method, steps, repeats, server, base, tokenizer))
            write_result("overhead", quick, {"rows": rows, "partial": method != methods[-1]})
    print_table(
        f"overhead: smollm2-135m on {rows[0]['batch_size']}x{rows[0]['seq_len']}, {steps} steps x {repeats}",
        [
            "method",
            "ours step s",
            "bare step s",
            "ratio (median of pairs)",
            "per-repeat ratios",
            "spectrum ms",
            "eval s",
        ],
        [
            [
                r["method"],
                r["ours_median_s"],
                r["bare_median_s"],
                r["ratio"],
                " ".join(f"{x:.3f}" for x in r["ratio_per_repeat"]),
                r["spectrum_median_ms"],
                r["eval_median_s"],
            ]
            for r in rows
        ],
    )
    targets = [target(f"{r['method']} step ratio", r["ratio"], TARGET_RATIO) for r in rows]
    print_targets(targets)
    return write_result("overhead", quick, {"rows": rows, "targets": targets})
