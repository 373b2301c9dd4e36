"""Error text shown to clients never carries the server's file system layout."""

from __future__ import annotations

import re

# An absolute path: "/" then at least two segments (so "a/b" ratios and single "/" stay).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.@+~-]+/)+([\w.@+~-]*)")


def hide_paths(text: str) -> str:
    """``/root/.cache/ftlab/models/smollm2-135m`` → ``…/smollm2-135m``: the name says what is
    missing, the directories above it are the server's business (logged, never sent)."""
    return _ABSOLUTE_PATH.sub(lambda match: "…/" + match.group(1) if match.group(1) else "…/", text)
