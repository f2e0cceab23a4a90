"""The ablation table: each `--ablation` student against the full DPHuBERT it varies (same teacher and
target sparsity, same seed where there is one), one row per ablated student, one column per task's
primary metric, holding the change (ablated − full) and its 95% interval.

The interval is a paired bootstrap over the test items both were scored on (dpbench.stats), where both
cells have their per-item files; without them a cell shows the change alone."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd

from dpbench.ablations import ABLATIONS
from dpbench.errors import DpbenchError
from dpbench.report.runs import CompressionRun
from dpbench.report.tasks import TASKS
from dpbench.report.uncertainty import load_cell_items
from dpbench.stats import paired_difference

MISSING = "—"
CAPTION = (
    "Ablations: the change of each task's primary metric (SF: F1) from full DPHuBERT (same teacher and "
    "target sparsity) when one part of the recipe is changed, ablated − full, so a negative change is a "
    "loss where higher is better (↑) and a gain where lower is better (↓). [low, high]: 95% paired "
    "bootstrap interval over the same test items; — not run."
)


@dataclass(frozen=True)
class AblationTable:
    """`frame`: one row per (ablated student, task): ablation, model, reference, task, metric, change,
    ci_low, ci_high (NaN without per-item files)."""

    frame: pd.DataFrame


def reference_run(run: CompressionRun, runs: dict[str, CompressionRun]) -> str | None:
    """The model row of the full DPHuBERT run that `run` ablates: same method, teacher and target
    sparsity, no preset; the same seed when one such run has it."""
    candidates = [
        model
        for model, other in runs.items()
        if other.ablation is None
        and other.method == run.method
        and other.summary.teacher == run.summary.teacher
        and other.target_sparsity == run.target_sparsity
    ]
    seed = run.summary.options.get("seed")
    same_seed = [m for m in candidates if runs[m].summary.options.get("seed") == seed]
    return (same_seed or candidates or [None])[0]


def ablation_table(cells: pd.DataFrame, run_of: dict[str, CompressionRun]) -> AblationTable | None:
    """The table, or None when no model with results comes from an ablation run."""
    measured = set(cells["model"])
    runs = {model: run for model, run in run_of.items() if model in measured}
    primary = cells[cells["metric"] == cells["task"].map({t.name: t.primary.name for t in TASKS})]
    by_cell = primary.set_index(["model", "task"])
    rows = []
    for model, run in runs.items():
        if run.ablation is None:
            continue
        reference = reference_run(run, runs)
        for task in TASKS:
            if (model, task.name) not in by_cell.index:
                continue
            row = {
                "ablation": run.ablation,
                "model": model,
                "reference": reference,
                "task": task.name,
                "metric": task.primary.name,
                "change": math.nan,
                "ci_low": math.nan,
                "ci_high": math.nan,
            }
            if reference is not None and (reference, task.name) in by_cell.index:
                ablated, full = by_cell.loc[(model, task.name)], by_cell.loc[(reference, task.name)]
                row["change"] = float(ablated["value"]) - float(full["value"])
                row["ci_low"], row["ci_high"] = _paired_interval(ablated, full)
            rows.append(row)
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    order = {name: index for index, name in enumerate(ABLATIONS)}  # the presets' order, then unknown names
    frame = frame.sort_values(
        "ablation", key=lambda names: names.map(lambda n: order.get(n, len(order))), kind="stable", ignore_index=True
    )
    return AblationTable(frame)


def _paired_interval(ablated: pd.Series, full: pd.Series) -> tuple[float, float]:
    items = [load_cell_items(tuple(cell.get("items_paths") or ())) for cell in (ablated, full)]
    if any(item is None for item in items):
        return math.nan, math.nan
    try:
        comparison = paired_difference(items[0], items[1])
    except DpbenchError:  # scored on different test items: no pairing
        return math.nan, math.nan
    return comparison.low, comparison.high


def _display(table: AblationTable) -> tuple[list[str], list[list[str]]]:
    tasks = [task for task in TASKS if (table.frame["task"] == task.name).any()]
    headers = ["Ablation", "Model", "vs"] + [f"Δ {t.name} {t.primary.label}{t.primary.arrow}" for t in tasks]
    rows = []
    for (ablation, model), group in table.frame.groupby(["ablation", "model"], sort=False):
        cells = group.set_index("task")
        row = [str(ablation), str(model), str(group["reference"].iloc[0] or MISSING)]
        for task in tasks:
            row.append(_cell(cells.loc[task.name], task.primary) if task.name in cells.index else MISSING)
        rows.append(row)
    return headers, rows


def _cell(cell: pd.Series, metric) -> str:
    if math.isnan(cell["change"]):
        return MISSING
    text = f"{cell['change']:+.{metric.decimals}f}"
    if not (math.isnan(cell["ci_low"]) or math.isnan(cell["ci_high"])):
        text += f" [{cell['ci_low']:+.{metric.decimals}f}, {cell['ci_high']:+.{metric.decimals}f}]"
    return text


def to_markdown(table: AblationTable) -> str:
    headers, rows = _display(table)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + f"\n\n{CAPTION}\n"


def to_csv(table: AblationTable) -> str:
    return table.frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def to_html(table: AblationTable) -> str:
    headers, rows = _display(table)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<table><caption>{html.escape(CAPTION)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
