"""Score against cost: per task, the primary metric against real-time factor and against MACs, one
marker per model, the Pareto front (models no other beats on both cost and score) drawn as a step line.
Where the cells carry an interval (`ci_low`, `ci_high`), it is drawn as an error bar."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from dpbench.report.plotting import method_color, new_figure
from dpbench.report.tasks import TASKS

INTERVAL = ("ci_low", "ci_high")
COSTS = (("rtf", "real-time factor (CPU, batch 1)"), ("macs", "MACs per second of audio"))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


def score_points(cells: pd.DataFrame, rows: pd.DataFrame, rtf_column: str) -> pd.DataFrame:
    """Each model's primary metric per task joined with its `rtf` (from `rtf_column`) and `macs`; models
    without a positive cost of both kinds (e.g. an fbank front end: no MACs counted) cannot sit on the log axes."""
    primary = {task.name: task.primary.name for task in TASKS}
    scores = cells[cells["metric"] == cells["task"].map(primary)].drop(columns=["params", "macs"], errors="ignore")
    costs = rows[["model", "macs", rtf_column]].rename(columns={rtf_column: "rtf"})
    points = scores.merge(costs, on="model").dropna(subset=["rtf", "macs", "value"])
    return points[(points["rtf"] > 0) & (points["macs"] > 0)]


def pareto_front(costs: np.ndarray, values: np.ndarray, higher_is_better: bool) -> list[int]:
    """Indices of the points no other point beats on both (lower cost, better value), by cost."""
    signed = values if higher_is_better else -values
    front, best = [], -math.inf
    for index in sorted(range(len(costs)), key=lambda i: (costs[i], -signed[i])):
        if signed[index] > best:
            front.append(index)
            best = signed[index]
    return front


def efficiency_figure(points: pd.DataFrame) -> Figure:
    """Two panels per task (score vs RTF, score vs MACs) on log cost axes, a shared legend of models."""
    tasks = [task for task in TASKS if (points["task"] == task.name).any()]
    per_row = 2 if len(tasks) > 1 else 1
    rows = math.ceil(len(tasks) / per_row)
    figure = new_figure(3.2 * 2 * per_row, 2.8 * rows + 0.8)
    axes = figure.subplots(rows, 2 * per_row, squeeze=False).ravel()
    models = list(dict.fromkeys(points.sort_values("macs", ascending=False)["model"]))
    style = {model: (method_color(model), _MARKERS[i % len(_MARKERS)]) for i, model in enumerate(models)}
    has_interval = all(column in points.columns for column in INTERVAL)
    for index, task in enumerate(tasks):
        here = points[points["task"] == task.name].reset_index(drop=True)
        metric = task.primary
        for offset, (cost, label) in enumerate(COSTS):
            axis = axes[2 * index + offset]
            for _, point in here.iterrows():
                color, marker = style[point["model"]]
                interval = _error(point) if has_interval else None
                axis.errorbar(
                    [point[cost]],
                    [point["value"]],
                    yerr=interval,
                    color=color,
                    marker=marker,
                    markersize=7,
                    linestyle="",
                    capsize=3,
                )
            front = pareto_front(here[cost].to_numpy(float), here["value"].to_numpy(float), metric.higher_is_better)
            axis.plot(
                here.loc[front, cost],
                here.loc[front, "value"],
                color="#444444",
                linewidth=1,
                linestyle="--",
                drawstyle="steps-post",
                zorder=0,
            )
            _log_axis(axis, here[cost].to_numpy(float))
            axis.set_xlabel(label, fontsize=8)
            axis.set_ylabel(f"{metric.label} {metric.arrow}", fontsize=8)
            axis.set_title(task.name, loc="left", fontsize=10, fontweight="bold")
            axis.tick_params(labelsize=7)
            axis.grid(True, alpha=0.3)
    for axis in axes[2 * len(tasks) :]:
        axis.set_visible(False)
    handles = [Line2D([], [], color=style[m][0], marker=style[m][1], linestyle="", label=m) for m in models]
    handles.append(Line2D([], [], color="#444444", linestyle="--", label="Pareto front"))
    figure.legend(handles=handles, loc="outside lower center", ncol=min(5, len(handles)), fontsize=8, frameon=False)
    return figure


def _log_axis(axis: Axes, costs: np.ndarray) -> None:
    """Log cost axis spanning at least a decade around the points (so a labelled tick is always in view),
    minor ticks unlabelled."""
    low, high = float(costs.min()), float(costs.max())
    centre, half_span = math.sqrt(low * high), max(math.sqrt(high / low) * 1.3, math.sqrt(10.0))
    axis.set_xscale("log")
    axis.set_xlim(centre / half_span, centre * half_span)
    axis.xaxis.set_minor_formatter(NullFormatter())


def _error(point: pd.Series) -> list[list[float]] | None:
    low, high = point[INTERVAL[0]], point[INTERVAL[1]]
    if pd.isna(low) or pd.isna(high):
        return None
    return [[point["value"] - low], [high - point["value"]]]
