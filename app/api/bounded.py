"""The one bound on work that runs a model for a request: generation, and the adapter lab's swap,
combine and merge. Each counts against the per-client and per-address rates (shared by every web
process, in the database) and then waits in this process's ``GenerationGate`` (a few at a time on
threads of their own, a short line, 429 beyond it), so none of them can take the threads the rest
of the API needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from app.api.deps import CredentialsDep, GenerationGateDep, LimiterDep, OwnerDep
from app.limits.counters import RateLimiter
from app.limits.errors import Throttled
from app.limits.generation import GenerationGate
from app.limits.policies import GENERATIONS_PER_ADDRESS, GENERATIONS_PER_CLIENT

T = TypeVar("T")


class ModelWork:
    """``await bound.run(fn)``: counted, then run on a generation thread (Throttled: 429)."""

    def __init__(self, limiter: RateLimiter, gate: GenerationGate, owner: str | None, address: str | None):
        self.limiter, self.gate, self.owner, self.address = limiter, gate, owner, address

    async def run(self, work: Callable[[], T]) -> T:
        await run_in_threadpool(self.count)
        return await self.gate.run(work)

    def count(self) -> None:
        """Throttled past the per-client rate (seat or instructor, else the address) or per address."""
        client = self.owner or f"address:{self.address}"
        for key, rate in (
            (f"generate:{client}", GENERATIONS_PER_CLIENT),
            (f"generate-addr:{self.address}", GENERATIONS_PER_ADDRESS),
        ):
            verdict = self.limiter.hit(key, rate)
            if not verdict.allowed:
                raise Throttled(
                    f"at most {rate.describe()} generations and adapter-lab actions; "
                    f"try again in {verdict.retry_after} s",
                    verdict.retry_after,
                )


async def model_work(
    limiter: LimiterDep, gate: GenerationGateDep, owner: OwnerDep, who: CredentialsDep
) -> ModelWork:
    return ModelWork(limiter, gate, owner, who.address)


ModelWorkDep = Annotated[ModelWork, Depends(model_work)]
