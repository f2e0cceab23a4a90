"""Sparsity vs performance: one panel per task, students of each method joined by a line."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dpbench.report.plotting import METHOD_NAMES, TEACHER_COLOR, method_color, new_figure
from dpbench.report.tasks import TASKS

UNMATCHED = "no run folder"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def primary_points(cells: pd.DataFrame, teacher: str, teacher_params: float, methods: dict[str, str]) -> pd.DataFrame:
    """The primary metric of every task for models with a parameter count, with
    `sparsity` (% of the teacher's parameters removed) and `method` (teacher: "teacher")."""
    primary = {task.name: task.primary.name for task in TASKS}
    points = cells[(cells["metric"] == cells["task"].map(primary)) & cells["params"].notna()].copy()
    points["sparsity"] = 100.0 * (1.0 - points["params"].astype(float) / teacher_params)
    points["method"] = [
        "teacher" if model == teacher else METHOD_NAMES.get(methods.get(model, ""), methods.get(model, UNMATCHED))
        for model in points["model"]
    ]
    return points


def _interval_bars(axis, group: pd.DataFrame, color: str) -> None:
    """Each point's 95% bootstrap interval over test items, where its record has one."""
    if "ci_low" not in group.columns:
        return
    known = group[group["ci_low"].notna() & group["ci_high"].notna()]
    if not known.empty:
        low = (known["value"] - known["ci_low"]).clip(lower=0)
        high = (known["ci_high"] - known["value"]).clip(lower=0)
        axis.errorbar(known["sparsity"], known["value"], yerr=[low, high], fmt="none", ecolor=color,
                      elinewidth=1, capsize=3)


def sparsity_figure(points: pd.DataFrame, annotate: bool = True) -> Figure:
    """Metric vs parameter sparsity per task; the teacher is a star at 0% and a dotted level."""
    tasks = [task for task in TASKS if (points.loc[points["method"] != "teacher", "task"] == task.name).any()]
    columns = min(4, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    figure = new_figure(3.3 * columns, 2.9 * rows + 0.7)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    methods = [m for m in dict.fromkeys(points["method"]) if m != "teacher"]
    style = {method: (method_color(method), _MARKERS[i % len(_MARKERS)]) for i, method in enumerate(methods)}
    for axis, task in zip(axes, tasks):
        here = points[points["task"] == task.name]
        teacher = here[here["method"] == "teacher"]
        if not teacher.empty:
            level = float(teacher["value"].iloc[0])
            axis.axhline(level, color=TEACHER_COLOR, linestyle=":", linewidth=1)
            axis.plot([0.0], [level], marker="*", markersize=13, color=TEACHER_COLOR, linestyle="")
        for method in methods:
            group = here[here["method"] == method].sort_values("sparsity")
            color, marker = style[method]
            axis.plot(group["sparsity"], group["value"], color=color, marker=marker, markersize=6, label=method,
                      linestyle="" if method == UNMATCHED else "-", linewidth=1.5)
            _interval_bars(axis, group, color)
            if annotate:
                for _, point in group.iterrows():
                    axis.annotate(point["model"], (point["sparsity"], point["value"]), textcoords="offset points",
                                  xytext=(4, 4), fontsize=6.5, color=color)
        metric = task.primary
        axis.set_title(f"{task.name}", loc="left", fontsize=11, fontweight="bold")
        axis.set_ylabel(f"{metric.label} {metric.arrow}" + (" (%)" if metric.percent else ""))
        axis.set_xlabel("parameter sparsity (%)")
        axis.set_xlim(-5, 100)
        axis.grid(color="#e3e3e3", linewidth=0.6)
        axis.spines[["top", "right"]].set_visible(False)
    for axis in axes[len(tasks):]:
        axis.set_visible(False)
    handles = [Line2D([], [], marker="*", markersize=12, color=TEACHER_COLOR, linestyle=":", label="teacher")]
    handles += [Line2D([], [], color=style[m][0], marker=style[m][1], label=m) for m in methods]
    figure.legend(handles=handles, loc="outside upper center", ncols=len(handles), frameon=False)
    return figure
