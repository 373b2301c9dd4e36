"""Picklable probes run inside a training worker process (``runner.call`` / ``runner.pool.ask``):
the tests cannot reach a worker's objects from the test process, so they look from within."""

from __future__ import annotations

import gc
import weakref
from typing import Any

_TRACKED: list[weakref.ref] = []  # in the worker process


def track_model(run: Any) -> bool:
    """A request against a held run: remember its model weakly; True if there was one."""
    if run.model is None:
        return False
    _TRACKED.append(weakref.ref(run.model))
    return True


def tracked_models_freed(worker: Any) -> bool:
    """Whether every tracked model has been garbage-collected in this worker."""
    gc.collect()
    return all(ref() is None for ref in _TRACKED)


def worker_pid(worker: Any) -> int:
    import os

    return os.getpid()


def lab_bases(worker: Any) -> tuple[int, list[str]]:
    """This worker's pid and the base models its adapter lab has loaded (none: no lab made yet)."""
    import os

    lab = worker.worker._lab
    return os.getpid(), sorted(model for model, _ in lab._bases) if lab is not None else []


def worker_niceness(worker: Any) -> int:
    """This worker process's niceness (``os.nice(0)`` reads it without changing it)."""
    import os

    return os.nice(0)
