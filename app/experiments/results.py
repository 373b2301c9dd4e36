"""An experiment's results as the room reads them: one row per run, each value's mean and spread,
the predictions graded against the measured means, and the CSV export."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Sequence
from typing import Any

from app.experiments.spec import MEASURES, value_label
from app.rows import CellRow, ExperimentRow


def run_state(cell: CellRow, job_states: dict[str, str]) -> str:
    """waiting (not started) | queued | running | done | failed | cancelled."""
    if cell.job_id is None:
        return "waiting" if cell.started_at is None else "queued"
    return cell.state or job_states.get(cell.job_id, "queued")


def by_value(row: ExperimentRow, cells: Sequence[CellRow], measure: str) -> list[dict[str, Any]]:
    """Per series and value: n finished runs with the measure, mean, min and max (None when n = 0)."""
    values = row.spec["values"]
    labels = [g["label"] for g in row.spec.get("groups") or []] or [""]
    out = []
    for label in labels:
        for index, value in enumerate(values):
            points = [
                c.measures[measure]
                for c in cells
                if c.series == label
                and c.value_index == index
                and c.state == "done"
                and c.measures
                and c.measures.get(measure) is not None
            ]
            entry: dict[str, Any] = {
                "value": value,
                "label": value_label(value),
                "n": len(points),
                "mean": statistics.fmean(points) if points else None,
                "min": min(points) if points else None,
                "max": max(points) if points else None,
            }
            if label:
                entry["series"] = label
            out.append(entry)
    return out


def _mean_at(row: ExperimentRow, cells: Sequence[CellRow], measure: str, value: Any, series: str | None):
    for entry in by_value(row, cells, measure):
        if entry["value"] == value and entry.get("series", "") == (series or ""):
            return entry
    return None  # a value (or series) the experiment did not run: no answer


def grade(row: ExperimentRow, cells: Sequence[CellRow]) -> dict[str, Any]:
    """The measured answer to the prediction: "lower" / "same" / "higher" for a against b (relative
    difference within ``tolerance`` is "same"), with the numbers as the explanation; ``choice`` None
    when a side has no finished run."""
    p = row.prediction
    a = _mean_at(row, cells, p["measure"], p["a"], p.get("group"))
    b = _mean_at(row, cells, p["measure"], p["b"], p.get("group_b") or p.get("group"))
    variable, measure = row.spec["variable"], p["measure"]

    def side(entry: dict[str, Any] | None, value: Any, series: str | None) -> str:
        name = f"{series} at " if series else ""
        if entry is None or entry["mean"] is None:
            return f"{name}{variable} = {value_label(value)}: no finished run"
        return f"{name}{variable} = {value_label(value)}: {entry['mean']:.4g} (n = {entry['n']})"

    text_a = side(a, p["a"], p.get("group"))
    text_b = side(b, p["b"], p.get("group_b") or p.get("group"))
    if a is None or b is None or a["mean"] is None or b["mean"] is None:
        return {"choice": None, "explanation": f"{MEASURES[measure]}: {text_a}; {text_b}", "difference": None}
    difference = (a["mean"] - b["mean"]) / abs(b["mean"]) if b["mean"] else a["mean"] - b["mean"]
    tolerance = p.get("tolerance", 0.02)
    choice = "same" if abs(difference) <= tolerance else "lower" if difference < 0 else "higher"
    words = {"same": "about the same as", "lower": "lower than", "higher": "higher than"}[choice]
    explanation = (
        f"Measured {MEASURES[measure]}: {text_a}; {text_b}. The first is {words} the second "
        f"({difference:+.1%}; within ±{tolerance:.0%} counts as the same)."
    )
    return {"choice": choice, "explanation": explanation, "difference": difference, "a": a, "b": b}


def results_body(
    row: ExperimentRow,
    cells: Sequence[CellRow],
    job_states: dict[str, str],
    names: dict[str, str] | None,
    viewer: str | None,
) -> dict[str, Any]:
    """``names``: member id → label (the instructor's view); ``viewer``: a member id (their view)."""
    spec = row.spec
    runs = []
    for cell in cells:
        run: dict[str, Any] = {
            "cell_id": cell.id,
            "setting": {spec["variable"]: spec["values"][cell.value_index]}
            | ({"series": cell.series} if cell.series else {}),
            "value": spec["values"][cell.value_index],
            "series": cell.series or None,
            "seed": cell.seed,
            "state": run_state(cell, job_states),
            "job_id": cell.job_id,
            "measures": cell.measures or {},
            "mine": viewer is not None and cell.member_id == viewer,
        }
        if names is not None:
            run["student"] = names.get(cell.member_id, "") if cell.member_id else ""
        runs.append(run)
    made = [c for c in cells if c.choice]
    outcome = row.outcome or {}
    choices = [
        {**choice, "count": sum(1 for c in made if c.choice == choice["id"])}
        for choice in row.prediction["choices"]
    ]
    predictions: dict[str, Any] = {
        "text": row.prediction["text"],
        "measure": row.prediction["measure"],
        "choices": choices,
        "made": len(made),
        "outcome": outcome.get("choice"),
        "explanation": outcome.get("explanation"),
        "right": sum(1 for c in made if c.choice == outcome.get("choice")) if outcome.get("choice") else None,
    }
    if viewer is not None:
        mine = next((c for c in cells if c.member_id == viewer), None)
        predictions["mine"] = mine.choice if mine else None
        predictions["mine_right"] = (
            None
            if mine is None or not mine.choice or not outcome.get("choice")
            else mine.choice == outcome["choice"]
        )
    finished = sum(1 for r in runs if r["state"] in ("done", "failed", "cancelled"))
    return {
        "id": row.id,
        "question": row.question,
        "state": row.state,
        "variable": spec["variable"],
        "measures": spec["measures"],
        "primary": row.primary,
        "version": row.version,
        "finished": finished,
        "runs": runs,
        "by_value": by_value(row, cells, row.primary),
        "by_measure": {m: by_value(row, cells, m) for m in spec["measures"]},
        "predictions": predictions,
        "summary": summary_text(row, cells, runs),
    }


def summary_text(row: ExperimentRow, cells: Sequence[CellRow], runs: list[dict[str, Any]]) -> str:
    """The plot's text alternative: per value the mean and range of the primary measure."""
    measure = row.primary
    parts = []
    for entry in by_value(row, cells, measure):
        name = f"{entry['series']} " if entry.get("series") else ""
        if entry["n"]:
            spread = f" (range {entry['min']:.4g}–{entry['max']:.4g})" if entry["n"] > 1 else ""
            at = f"{name}{row.spec['variable']} = {entry['label']}"
            parts.append(f"{at}: {entry['mean']:.4g}, n = {entry['n']}{spread}")
        else:
            parts.append(f"{name}{row.spec['variable']} = {entry['label']}: no finished run yet")
    failed = sum(1 for r in runs if r["state"] in ("failed", "cancelled"))
    tail = f" {failed} run(s) failed or were cancelled." if failed else ""
    return f"{MEASURES[measure].capitalize()} by {row.spec['variable']}: " + "; ".join(parts) + "." + tail


def results_csv(body: dict[str, Any]) -> str:
    """One row per run (cells not started included, as waiting): cell, series, value, seed, student,
    state, every measure, job id, prediction."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["cell_id", "series", body["variable"], "seed", "student", "state", *MEASURES, "job_id"])
    for run in body["runs"]:
        measures = run["measures"]
        writer.writerow(
            [
                run["cell_id"],
                run["series"] or "",
                value_label(run["value"]),
                run["seed"],
                _safe(run.get("student", "")),
                run["state"],
                *["" if measures.get(m) is None else measures[m] for m in MEASURES],
                run["job_id"] or "",
            ]
        )
    return out.getvalue()


def _safe(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
