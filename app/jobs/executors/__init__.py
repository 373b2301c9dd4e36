"""Where jobs run: the executors (local worker processes, Ray actors) and what runs inside them.

Both implement ``protocol.Executor`` and send the same typed reports; ``make_executor`` picks one once,
from the ``FTLAB_RUNNER`` backend, so the scheduler never asks which it has.
"""

from __future__ import annotations

from app.jobs.executors.local import WorkerPool
from app.jobs.executors.protocol import Executor, Reporter
from app.jobs.executors.worker import WorkerConfig


def make_executor(
    backend: str,
    size: int,
    config: WorkerConfig,
    report: Reporter,
    ray_num_cpus: float = 1.0,
    ray_num_gpus: float = 0.0,
) -> Executor:
    """``backend``: 'local' (spawned worker processes) or a Ray address ('ray', 'ray://h:p', 'h:p')."""
    if backend == "local":
        return WorkerPool(size, config, report)
    from app.jobs.executors.ray_actors import RayPool  # Ray is an optional extra

    return RayPool(size, config, report, backend, ray_num_cpus, ray_num_gpus)
