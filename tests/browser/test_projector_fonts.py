"""Projector mode (issue 21, point 8): a 3D chart's tick labels, legend and title grow by the same
factor as the page's body type, so nothing on the wall stays at laptop size."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_lesson

pytestmark = pytest.mark.browser

PLOT = "document.querySelector('#widget-spectrum-live .plot')"
SIZES = f"""() => {{
  const full = {PLOT}._fullLayout;
  return {{
    body: parseFloat(getComputedStyle(document.body).fontSize),
    tick: full.scene.xaxis.tickfont.size,
    ztick: full.scene.zaxis.tickfont.size,
    legend: full.legend.font.size,
    title: full.title.font.size,
  }};
}}"""


def sizes(page, query: str) -> dict:
    open_lesson(page, query)
    page.evaluate("document.querySelector('#widget-spectrum-live').scrollIntoView({block: 'start'})")
    # drawn is set when plotly starts; its full layout (legend, title, scene) is complete a little later
    full = f"{PLOT}._fullLayout"
    drawn = f"{PLOT}?.dataset.drawn === 'yes' && {full}?.legend?.font && {full}.title?.font"
    drawn += f" && {full}.scene?.xaxis"
    page.wait_for_function(drawn, timeout=60_000)
    return page.evaluate(SIZES)


def test_3d_ticks_and_legend_scale_with_the_body_font(page) -> None:
    laptop = sizes(page, "")
    wall = sizes(page, "?projector=1")
    growth = wall["body"] / laptop["body"]
    assert growth > 1.2, (laptop, wall)  # projector mode does enlarge the page's type
    for key in ("tick", "ztick", "legend", "title"):
        # Each chart font grows by the body's factor (to the nearest whole pixel), never stays put.
        rounding = 0.5 / laptop[key] + 0.01
        assert wall[key] / laptop[key] == pytest.approx(growth, abs=rounding), (key, laptop, wall)
    # In projector mode no 3D tick label is smaller than 60 % of the body text.
    assert min(wall["tick"], wall["ztick"]) >= 0.6 * wall["body"], wall
