"""Degenerate text: replies that loop on a phrase ("Fair winds! Fair winds! Fair winds!").

A tuned model can learn a task's surface markers and then repeat them; a marker-counting metric
scores such a reply as perfect. The distinct-bigram ratio (distinct-2, Li et al. 2016, "A
Diversity-Promoting Objective Function for Neural Conversation Models") of a reply's words catches
it: unique word pairs / all word pairs is ≈ 1 for ordinary prose and falls as a phrase repeats.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DISTINCT_BIGRAMS_MIN = 0.75  # below this a reply counts as degenerate
MIN_WORDS = 4  # shorter replies have too few pairs to judge; they are not called degenerate
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def distinct_bigram_ratio(text: str) -> float:
    """Unique word bigrams / all word bigrams (1.0 for fewer than two words)."""
    tokens = words(text)
    pairs = list(zip(tokens, tokens[1:], strict=False))
    return len(set(pairs)) / len(pairs) if pairs else 1.0


def is_degenerate(text: str) -> bool:
    return len(words(text)) >= MIN_WORDS and distinct_bigram_ratio(text) < DISTINCT_BIGRAMS_MIN


def degenerate_share(texts: Sequence[str]) -> float:
    """Share of replies that are degenerate (0 for no replies)."""
    return sum(is_degenerate(t) for t in texts) / len(texts) if texts else 0.0
