"""Layout slips of issue 21 (point 10) in the memory calculator: the rank slider is hidden (and out of
the Tab order) for methods without a rank, an untouched calculator leaves the URL alone, and on a
phone its chart comes before its controls."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import open_lesson

pytestmark = pytest.mark.browser

CALC = "#widget-memory-calculator"


def test_rank_slider_only_for_lora_and_no_unasked_url_parameters(page) -> None:
    open_lesson(page)
    page.locator(CALC).scroll_into_view_if_needed()
    page.wait_for_selector(f"{CALC} .plot")
    assert "mem_" not in page.url, page.url  # nobody set anything yet
    rank = page.locator(f"{CALC} input[name=mem-rank]")
    method = page.locator(f"{CALC} .choice", has_text="method")
    method.get_by_role("button", name="full fine-tuning", exact=True).click()  # the spec's prose name
    assert not rank.is_visible()
    # Not a Tab stop either: Tab from the last method button skips to the next visible control.
    page.locator(f"{CALC} input[name=mem-seq]").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.name") != "mem-rank"
    method.get_by_role("button", name="LoRA", exact=True).click()
    assert rank.is_visible()
    assert "mem_method=lora" in page.url and "mem_model" not in page.url


def test_calculator_chart_before_controls_on_a_phone(phone) -> None:
    open_lesson(phone)
    phone.locator(CALC).scroll_into_view_if_needed()
    phone.wait_for_selector(f"{CALC} .plot")
    chart = phone.evaluate(f"document.querySelector('{CALC} .plot-row').getBoundingClientRect().top")
    controls = phone.evaluate(f"document.querySelector('{CALC} .controls').getBoundingClientRect().top")
    assert chart < controls


def test_hero_caption_is_announced_once_not_every_frame(page) -> None:
    open_lesson(page)
    page.wait_for_function("document.querySelector('.hero-summary')?.textContent.includes('step')")
    assert page.locator(".hero-summary").get_attribute("aria-live") is None
    status = page.locator(".hero [role=status]")
    assert status.inner_text() == ""  # the first play is not read out
    page.evaluate(
        """() => { window.__said = 0; new MutationObserver(() => { window.__said += 1; }).observe(
             document.querySelector('.hero [role=status]'),
             { childList: true, characterData: true, subtree: true }); }"""
    )
    page.get_by_role("button", name="Replay the run").click()
    page.wait_for_function("document.querySelector('.hero [role=status]')?.textContent.includes('step')")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__said") == 1


def test_two_parameter_totals_say_which_is_which(page) -> None:
    open_lesson(page)
    widget = page.locator("#widget-trainable-share")
    widget.scroll_into_view_if_needed()
    gap = widget.locator("[data-count=measured-gap]")
    gap.wait_for(timeout=60_000)
    counts = widget.locator(".counts").inner_text()
    assert "without any adapter" in counts  # the drawn total says what it counts
    numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*\d", gap.inner_text())]
    measured_total, drawn, adapter, small = numbers
    # The two totals differ by exactly the parts named: the adapter and the norm weights.
    assert measured_total == drawn + adapter + small, gap.inner_text()
    assert f"{drawn:,}" in counts.split("\n")[0] and f"of {measured_total:,}" in counts


def test_model_dropdown_shows_the_whole_name(page) -> None:
    open_lesson(page)
    page.evaluate("document.querySelector('#widget-live-panel').scrollIntoView({block: 'start'})")
    select = "#widget-live-panel select[name=model]"
    page.wait_for_selector(select)
    fit = page.evaluate(
        """(sel) => { const s = document.querySelector(sel); const style = getComputedStyle(s);
             const ctx = document.createElement('canvas').getContext('2d'); ctx.font = style.font;
             const text = s.selectedOptions[0].textContent;
             const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24;
             return { text, width: ctx.measureText(text).width, room }; }""",
        select,
    )
    assert fit["text"].startswith("SmolLM2-135M-Instruct (")
    assert fit["width"] <= fit["room"], fit  # the name, size and kind, not "SmolLM2-135M-Instruct ("
    options = f"[...document.querySelector('{select}').options].map(o => o.textContent)"
    assert not any(o.count("untrained") > 1 for o in page.evaluate(options))


# Where plotly draws each text label of the virtual tokens, in CSS pixels of the scene: the point is
# projected with the scene's own camera matrices (as plotly places its hover label), and the label is
# centred above it ('top center'), as wide as its text in the trace's font.
LABEL_BOXES = """(p) => {
  const scene = p._fullLayout.scene._scene;
  const cam = scene.glplot.cameraParams; const scale = scene.dataScale;
  const size = p.querySelector('.gl-container > div').getBoundingClientRect();
  const times = (m, v) => { const o = [0, 0, 0, 0];
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) o[b] += m[4 * a + b] * v[a]; return o; };
  const t = p._fullData.find((t) => t.name === 'virtual tokens');
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${t.textfont.size}px ${t.textfont.family}`;
  const boxes = [];
  t.x.forEach((x, k) => {
    if (!t.text[k]) return;
    const v = [x * scale[0], t.y[k] * scale[1], t.z[k] * scale[2], 1];
    const q = times(cam.projection, times(cam.view, times(cam.model, v)));
    const sx = (0.5 + (0.5 * q[0]) / q[3]) * size.width; const sy = (0.5 - (0.5 * q[1]) / q[3]) * size.height;
    const half = ctx.measureText(t.text[k]).width / 2; const bottom = sy - t.marker.size / 2;
    boxes.push({ text: t.text[k], left: sx - half, right: sx + half, top: bottom - t.textfont.size, bottom });
  });
  return { boxes, hover: t.hovertext };
}"""


def test_soft_prompt_labels_do_not_pile_up(page) -> None:
    open_lesson(page)
    page.evaluate("document.querySelector('#widget-soft-prompt-3d').scrollIntoView({block: 'start'})")
    plot = "document.querySelector('#widget-soft-prompt-3d .plot')"
    page.wait_for_function(
        f"{plot}?.dataset.drawn === 'yes' && {plot}._fullData.some(t => t.name === 'virtual tokens')",
        timeout=60_000,
    )
    page.wait_for_timeout(1000)  # the WebGL frame after the draw
    data = page.evaluate(f"({LABEL_BOXES})({plot})")
    boxes = data["boxes"]
    assert len(boxes) >= 2 and all(data["hover"]), data  # labels on the plot, every point named on hover
    for i, a in enumerate(boxes):
        for b in boxes[:i]:
            apart = (
                a["left"] >= b["right"] + 2
                or b["left"] >= a["right"] + 2
                or a["top"] >= b["bottom"] + 2
                or b["top"] >= a["bottom"] + 2
            )
            assert apart, (a, b)  # two labels never touch on the screen
    # The recorded run's eight tokens include a cluster: not all of them can be labelled apart.
    assert len(boxes) < len(data["hover"]), data
