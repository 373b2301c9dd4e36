"""The OpenAPI spec declares every status a route can answer, not only its success.

Where each one comes from:
- 400: a Host header that does not name this server (app.api.headers), a body that is not parsable;
- 413: a body over the size limit (app.api.request_guards), on routes that take one;
- 422: a body, path or query value out of its schema (FastAPI's, or ours naming the field);
- 429: too many wrong instructor tokens from one address, checked wherever credentials are read
  (app.limits.guard) - any API route;
- 401/403: routes that need the instructor;
- 404: a path naming a job, class, member, lesson or question that does not exist;
- the rest per route (``EXTRA``): the limits and states each one checks.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

DESCRIPTIONS = {
    400: "bad request: unknown Host header or an unparsable body",
    401: "the instructor token is needed",
    403: "not allowed: wrong token, a student seat where the instructor is needed, or a class rule",
    404: "no such job, class, member, lesson or question",
    409: "conflict with the current state (e.g. the job is not finished, the name is taken)",
    413: "the body or upload is larger than the limit",
    422: "a field out of its limits (the message names the field and the limit)",
    429: "too many requests of this kind from this client; see Retry-After",
    503: "the queue is full (see Retry-After), or the training worker answering died or timed out",
}
ERROR_SCHEMA = {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}
INSTRUCTOR = {401, 403}
EXTRA: dict[tuple[str, str], set[int]] = {
    ("post", "/api/jobs"): {403, 429, 503},
    ("post", "/api/jobs/{job_id}/cancel"): {403, 409},
    ("get", "/api/jobs/{job_id}/adapter"): {409},
    ("get", "/api/jobs/{job_id}/notebook"): {409},
    ("post", "/api/jobs/{job_id}/generate"): {409, 429, 503},
    ("post", "/api/jobs/{job_id}/merge"): {409, 429, 503},  # 503: the adapter lab's worker was lost
    ("post", "/api/adapters/combine"): {404, 409, 429, 503},  # 404: a job it names does not exist
    ("post", "/api/adapters/{adapter_id}/generate"): {409, 429, 503},
    ("post", "/api/tasks"): {403, 409},
    ("get", "/api/lessons/{slug}/quiz/own-run/{job_id}"): {409},
    ("post", "/api/lessons/{slug}/quiz/own-run/{job_id}/answers"): {409},
    ("post", "/api/classes"): INSTRUCTOR,
    ("get", "/api/classes"): INSTRUCTOR,
    ("post", "/api/classes/{code}/join"): {403, 409},
    ("get", "/api/classes/me"): {404},
    ("post", "/api/classes/{code}/answers"): {403},
    ("get", "/api/classes/{code}"): INSTRUCTOR,
    ("get", "/api/classes/{code}/me"): {403},
    ("get", "/api/classes/{code}/dashboard"): INSTRUCTOR,
    ("put", "/api/classes/{code}/limits"): INSTRUCTOR,
    ("post", "/api/classes/{code}/pin"): INSTRUCTOR,
    ("post", "/api/classes/{code}/runs"): INSTRUCTOR | {429, 503},
    ("post", "/api/classes/{code}/questions/{question_id}/reset"): INSTRUCTOR,
    ("post", "/api/classes/{code}/close"): INSTRUCTOR,
    ("get", "/api/classes/{code}/results.csv"): INSTRUCTOR,
    ("delete", "/api/classes/{code}/members/{member_id}"): INSTRUCTOR,
    ("post", "/api/classes/{code}/flood"): INSTRUCTOR,
    ("post", "/api/classes/{code}/joining"): INSTRUCTOR,
    ("post", "/api/auth/login"): {403},
    ("post", "/api/classes/{code}/experiments"): INSTRUCTOR | {503},  # 503: calibration did not finish
    ("get", "/api/classes/{code}/experiments"): {403},
    ("get", "/api/classes/{code}/experiments/{experiment_id}"): INSTRUCTOR,
    ("get", "/api/classes/{code}/experiments/{experiment_id}/cell"): {403},
    ("post", "/api/classes/{code}/experiments/{experiment_id}/cell/prediction"): {403, 409},
    ("post", "/api/classes/{code}/experiments/{experiment_id}/cell/start"): {403, 409, 429, 503},
    ("post", "/api/classes/{code}/experiments/{experiment_id}/start"): INSTRUCTOR | {409},
    ("post", "/api/classes/{code}/experiments/{experiment_id}/cells/{cell_id}/run"): INSTRUCTOR | {409, 503},
    ("post", "/api/classes/{code}/experiments/{experiment_id}/cells/{cell_id}/assign"): INSTRUCTOR | {409},
    ("get", "/api/classes/{code}/experiments/{experiment_id}/results"): {401, 403},
    ("get", "/api/classes/{code}/experiments/{experiment_id}/results.csv"): INSTRUCTOR,
}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {400, 429}
    if "requestBody" in operation:
        statuses |= {413, 422}
    parameters = operation.get("parameters", [])
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    return statuses | EXTRA.get((method, path), set())


def declare_error_responses(app: FastAPI) -> None:
    """Make ``app.openapi()`` list the error statuses of every API route."""
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and app.openapi_schema.get("x-errors-declared"):
            return app.openapi_schema
        schema = plain_openapi()
        for path, operations in schema["paths"].items():
            if not path.startswith("/api/"):
                continue
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(_statuses(path, method, operation)):
                    responses.setdefault(
                        str(status),
                        {
                            "description": DESCRIPTIONS[status],
                            "content": {"application/json": {"schema": ERROR_SCHEMA}},
                        },
                    )
        schema["x-errors-declared"] = True
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
