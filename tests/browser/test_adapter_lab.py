"""The adapter lab widget in a real browser: the recorded session before anything trains (driven by
keyboard), then two finished tiny-llama runs: swap in the chat box, combine, merge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.browser.conftest import open_lesson
from tests.utils.server import live_server

pytestmark = pytest.mark.browser

RUN = {"model": "tiny-llama", "method": "lora", "steps": 30, "lr": 3e-2, "batch_size": 2, "seq_len": 32}
RUN |= {"max_new_tokens": 6, "eval_every": 2000}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own: the runs it trains stay out of the other browser tests."""
    from app.main import create_app

    data: Path = tmp_path_factory.mktemp("ftlab-adapter-lab")
    settings = Settings(data_dir=data, instructor_token="browser-lab-token", device="cpu", cpu_workers=1)
    with live_server(create_app(settings)) as url:
        yield url


def lab(page):  # noqa: ANN001, ANN201
    open_lesson(page)
    widget = page.locator("#widget-adapter-lab")
    widget.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('#widget-adapter-lab').dataset.mounted === 'yes'")
    return widget


def test_recorded_session_shows_offline_and_works_by_keyboard(page, base_url: str) -> None:
    recorded = httpx.get(f"{base_url}/api/adapters/recorded", timeout=30).json()
    widget = lab(page)
    assert "recorded" in widget.locator(".status-line").text_content()

    first, second = recorded["combinations"][:2]
    rows = widget.locator("table.data-table").first.locator("tbody tr")
    assert rows.count() == 4 and first["combination"] in rows.nth(2).inner_text()
    choose = widget.get_by_label("Combination")
    choose.focus()
    page.keyboard.press("ArrowDown")  # the keyboard alone switches the recorded combination
    page.wait_for_function(
        "(c) => document.querySelector('#widget-adapter-lab tbody tr:nth-child(3)').textContent.includes(c)",
        arg=second["combination"],
    )
    caption = widget.locator("table.data-table").first.locator("caption").inner_text()
    assert f"rank {second['rank']}" in caption

    swap = recorded["swaps"][0]
    answer = widget.locator(".adapter-lab-part").first.locator("pre").nth(1).inner_text()
    assert answer == swap["tuned"]
    mantissa, exponent = f"{recorded['merges'][0]['max_abs_logit_diff']:.1e}".split("e")
    shown = f"{mantissa}e{int(exponent):+d}"  # as JavaScript's toExponential(1)
    assert shown in widget.locator(".adapter-lab-part").nth(2).inner_text()


def finished_run(base_url: str, task: str) -> str:
    job_id = httpx.post(f"{base_url}/api/jobs", json={**RUN, "task": task}, timeout=30).json()["id"]
    deadline = time.monotonic() + 600
    while httpx.get(f"{base_url}/api/jobs/{job_id}", timeout=30).json()["state"] != "done":
        assert time.monotonic() < deadline, f"{task} run did not finish"
        time.sleep(0.2)
    return job_id


def own_answer(base_url: str, job_id: str, prompt: str = "Tell me about the sea") -> str:
    """The job's own tuned answer (its adapter on its own request), to compare a swapped answer with."""
    answer = httpx.post(f"{base_url}/api/jobs/{job_id}/generate", json={"prompt": prompt}, timeout=120)
    return answer.json()["tuned"]


def test_live_runs_swap_combine_merge(page, base_url: str) -> None:
    tone, json_job = finished_run(base_url, "tone"), finished_run(base_url, "json-extract")
    widget = lab(page)
    assert "your runs" in widget.locator(".status-line").text_content()

    swap_part, combine_part, merge_part = (widget.locator(".adapter-lab-part").nth(i) for i in range(3))
    swap_part.get_by_label("Answer with").select_option(json_job)
    swap_part.get_by_role("button", name="Ask").click()
    swap_part.get_by_text("switching to it took").wait_for(timeout=120_000)
    assert swap_part.locator("pre").nth(1).inner_text() == own_answer(base_url, json_job)

    combine_part.get_by_label("Combination").select_option("cat")
    combine_part.get_by_role("button", name="Combine and score").click()
    combine_part.locator("table.data-table").wait_for(timeout=300_000)
    assert "rank 16" in combine_part.locator("caption").inner_text()
    assert combine_part.get_by_role("link", name="Download the combined adapter (PEFT files)").count() == 1

    merge_part.get_by_label("Run").select_option(tone)
    merge_part.get_by_role("button", name="Merge and measure").click()
    merge_part.get_by_text("Largest difference").wait_for(timeout=300_000)
    assert merge_part.locator("tbody tr").count() == 3


def test_the_panel_chat_switches_between_runs_on_one_base(page, base_url: str) -> None:
    """The live panel's own "try it" box, after a finished run, offers the other finished runs on the
    same base and answers with the one chosen (the server swaps its adapter in)."""
    tone, json_job = finished_run(base_url, "tone"), finished_run(base_url, "json-extract")
    open_lesson(page, f"?job={tone}")
    panel = page.locator("#widget-live-panel")
    panel.scroll_into_view_if_needed()
    chooser = panel.get_by_label("Answer with the adapter of")
    chooser.wait_for(timeout=120_000)
    assert chooser.input_value() == tone  # this run by default
    chooser.select_option(json_job)
    panel.get_by_label("Your prompt").fill("Tell me about the sea")
    panel.get_by_role("button", name="Ask both models").click()
    panel.get_by_text("switching to its adapter on the shared base took").wait_for(timeout=120_000)
    assert panel.locator(".generate-box pre").nth(1).inner_text() == own_answer(base_url, json_job)
