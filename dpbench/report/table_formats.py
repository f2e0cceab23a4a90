"""Rendering a SuperbTable as Markdown, CSV (numbers as stored), LaTeX and an HTML fragment."""

from __future__ import annotations

import html
import math

import pandas as pd

from dpbench.report.tables import (
    SCORE_COLUMN,
    SCORE_TASKS_COLUMN,
    UNCERTAINTY_COLUMNS,
    UNCERTAINTY_SEPARATOR,
    SuperbTable,
)
from dpbench.report.tasks import TASKS, TaskSpec, column_key
from dpbench.report.uncertainty import TIE_MARK

MISSING = "—"
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
    "±": r"$\pm$",
    TIE_MARK: r"$\approx$",
}


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _millions(value: object, scale: float) -> str:
    if _is_missing(value):
        return MISSING
    scaled = float(value) / scale
    return f"{scaled:.2f}" if scaled >= 1 else f"{scaled:.3f}"


def _metric_parts(row: pd.Series, column: str, metric) -> tuple[str, str]:
    """(`[≈]value[ ±std]`, `[low, high]` or ""): TIE_MARK where the paired bootstrap finds no significant
    difference from the task's best model, ±std over seeds, the 95% interval over test items."""
    value = row[column]
    if _is_missing(value):
        return MISSING, ""
    extra = {name: row.get(f"{column}{UNCERTAINTY_SEPARATOR}{name}") for name in UNCERTAINTY_COLUMNS}
    tied = extra["tied"] in (True,)  # a numpy or Python True; missing cells hold NaN
    text = (TIE_MARK if tied else "") + metric.format(value)
    if not _is_missing(extra["std"]):
        text += f" ±{metric.format(extra['std'])}"
    if _is_missing(extra["ci_low"]) or _is_missing(extra["ci_high"]):
        return text, ""
    return text, f"[{metric.format(extra['ci_low'])}, {metric.format(extra['ci_high'])}]"


def _task_parts(row: pd.Series, task: TaskSpec) -> list[tuple[str, str]]:
    parts = [_metric_parts(row, column_key(task, metric), metric) for metric in task.metrics]
    return [(MISSING, "")] if all(main == MISSING for main, _ in parts) else parts


def _task_cell(row: pd.Series, task: TaskSpec) -> str:
    return " / ".join(f"{main} {interval}".strip() for main, interval in _task_parts(row, task))


def _score_cell(row: pd.Series) -> str:
    if _is_missing(row[SCORE_COLUMN]):
        return MISSING
    return f"{row[SCORE_COLUMN]:.1f} ({int(row[SCORE_TASKS_COLUMN])})"


def display_rows(table: SuperbTable) -> list[list[str]]:
    """Formatted cells, one list per model: name, params, MACs, the ten tasks, relative score."""
    rows = []
    for model, row in table.frame.iterrows():
        cells = [str(model), _millions(row["params"], 1e6), _millions(row["macs"], 1e9)]
        cells += [_task_cell(row, task) for task in TASKS]
        rows.append(cells + [_score_cell(row)])
    return rows


def _headers(up: str, down: str) -> list[str]:
    def task_header(task: TaskSpec) -> str:
        return f"{task.name} " + " / ".join(f"{m.label}{up if m.higher_is_better else down}" for m in task.metrics)

    tasks = [task_header(task) for task in TASKS]
    return ["Model", "Params (M)", "MACs (G/s)", *tasks, "Rel. score %"]


def to_markdown(table: SuperbTable) -> str:
    """A pipe table followed by its caption."""
    lines = ["| " + " | ".join(_headers("↑", "↓")) + " |", "|" + "---|" * len(_headers("↑", "↓"))]
    lines += ["| " + " | ".join(cells) + " |" for cells in display_rows(table)]
    return "\n".join(lines) + f"\n\n{table.caption}\n"


def to_csv(table: SuperbTable) -> str:
    """Unrounded numbers as selected from the store; params and MACs as raw counts; empty = missing."""
    frame = table.frame.copy()
    frame[SCORE_TASKS_COLUMN] = frame[SCORE_TASKS_COLUMN].astype(int)
    return frame.to_csv(index=True, float_format="%.10g", lineterminator="\n")


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def to_latex(table: SuperbTable) -> str:
    """A booktabs table environment (needs \\usepackage{booktabs})."""
    headers = [_latex_escape(h) for h in _headers("@UP@", "@DOWN@")]
    headers = [h.replace("@UP@", r"$\uparrow$").replace("@DOWN@", r"$\downarrow$") for h in headers]
    body = []
    for cells in display_rows(table):
        body.append(" & ".join(_latex_escape(c).replace(MISSING, "--") for c in cells) + r" \\")
    return "\n".join(
        [
            r"\begin{table*}[t]",
            r"\centering",
            r"\caption{"
            + _latex_escape(table.caption)
            .replace("↑", r"$\uparrow$")
            .replace("↓", r"$\downarrow$")
            .replace(MISSING, "--")
            .replace("−", "-")
            .replace("≥", r"$\geq$")
            + "}",
            r"\resizebox{\textwidth}{!}{%",
            r"\begin{tabular}{l" + "r" * (len(headers) - 1) + "}",
            r"\toprule",
            " & ".join(headers) + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}}",
            r"\end{table*}",
            "",
        ]
    )


def to_html(table: SuperbTable) -> str:
    """An HTML <table> with the caption; paper rows get the class "paper"; a cell's interval goes
    on a second, smaller line (class "ci") so the table stays narrow."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _headers("↑", "↓"))
    rows = []
    for (_, row), cells in zip(table.frame.iterrows(), display_rows(table)):
        tds = [f"<td>{html.escape(c)}</td>" for c in cells[:3]]
        for task in TASKS:
            parts = _task_parts(row, task)
            main = " / ".join(html.escape(m) for m, _ in parts)
            intervals = " / ".join(html.escape(i.replace(" ", "\u00a0")) for _, i in parts if i)  # wrap at "/" only
            tds.append(f"<td>{main}" + (f'<br><span class="ci">{intervals}</span>' if intervals else "") + "</td>")
        tds.append(f"<td>{html.escape(cells[-1])}</td>")
        rows.append(f'<tr class="{html.escape(row["source"])}">{"".join(tds)}</tr>')
    return (
        f"<table><caption>{html.escape(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
