"""3D scenes fill their plot (issue 21, point 10): measured on the pixels WebGL drew, not by eye.

Each scene is screenshotted with plotly's SVG layers (title, legend) hidden, and the box of everything
drawn (surface, axes, ticks, axis titles) is found in the pixels: no empty band above it, and nothing
touching the scene's edges (an axis title running off the canvas is cut off)."""

from __future__ import annotations

import base64

import pytest

from tests.browser.conftest import mount_all, open_lesson

pytestmark = pytest.mark.browser

PLOTS = "document.querySelectorAll('figure.widget .plot')"

# The box of the pixels that differ from the background (the top-right corner's colour).
INK = """async (b64) => {
  const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; const W = c.width;
  const bg = d.slice(4 * (W - 1), 4 * W);
  let top = -1, bottom = -1, left = W, right = -1;
  for (let y = 0; y < c.height; y++) for (let x = 0; x < W; x++) {
    const k = 4 * (y * W + x);
    if (Math.abs(d[k] - bg[0]) + Math.abs(d[k + 1] - bg[1]) + Math.abs(d[k + 2] - bg[2]) > 60) {
      if (top < 0) top = y; bottom = y; left = Math.min(left, x); right = Math.max(right, x);
    }
  }
  return { top, bottom, left, right, width: W, height: c.height };
}"""

WIDGET = f"i => {PLOTS}[i].closest('figure.widget').id"


def scene_ink(page, i: int) -> dict:
    page.evaluate(f"i => {PLOTS}[i].scrollIntoView({{block: 'center'}})", i)
    page.wait_for_function(f"i => {PLOTS}[i].dataset.drawn === 'yes'", arg=i, timeout=60_000)
    page.wait_for_timeout(1000)  # the WebGL frame after the draw
    svg = f"(i, v) => {PLOTS}[i].querySelectorAll('.main-svg').forEach(s => {{ s.style.visibility = v; }})"
    page.evaluate(f"([i, v]) => ({svg})(i, v)", [i, "hidden"])
    scene = page.locator("figure.widget .plot").nth(i).locator(".gl-container > div").first
    png = scene.screenshot()
    page.evaluate(f"([i, v]) => ({svg})(i, v)", [i, ""])
    return page.evaluate(INK, base64.b64encode(png).decode())


def test_every_3d_scene_starts_below_its_title_and_nothing_is_cut_off(page) -> None:
    open_lesson(page)
    mount_all(page)
    count = page.evaluate(f"{PLOTS}.length")
    measured = []
    for i in range(count):
        if not page.evaluate(f"i => {PLOTS}[i].checkVisibility()", i):
            continue  # the live panel's soft-prompt cell, hidden for LoRA
        page.evaluate(f"i => {PLOTS}[i].scrollIntoView({{block: 'center'}})", i)
        page.wait_for_function(f"i => {PLOTS}[i].dataset.drawn === 'yes'", arg=i, timeout=60_000)
        if not page.evaluate(f"i => Boolean({PLOTS}[i]._fullLayout.scene)", i):
            continue  # a 2D chart
        ink = scene_ink(page, i)
        widget = page.evaluate(WIDGET, i)
        measured.append((widget, i, ink))
    widgets = [w for w, _, _ in measured]
    for widget in ("widget-lora-explorer", "widget-spectrum-live"):
        assert widgets.count(widget) == 2, measured  # W/ΔW/B/A blocks and the rank-r surface; LoRA, full
    assert {"widget-soft-prompt-3d", "widget-trainable-share", "widget-live-panel"} <= set(widgets), measured
    slips = [
        (widget, i, ink)
        for widget, i, ink in measured
        if not (
            0 <= ink["top"] <= 40  # was 56-93 px of empty scene above the box
            # Nothing runs off the canvas: the drawing keeps clear of the left, right and bottom edges
            # (the spectrum's "index" title and the rank-r surface's "column" were cut off below).
            and ink["left"] >= 3
            and ink["right"] <= ink["width"] - 4
            and ink["bottom"] <= ink["height"] - 4
        )
    ]
    assert not slips, f"slips: {slips}; all: {measured}"
