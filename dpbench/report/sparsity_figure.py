"""Sparsity vs performance: one panel per task, students of each method (and ablation preset, and teacher
when there are several) joined by a line across the sparsities of a sweep, with their intervals."""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dpbench.method_labels import method_label
from dpbench.report.plotting import TEACHER_COLOR, method_color, new_figure
from dpbench.report.runs import CompressionRun
from dpbench.report.tasks import TASKS

UNMATCHED = "no run folder"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def primary_points(
    cells: pd.DataFrame,
    teacher: str,
    teacher_params: float,
    methods: dict[str, str],
    sparsity_of: dict[str, float] | None = None,
    teachers: Collection[str] = (),
) -> pd.DataFrame:
    """The primary metric of every task for models with a parameter count, with `sparsity` (% of the
    teacher's parameters removed) and `method` (the line: a method key or label from `methods`;
    teachers: "teacher"). `sparsity_of` gives a student's sparsity from its run (relative to its own
    teacher); others are measured against `teacher_params`. `teachers`: more teacher rows, at 0%."""
    sparsity_of = sparsity_of or {}
    all_teachers = {teacher, *teachers}
    primary = {task.name: task.primary.name for task in TASKS}
    points = cells[(cells["metric"] == cells["task"].map(primary)) & cells["params"].notna()].copy()
    points["sparsity"] = [
        0.0 if model in all_teachers else sparsity_of.get(model, 100.0 * (1.0 - float(params) / teacher_params))
        for model, params in zip(points["model"], points["params"])
    ]
    points["method"] = [
        "teacher" if model in all_teachers else method_label(methods.get(model, UNMATCHED)) for model in points["model"]
    ]
    return points


def line_labels(run_of: dict[str, CompressionRun], several_teachers: bool) -> dict[str, str]:
    """The line of each student with a run: its method, its ablation preset if any, and its teacher when
    the report has several ("DPHuBERT", "DPHuBERT no-conv-pruning", "DPHuBERT (wavlm_base_plus)")."""
    labels = {}
    for model, run in run_of.items():
        label = method_label(run.method) + (f" {run.ablation}" if run.ablation else "")
        labels[model] = label + (f" ({Path(str(run.summary.teacher)).stem})" if several_teachers else "")
    return labels


def _interval_bars(axis, group: pd.DataFrame, color: str) -> None:
    """Each point's 95% bootstrap interval over test items, where its record has one."""
    if "ci_low" not in group.columns:
        return
    known = group[group["ci_low"].notna() & group["ci_high"].notna()]
    if not known.empty:
        low = (known["value"] - known["ci_low"]).clip(lower=0)
        high = (known["ci_high"] - known["value"]).clip(lower=0)
        axis.errorbar(
            known["sparsity"], known["value"], yerr=[low, high], fmt="none", ecolor=color, elinewidth=1, capsize=3
        )


def sparsity_figure(points: pd.DataFrame, annotate: bool = True) -> Figure:
    """Metric vs parameter sparsity per task; the teacher is a star at 0% and a dotted level."""
    tasks = [task for task in TASKS if (points.loc[points["method"] != "teacher", "task"] == task.name).any()]
    columns = min(4, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    figure = new_figure(max(3.3 * columns, 6.5), 2.9 * rows + 0.7)  # one panel still fits its legend
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    methods = [m for m in dict.fromkeys(points["method"]) if m != "teacher"]
    style = {method: (method_color(method), _MARKERS[i % len(_MARKERS)]) for i, method in enumerate(methods)}
    for axis, task in zip(axes, tasks):
        here = points[points["task"] == task.name]
        teachers = here[here["method"] == "teacher"]
        for _, teacher in teachers.iterrows():
            level = float(teacher["value"])
            axis.axhline(level, color=TEACHER_COLOR, linestyle=":", linewidth=1)
            axis.plot([0.0], [level], marker="*", markersize=13, color=TEACHER_COLOR, linestyle="")
            if annotate and len(teachers) > 1:
                axis.annotate(
                    teacher["model"],
                    (0.0, level),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=6.5,
                    color=TEACHER_COLOR,
                )
        for method in methods:
            group = here[here["method"] == method].sort_values("sparsity")
            color, marker = style[method]
            axis.plot(
                group["sparsity"],
                group["value"],
                color=color,
                marker=marker,
                markersize=6,
                label=method,
                linestyle="" if method == UNMATCHED else "-",
                linewidth=1.5,
            )
            _interval_bars(axis, group, color)
            if annotate:
                for _, point in group.iterrows():
                    axis.annotate(
                        point["model"],
                        (point["sparsity"], point["value"]),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=6.5,
                        color=color,
                    )
        metric = task.primary
        axis.set_title(f"{task.name}", loc="left", fontsize=11, fontweight="bold")
        axis.set_ylabel(f"{metric.label} {metric.arrow}" + (" (%)" if metric.percent else ""))
        axis.set_xlabel("parameter sparsity (%)")
        axis.set_xlim(-5, 100)
        axis.grid(color="#e3e3e3", linewidth=0.6)
        axis.spines[["top", "right"]].set_visible(False)
    for axis in axes[len(tasks) :]:
        axis.set_visible(False)
    handles = [Line2D([], [], marker="*", markersize=12, color=TEACHER_COLOR, linestyle=":", label="teacher")]
    handles += [Line2D([], [], color=style[m][0], marker=style[m][1], label=m) for m in methods]
    # about two entries per panel in a row, so a narrow figure wraps its legend instead of clipping it
    figure.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 2 * columns), frameon=False)
    return figure
