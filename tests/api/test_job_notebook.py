"""GET /api/jobs/{id}/notebook: a finished tiny-llama run downloads as a valid notebook naming its
settings; a run still going is a 409, an unknown job a 404."""

from __future__ import annotations

import httpx
import nbformat

from tests.api.conftest import LONG_JOB, TINY_JOB, submit, wait_for_state


def test_finished_run_downloads_as_a_notebook(server: str) -> None:
    job_id = submit(server, TINY_JOB)["id"]
    wait_for_state(server, job_id, {"done"})
    response = httpx.get(f"{server}/api/jobs/{job_id}/notebook", timeout=30)
    assert response.status_code == 200, response.text
    assert f'filename="ftlab-{job_id}.ipynb"' in response.headers["content-disposition"]
    notebook = nbformat.reads(response.text, as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "'steps': 4" in code and "get_peft_model" in code and "import app" not in code
    assert notebook.metadata["ftlab"]["job_id"] == job_id


def test_unfinished_and_unknown_runs(server: str) -> None:
    job_id = submit(server, LONG_JOB)["id"]
    early = httpx.get(f"{server}/api/jobs/{job_id}/notebook", timeout=30)
    assert early.status_code == 409 and "finished" in early.json()["detail"]
    httpx.post(f"{server}/api/jobs/{job_id}/cancel", timeout=30)
    assert httpx.get(f"{server}/api/jobs/nope/notebook", timeout=30).status_code == 404
