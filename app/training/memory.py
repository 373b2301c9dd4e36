"""How much memory a run holds at its peak: the device's on CUDA, the process's resident set on the CPU
(every ``step`` event carries it as ``memory_bytes``). A warm worker runs job after job, so each run
starts its peak afresh (``reset_peak``); the resident base model counts, as the run holds it."""

from __future__ import annotations

import resource
from pathlib import Path

import torch


def memory_bytes(device: str) -> int:
    """Peak device memory on CUDA; the process's peak resident set on the CPU."""
    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    return peak_rss_bytes()


def reset_peak() -> None:
    """Make the peak this run's own: CUDA's peak counter, and Linux's VmHWM (writing 5 to clear_refs
    sets it to the current resident set). Elsewhere the peak stays the process's, since it started."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    """This process's peak resident set: Linux's VmHWM, which starts afresh with each program. (Linux
    carries ru_maxrss over fork and exec, so a child started by a big parent reports the parent's.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux
