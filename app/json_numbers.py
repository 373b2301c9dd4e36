"""Numbers as JSON writes them. A request's integer or number field takes a JSON number only:
``true``, ``false`` and ``"5"`` are refused (422 naming the field), not read as 1, 0 and 5 as pydantic's
lax mode would. Integral floats such as ``2.0`` stay valid integers, as in JSON Schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator


def _a_json_number(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError(f"must be a JSON number, not {type(value).__name__} {value!r}")
    return value


JsonInt = Annotated[int, BeforeValidator(_a_json_number)]
JsonFloat = Annotated[float, BeforeValidator(_a_json_number)]
