"""Bounded generation: a few generations at a time on threads of their own, a short waiting line,
and a clear 429 beyond it.

Generation is the one request that takes seconds of CPU (SmolLM2: ~9 s for 128 tokens of a 900-
character prompt). Run on the server's shared thread pool, 60 of them took every thread and the
health check and the job list waited a minute. Here they run on their own ``concurrency`` threads,
at most ``max_waiting`` more wait (asynchronously: a waiting request holds no thread), and the rest
are refused at once with Retry-After from the measured duration. This bound is per process, as the
CPU it protects is; the per-client rates that decide *who* may generate are in the database
(``app.limits.policies``), shared by every process.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from app.limits.errors import Throttled

T = TypeVar("T")
MAX_PROMPT_CHARS = 1000  # a generate request's prompt, before tokenising
MAX_PROMPT_TOKENS = 256


class PromptTooLong(ValueError):
    """The prompt has more tokens than allowed (one message argument: it crosses process pipes)."""


def check_prompt_tokens(tokenizer: object, prompt: str, limit: int = MAX_PROMPT_TOKENS) -> None:
    """PromptTooLong when ``prompt`` is over ``limit`` tokens of the model's own tokenizer."""
    tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])  # type: ignore[operator]
    if tokens > limit:
        raise PromptTooLong(f"the prompt has {tokens} tokens; the limit is {limit}")


@dataclass(frozen=True)
class BoundedGenerate:
    """A tuned-model request (``runner.call``): the prompt's tokens counted by the job's own
    tokenizer where the model lives (no tokenizer loaded in the web process), then generation."""

    prompt: str
    max_new_tokens: int
    max_prompt_tokens: int = MAX_PROMPT_TOKENS

    def __call__(self, run: Any) -> tuple[str, str]:
        check_prompt_tokens(run.tokenizer, self.prompt, self.max_prompt_tokens)
        return run.generate(self.prompt, self.max_new_tokens)


class GenerationGate:
    def __init__(self, concurrency: int = 2, max_waiting: int = 8, typical_s: float = 5.0) -> None:
        self.concurrency, self.max_waiting = concurrency, max_waiting
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="ftlab-generate")
        self._slots: asyncio.Semaphore | None = None
        self._admitted = 0  # running + waiting, in this process
        self._typical_s = typical_s  # running average of one generation's seconds
        self._lock = threading.Lock()

    @property
    def admitted(self) -> int:
        return self._admitted

    def retry_after(self) -> int:
        """Seconds until a place in the line is likely free."""
        return max(1, math.ceil(self._typical_s * (self._admitted + 1) / self.concurrency))

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` on a generation thread once a slot is free; Throttled if the line is full."""
        if self._slots is None:  # made on the event loop that uses it
            self._slots = asyncio.Semaphore(self.concurrency)
        if self._admitted >= self.concurrency + self.max_waiting:
            raise Throttled(
                f"{self._admitted} generations are running or waiting on this server (the limit is "
                f"{self.concurrency + self.max_waiting}); try again in {self.retry_after()} s",
                self.retry_after(),
            )
        self._admitted += 1  # only the event loop thread touches it
        try:
            async with self._slots:
                loop = asyncio.get_running_loop()
                start = loop.time()
                result = await loop.run_in_executor(self._executor, work)
                with self._lock:
                    self._typical_s = 0.7 * self._typical_s + 0.3 * (loop.time() - start)
                return result
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
