"""Server facts the page needs: health, models, methods (defaults and limits), the event schema."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from fastapi import APIRouter

from app.api.deps import ModelCacheDep, RunnerDep, SettingsDep
from app.events import event_json_schema
from app.training.methods import METHODS
from app.training.registry import MODEL_REGISTRY
from app.training.train_config import TrainConfig

router = APIRouter(prefix="/api", tags=["server"])

_LIMIT_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "maxLength", "maxItems")


@router.get("/health")
async def health(runner: RunnerDep, cache: ModelCacheDep, settings: SettingsDep) -> dict[str, Any]:
    # On the event loop, not the shared thread pool: a pool busy with slow requests must not make
    # the health check look like an outage (runner.stats reads the counts its scheduler keeps, no query).
    # job_time_limit_s: the panel warns when a run's estimate passes it (a job is stopped there)
    return {
        "status": "ok",
        "device": cache.device,
        "queue": runner.stats(),
        "job_time_limit_s": settings.job_time_limit_s,
    }


@router.get("/models")
def models(settings: SettingsDep) -> list[dict[str, Any]]:
    listed = [
        {
            "name": spec.name,
            "kind": spec.kind,
            "label": spec.label,
            "hub_id": spec.hub_id,
            "untrained": spec.untrained,
        }
        for spec in MODEL_REGISTRY.values()
    ]
    extra = [
        {"name": hub_id, "kind": "causal", "label": hub_id, "hub_id": hub_id, "untrained": False}
        for hub_id in settings.allowed_hub_models
    ]
    return listed + extra


@router.get("/methods")
def methods() -> list[dict[str, Any]]:
    """Each method with its defaults (what ``None`` in a TrainConfig becomes) and every field's limits."""
    limits = config_limits()
    return [{**_method_info(name, spec), "limits": limits} for name, spec in METHODS.items()]


@router.get("/events/schema")
def events_schema() -> dict[str, Any]:
    """JSON schema of the event union, shared by the browser and the tests."""
    return event_json_schema()


@cache
def config_limits() -> dict[str, dict[str, Any]]:
    """From TrainConfig's JSON schema: each field's bounds, default and help text."""
    properties = TrainConfig.model_json_schema()["properties"]
    limits = {}
    for name, schema in properties.items():
        bounds = {key: schema[key] for key in _LIMIT_KEYS if key in schema}
        for option in schema.get("anyOf", []):  # `int | None` fields keep their bounds in anyOf
            bounds.update({key: option[key] for key in _LIMIT_KEYS if key in option})
        limits[name] = {
            **bounds,
            "default": schema.get("default"),
            "description": schema.get("description", ""),
        }
    return limits


def _method_info(name: str, spec: Any) -> dict[str, Any]:
    info = dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else dict(vars(spec))
    return {"name": name, **{key: value for key, value in info.items() if not callable(value)}}
