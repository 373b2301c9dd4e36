"""Result updates for every web process: each process polls (fast while an experiment is open)
for cells whose job has ended, measures them from their events (a compare-and-set, so one process
writes each), and wakes its own class listeners (topic ``experiment``) whenever an experiment's
``version`` moved - whichever process moved it. So a run's point reaches every process's students
within a poll of its ``done`` on SQLite and PostgreSQL alike, with local workers or Ray."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio.to_thread

from app.experiments.service import ExperimentService

logger = logging.getLogger(__name__)
FAST_S = 0.25  # while an experiment is open
IDLE_S = 2.0


class ResultWatcher:
    def __init__(
        self, service: ExperimentService, notify_here: Callable[[str, str], None], fast_s: float = FAST_S
    ) -> None:
        self.service = service
        self.notify_here = notify_here
        self.fast_s = fast_s
        self._seen: dict[str, int] = {}
        self.changed = 0  # experiments this process measured a run of (tests, benchmarks)

    async def run(self) -> None:
        while True:
            try:
                busy = await anyio.to_thread.run_sync(self.tick)
            except Exception:  # the database hiccuped: try again on the next round
                logger.exception("experiment watcher round failed")
                busy = False
            await asyncio.sleep(self.fast_s if busy else IDLE_S)

    def tick(self) -> bool:
        """One round: measure what ended, tell this process's listeners what changed. Returns
        whether an experiment is open (poll fast)."""
        busy = self.service.has_work()
        if busy:
            self.changed += len(self.service.measure_pending())
        for experiment_id, (code, version) in self.service.versions().items():
            if self._seen.get(experiment_id) != version:
                self._seen[experiment_id] = version
                self.notify_here(code, "experiment")
        return busy
