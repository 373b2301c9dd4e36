"""3D plots under the mouse (charts/gl-calm.js): the hover label still comes once the mouse rests,
a drag still turns the scene, and hovering works again after a drag (the pick buffer is redrawn)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_lesson

pytestmark = pytest.mark.browser

SURFACE = "document.querySelectorAll('#widget-lora-explorer .plot')[1]"


LABEL = f"[...{SURFACE}.querySelectorAll('.hovertext text')].map(t => t.textContent).join(' ')"


def test_surface_hover_and_drag(page) -> None:
    open_lesson(page)
    page.evaluate("document.querySelector('#widget-lora-explorer').scrollIntoView({block: 'start'})")
    page.wait_for_function(f"{SURFACE} && {SURFACE}.dataset.drawn === 'yes'", timeout=60_000)
    page.evaluate(f"{SURFACE}.scrollIntoView({{block: 'center'}})")
    page.wait_for_function(f"{SURFACE}._fullLayout.scene._scene.glplot.ftlabCalm === true", timeout=60_000)
    # The surface is drawn without contour lines that follow the cursor, and no spike lines.
    trace = page.evaluate(f"{SURFACE}._fullData[0].contours")
    assert not any(trace[a]["highlight"] for a in "xyz")
    assert not page.evaluate(f"{SURFACE}._fullLayout.scene.xaxis.showspikes")
    box = page.locator("#widget-lora-explorer .plot").nth(1).bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.55
    page.mouse.move(cx - 40, cy)
    page.mouse.move(cx, cy, steps=5)
    page.wait_for_function(f"{LABEL}.includes('row')")
    assert "col" in page.evaluate(LABEL)
    camera = f"JSON.stringify({SURFACE}._fullLayout.scene._scene.getCamera().eye)"
    before = page.evaluate(camera)
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 10, steps=8)
    page.mouse.up()
    page.wait_for_timeout(300)
    assert page.evaluate(camera) != before, "the drag did not turn the scene"
    page.mouse.move(box["x"] + 2, box["y"] + 2)  # leave the surface: the label goes
    page.mouse.move(box["x"] - 20, box["y"] - 20)
    page.wait_for_function(f"!{LABEL}.includes('row')")
    page.mouse.move(cx, cy, steps=4)
    page.wait_for_function(f"{LABEL}.includes('row')")
