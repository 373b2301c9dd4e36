"""Main-thread long tasks of the lesson page in Chromium with software WebGL (SwiftShader), the worst
case a school machine without a GPU driver gives: the longest task while each widget mounts (scrolled
to, one at a time, in page order), the total blocking time, the frame times while hovering over and
dragging each 3D plot and while stepping the LoRA rank slider, and the bytes of plotly.js.

Measured, not asserted (a shared CPU makes the absolute numbers noisy). Usage:

    PYTHONPATH=$PWD python bench/page_perf.py [--out bench/results/page_perf.json]

Runs its own server on a free port (``FTLAB_TEST_BASE_URL`` points it at a running one instead).

A narrower mode compares drags on one 3D plot under several trace settings side by side, alternating
them in one page so the machine's load falls on each alike (the first setting is the reference):

    python bench/page_perf.py --drag lora-explorer:1 --repeats 5 \
        --variant 'opaque={"opacity": 1}' --variant 'see-through={"opacity": 0.95}'
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

LESSON = "fine-tuning-llms"

# Installed before any page script: every long task (> 50 ms) with its start and duration.
OBSERVE = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
}).observe({ type: 'longtask', buffered: true });
"""

# Frame intervals (requestAnimationFrame deltas) until window.__stopFrames is set.
FRAMES = """
() => { window.__frames = []; window.__stopFrames = false; let last = performance.now();
  const tick = (t) => {
    window.__frames.push(t - last); last = t; if (!window.__stopFrames) requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }
"""


MOUNTED = "fs => fs.map(f => f.dataset.widget)"


def settle(page, quiet_ms: int = 1500, limit_s: float = 60) -> None:
    """Wait until no long task has started for ``quiet_ms`` (the mount's work is over)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        last_end = page.evaluate("Math.max(0, ...window.__longtasks.map(t => t.start + t.duration))")
        if page.evaluate("performance.now()") - last_end > quiet_ms:
            return


def measure(page, base_url: str, viewport: dict) -> dict:
    page.set_viewport_size(viewport)
    page.goto(f"{base_url}/lessons/{LESSON}")
    page.wait_for_selector("section.lesson-section")
    settle(page)
    first = page.evaluate("window.__longtasks.slice()")
    widgets = page.eval_on_selector_all("figure.widget[data-widget]", "fs => fs.map(f => f.dataset.widget)")
    per_widget = {}
    for widget in widgets:
        before = page.evaluate("window.__longtasks.length")
        mounted = page.eval_on_selector_all("figure.widget[data-mounted]", MOUNTED)
        page.locator(f"#widget-{widget}").scroll_into_view_if_needed()
        page.evaluate(f"document.getElementById('widget-{widget}').scrollIntoView({{block: 'start'}})")
        page.wait_for_function(
            f"['yes', 'failed'].includes(document.getElementById('widget-{widget}').dataset.mounted)",
            timeout=120_000,
        )
        settle(page)
        tasks = page.evaluate(f"window.__longtasks.slice({before})")
        per_widget[widget] = {
            "longest_ms": round(max((t["duration"] for t in tasks), default=0.0)),
            "blocking_ms": round(sum(t["duration"] - 50 for t in tasks)),
            "tasks": len(tasks),
            # the page mounts neighbours early: what this scroll mounted (its tasks are theirs too)
            "mounted_now": sorted(
                set(page.eval_on_selector_all("figure.widget[data-mounted]", MOUNTED)) - set(mounted)
            ),
        }
    plots = three_d_frames(page)
    slider = slider_frames(page)
    everything = page.evaluate("window.__longtasks.slice()")
    return {
        "viewport": viewport,
        "first_screen_longest_ms": round(max((t["duration"] for t in first), default=0.0)),
        "widgets": per_widget,
        "total_blocking_ms": round(sum(t["duration"] - 50 for t in everything)),
        "longest_ms": round(max((t["duration"] for t in everything), default=0.0)),
        "plots_3d": plots,
        "rank_slider": slider,
        "plotly_bytes": page.evaluate(PLOTLY_BYTES),
    }


PLOTLY_BYTES = """() => {
  const e = performance.getEntriesByType('resource').find(r => r.name.includes('/vendor/plotly'));
  if (!e) return null;
  return { url: e.name, transferred: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize };
}"""

# Every 3D plot of the lesson: widget, index among the page's plots, trace types (after it drew).
THREE_D = """() => [...document.querySelectorAll('figure.widget .plot')].map((p, i) => ({ i,
  widget: p.closest('figure.widget').dataset.widget, scene: Boolean(p._fullLayout && p._fullLayout.scene),
  types: (p._fullData || []).map(t => t.type) }))"""


def frame_stats(page, before: int, started: float) -> dict:
    page.evaluate("window.__stopFrames = true")
    frames = page.evaluate("window.__frames.slice(1)")
    tasks = page.evaluate(f"window.__longtasks.slice({before})")
    ordered = sorted(frames)
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "median_frame_ms": round(statistics.median(frames), 1) if frames else None,
        "p90_frame_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1) if frames else None,
        "max_frame_ms": round(max(frames), 1) if frames else None,
        "frames": len(frames),
        "longest_task_ms": round(max((t["duration"] for t in tasks), default=0.0)),
    }


def pointer_frames(page, plot, *, press: bool, moves: int = 30) -> dict:
    """Frame intervals while the mouse moves across the plot (hovering, or dragging when ``press``)."""
    box = plot.bounding_box()
    if not box:
        return {"error": "no plot"}
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.evaluate(FRAMES)
    before = page.evaluate("window.__longtasks.length")
    started = time.perf_counter()
    page.mouse.move(x, y)
    if press:
        page.mouse.down()
    for i in range(moves):
        page.mouse.move(x + box["width"] * 0.4 * (i + 1) / moves, y + 8 * (i % 5))
    if press:
        page.mouse.up()
    page.wait_for_timeout(200)
    return frame_stats(page, before, started)


def three_d_frames(page) -> list[dict]:
    """Hover, then drag, across each 3D plot once it has drawn (a plot draws only near the screen)."""
    results = []
    for entry in page.evaluate(THREE_D):
        plot = page.locator("figure.widget .plot").nth(entry["i"])
        plot.scroll_into_view_if_needed()
        page.evaluate(
            "i => document.querySelectorAll('figure.widget .plot')[i].scrollIntoView({block: 'center'})",
            entry["i"],
        )
        page.wait_for_timeout(500)
        settle(page, quiet_ms=1000)
        drawn = page.evaluate(THREE_D)[entry["i"]]
        if not drawn["scene"]:
            continue
        results.append(
            {
                "widget": drawn["widget"],
                "plot": entry["i"],
                "types": sorted(set(drawn["types"])),
                "hover": pointer_frames(page, plot, press=False),
                "drag": pointer_frames(page, plot, press=True),
            }
        )
        settle(page, quiet_ms=1000)
    return results


def slider_frames(page, presses: int = 15) -> dict:
    """Frame intervals while the LoRA explorer's rank slider steps up by keyboard, one step per 50 ms."""
    slider = page.locator("#widget-lora-explorer input[type=range][name=r]")
    slider.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    settle(page, quiet_ms=1000)
    slider.focus()
    page.evaluate(FRAMES)
    before = page.evaluate("window.__longtasks.length")
    started = time.perf_counter()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(50)
    settle(page, quiet_ms=800)
    return {"presses": presses, **frame_stats(page, before, started)}


