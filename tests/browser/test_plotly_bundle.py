"""The partial plotly.js bundle (scripts/plotly-bundle) holds every trace type the lesson draws:
each widget's plots, drawn one by one, use only registered types, and the bundle is the small one."""

from __future__ import annotations

import pytest

from tests.browser.conftest import mount_all, open_lesson

pytestmark = pytest.mark.browser

USED = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .flatMap(p => (p.data || []).map(t => t.type || 'scatter'))"""


def test_every_drawn_trace_type_is_in_the_bundle(page) -> None:
    open_lesson(page)
    mount_all(page)
    page.wait_for_function("window.Plotly !== undefined", timeout=60_000)
    registered = set(page.evaluate("Object.keys(Plotly.PlotSchema.get().traces)"))
    assert {"scatter", "bar", "scatter3d", "surface", "mesh3d"} <= registered
    assert "choroplethmap" not in registered and "scattergl" not in registered  # the partial one
    used: set[str] = set()
    # Charts draw only near the screen: visit each plot so every one has drawn once.
    for plot in page.locator("figure.widget .plot").all():
        plot.scroll_into_view_if_needed()
        page.wait_for_timeout(150)
        used |= set(page.evaluate(USED))
    assert {"surface", "mesh3d", "scatter3d", "scatter"} <= used
    assert used <= registered, f"drawn but not in the bundle: {used - registered}"
