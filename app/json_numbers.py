"""Numbers as JSON writes them. A request model that derives from ``JsonNumbers`` takes a JSON number
only in its integer and number fields (and in lists of them): ``true``, ``false`` and ``"5"`` are
refused with a 422 naming the field, not read as 1, 0 and 5 as pydantic's lax mode would. Integral
floats such as ``2.0`` stay valid integers, as in JSON Schema. The fields' types, bounds and JSON
schema are untouched."""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationInfo, field_validator

NUMBERS = (int, float)


def _scalar(annotation: Any) -> Any:
    """``int`` of ``int``, ``int | None`` or ``Annotated[int, …]``; the annotation itself otherwise."""
    if get_origin(annotation) is Annotated:
        return _scalar(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [k for k in get_args(annotation) if k is not type(None)]
        return _scalar(kinds[0]) if len(kinds) == 1 else annotation
    return annotation


def number_type(annotation: Any) -> type | None:
    """``int`` or ``float`` for a number field's annotation (optional or not); None otherwise."""
    kind = _scalar(annotation)
    return kind if kind in NUMBERS else None


@cache
def _number_fields(model: type[BaseModel]) -> dict[str, bool]:
    """The model's number fields, each with whether it is a list of numbers."""
    fields = {}
    for name, info in model.model_fields.items():
        kind = _scalar(info.annotation)
        if number_type(kind):
            fields[name] = False
        elif get_origin(kind) is list and _scalar(get_args(kind)[0]) in NUMBERS:
            fields[name] = True
    return fields


def _refuse(value: Any) -> None:
    if isinstance(value, bool | str):
        raise ValueError(f"must be a JSON number, not {type(value).__name__} {value!r}")


class JsonNumbers(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _json_numbers_only(cls, value: Any, info: ValidationInfo) -> Any:
        is_list = _number_fields(cls).get(info.field_name or "")
        if is_list is None:
            return value
        for item in value if is_list and isinstance(value, list) else [value]:
            _refuse(item)
        return value
