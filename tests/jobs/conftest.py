from __future__ import annotations

import pytest

from tests.utils.databases import database_url  # noqa: F401  (fixture)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