def drag_variants(page, base_url: str, widget: str, index: int, variants: dict, repeats: int) -> dict:
    """Median drag frame per repeat for each ``Plotly.restyle`` setting of one plot, alternating, and
    each setting's per-repeat ratio to the first (median, lowest, highest)."""
    page.goto(f"{base_url}/lessons/{LESSON}")
    page.wait_for_selector("section.lesson-section")
    page.evaluate(f"document.getElementById('widget-{widget}').scrollIntoView()")
    plot = page.locator(f"#widget-{widget} .plot").nth(index)
    plot.scroll_into_view_if_needed()
    drawn = f"document.querySelectorAll('#widget-{widget} .plot')[{index}].dataset.drawn === 'yes'"
    page.wait_for_function(drawn, timeout=120_000)
    settle(page, quiet_ms=1000)
    medians: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, restyle in variants.items():
            page.evaluate(
                "([w, i, r]) => window.Plotly.restyle(document.querySelectorAll(`#widget-${w} .plot`)[i], r)",
                [widget, index, restyle],
            )
            settle(page, quiet_ms=800)
            medians[name].append(pointer_frames(page, plot, press=True)["median_frame_ms"])
    first = next(iter(variants))
    ratios = {
        name: sorted(v / r for v, r in zip(values, medians[first], strict=True) if v and r)
        for name, values in medians.items()
    }
    return {
        "plot": f"{widget}:{index}",
        "median_frame_ms": medians,
        "ratio_to_first": {
            name: {"median": round(statistics.median(r), 2), "low": round(r[0], 2), "high": round(r[-1], 2)}
            for name, r in ratios.items()
            if r
        },
    }


def server(args: argparse.Namespace):
    external = os.environ.get("FTLAB_TEST_BASE_URL")
    if external:
        return nullcontext(external.rstrip("/"))
    from app.config import Settings
    from app.main import create_app
    from tests.utils.server import live_server

    data = Path(tempfile.mkdtemp(prefix="ftlab-page-perf-"))
    settings = Settings(data_dir=data, instructor_token="page-perf-instructor", device="cpu", cpu_workers=1)
    return live_server(create_app(settings))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here too")
    parser.add_argument("--label", default="", help="a name for this run (e.g. the branch)")
    parser.add_argument("--chromium", default=os.environ.get("FTLAB_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--drag", metavar="WIDGET:INDEX", help="only drags on this plot, per --variant")
    parser.add_argument(
        "--variant", action="append", default=[], metavar='NAME={"opacity": 1}', help="a restyle of the plot"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    results = {"label": args.label, "load_average": list(os.getloadavg()), "cpu_count": os.cpu_count()}
    started = time.time()
    with server(args) as base_url, sync_playwright() as playwright:
        from tests.browser.conftest import CHROMIUM_ARGS  # the browser tests' flags: the same browser

        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            runs = []
            if args.drag:
                widget, index = args.drag.rsplit(":", 1)
                variants = {name: json.loads(v) for name, v in (s.split("=", 1) for s in args.variant)}
                context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
                context.add_init_script(OBSERVE)
                page = context.new_page()
                results["drag"] = drag_variants(page, base_url, widget, int(index), variants, args.repeats)
                context.close()
            for viewport in ({"width": 1440, "height": 900},) if not args.drag else ():
                context = browser.new_context(viewport=viewport, bypass_csp=True)
                context.add_init_script(OBSERVE)
                runs.append(measure(context.new_page(), base_url, viewport))
                context.close()
            results["runs"] = runs
            results["load_average_after"] = list(os.getloadavg())
            results["seconds"] = round(time.time() - started)
        finally:
            browser.close()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # PYTHONPATH wins
    sys.exit(main())
