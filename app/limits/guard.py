"""Throttling wrong instructor tokens, wherever a token is checked.

Why the correct token always works, even from an address that is being throttled: a room shares one
NAT address, so a lock-out per address would let any student lock the instructor out by typing ten
wrong tokens. The throttle therefore only limits *wrong* guesses: past the allowance, each wrong guess
is refused with 429 before it is compared, while the right token is still accepted. That answers
"right / not right" to a guesser at the throttled rate, which is harmless only if guessing is hopeless:
so the server refuses to start with an instructor token shorter than ``MIN_TOKEN_CHARS`` (16 random
URL-safe characters are 96 bits; at the allowance of 30 guesses a minute per address that is ~10^21
years), and the generated token has 32 characters. The count lives in the database, so every web
process sees the same guesses.
"""

from __future__ import annotations

from app.config import MIN_TOKEN_CHARS
from app.limits.counters import Rate, RateLimiter
from app.limits.errors import Throttled
from app.limits.policies import WRONG_TOKENS_PER_ADDRESS

__all__ = ["MIN_TOKEN_CHARS", "TokenGuard"]


class TokenGuard:
    def __init__(self, limiter: RateLimiter, rate: Rate = WRONG_TOKENS_PER_ADDRESS) -> None:
        self.limiter, self.rate = limiter, rate

    def wrong_guess(self, address: str) -> None:
        """Count a wrong token from ``address``; raise Throttled when it is over the allowance."""
        verdict = self.limiter.hit(f"wrong-token:{address}", self.rate)
        if not verdict.allowed:
            raise Throttled(
                f"too many wrong instructor tokens from this address ({self.rate.describe()}); "
                f"try again in {verdict.retry_after} s",
                verdict.retry_after,
            )
