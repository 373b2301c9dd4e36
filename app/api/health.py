"""Server facts the page needs: health, models, methods (defaults and limits), loading stages, the
event schema. ``page_facts`` is what every page carries in a JSON script tag (read by static/js/facts.js),
built from the same specs as the routes, so the page renders before any API call."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any

from fastapi import APIRouter

from app.api.deps import ModelCacheDep, RunnerDep, SettingsDep
from app.events import event_json_schema
from app.lesson.notebook_export import METHODS as NOTEBOOK_METHODS
from app.training.methods import METHODS
from app.training.registry import MODEL_REGISTRY
from app.training.stages import STAGE_WORDS
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


@router.get("/stages")
def stages() -> dict[str, str]:
    """Each loading stage a run reports (``loading`` events' ``stage``) with its words for the page."""
    return STAGE_WORDS


@cache
def page_facts() -> str:
    """The method specs (as ``/api/methods`` serves them, without the limits), the stage words and the
    methods the notebook export covers, as JSON for a page's ``<script type="application/json"
    id="ftlab-facts">`` (``<`` escaped)."""
    facts = {
        "methods": [_method_info(name, spec) for name, spec in METHODS.items()],
        "stages": STAGE_WORDS,
        "notebook_methods": list(NOTEBOOK_METHODS),
    }
    return json.dumps(facts).replace("<", "\\u003c")


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
