"""Training curves of compression runs: losses, expected vs target sparsity, Lagrange multipliers.
Each run is drawn in its method's colour (line styles tell the quantities apart); a run without a
pruning stage gets only its loss panel; a line breaks where the log skips steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dpbench.method_labels import method_label
from dpbench.report.plotting import method_color, new_figure
from dpbench.report.runs import CompressionRun

_FINAL_SHADE = "#f1f1f1"
_REFERENCE = "#222222"  # targets and totals: thin black
_GAP_FACTOR = 1.5  # a step interval this many times the usual logging interval is a gap in the log


def _has(log: pd.DataFrame, column: str) -> bool:
    return column in log.columns and log[column].notna().any()


def with_gaps(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points with a NaN inserted wherever the step jumps by more than _GAP_FACTOR times the
    usual (median) logging interval, so the line breaks there instead of joining across."""
    if len(steps) < 3:
        return steps.astype(float), values.astype(float)
    intervals = np.diff(steps)
    gaps = np.flatnonzero(intervals > _GAP_FACTOR * np.median(intervals)) + 1
    return (np.insert(steps.astype(float), gaps, np.nan), np.insert(values.astype(float), gaps, np.nan))


def _plot(axis: Axes, log: pd.DataFrame, column: str, label: str, color: str, scale: float = 1.0, **style) -> None:
    rows = log[log[column].notna()]
    steps, values = with_gaps(rows["step"].to_numpy(), rows[column].to_numpy() * scale)
    axis.plot(steps, values, label=label, color=color, **{"linewidth": 1.6, **style})


def _mark_final_stage(axis: Axes, log: pd.DataFrame) -> None:
    final = log.loc[log["stage"] == "final", "step"]
    if not final.empty and (log["stage"] != "final").any():
        axis.axvspan(final.min(), final.max(), color=_FINAL_SHADE, zorder=0)
        axis.text(
            final.min(),
            1.01,
            "final distill",
            transform=axis.get_xaxis_transform(),
            va="bottom",
            fontsize=7,
            color="#777777",
        )


def _losses(axis: Axes, log: pd.DataFrame, color: str) -> None:
    _plot(axis, log, "distill_loss", "distillation loss", color)
    if _has(log, "loss"):
        _plot(axis, log, "loss", "total loss", _REFERENCE, linestyle="--", linewidth=1.0)
    if _has(log, "reg_loss"):
        _plot(axis, log, "reg_loss", "sparsity penalty", color, linestyle="-.", linewidth=1.0)
    axis.set_ylabel("loss")
    axis.legend(fontsize=7, frameon=False)


def _sparsity(axis: Axes, log: pd.DataFrame, run: CompressionRun, color: str) -> None:
    _plot(axis, log, "expected_sparsity", "expected", color, scale=100)
    if _has(log, "target_sparsity"):
        _plot(axis, log, "target_sparsity", "target (warm-up)", _REFERENCE, scale=100, linestyle="--", linewidth=1.0)
    axis.axhline(
        100 * run.summary.sparsity,
        color=color,
        linestyle=":",
        linewidth=1.2,
        label=f"achieved after pruning ({100 * run.summary.sparsity:.1f}%)",
    )
    axis.set_ylabel("parameter sparsity (%)")
    axis.legend(fontsize=7, frameon=False, loc="lower right")


def _lambdas(axis: Axes, log: pd.DataFrame, color: str) -> None:
    for index, column in enumerate(("lambda1", "lambda2")):
        if _has(log, column):
            _plot(axis, log, column, f"λ{index + 1}", color, linestyle=("-", "--")[index])
    axis.axhline(0, color="#bbbbbb", linewidth=0.8)
    axis.set_ylabel("Lagrange multiplier")
    axis.legend(fontsize=7, frameon=False)


def training_figure(runs: list[CompressionRun]) -> Figure:
    """One row per run with a train_log.csv: losses, and for runs with a pruning stage sparsity and
    lambdas, against the step; the final-distillation stage is shaded."""
    logged = [run for run in runs if run.train_log is not None]
    figure = new_figure(12.0, 3.1 * len(logged))
    rows = figure.subfigures(len(logged), 1, squeeze=False).ravel()
    for subfigure, run in zip(rows, logged):
        log = run.train_log.sort_values("step")
        color = method_color(run.method)
        panels = [lambda a: _losses(a, log, color)] if _has(log, "distill_loss") else []
        if _has(log, "expected_sparsity"):
            panels.append(lambda a: _sparsity(a, log, run, color))
        if _has(log, "lambda1") or _has(log, "lambda2"):
            panels.append(lambda a: _lambdas(a, log, color))
        pruned = "" if _has(log, "expected_sparsity") else ", no pruning stage"
        subfigure.suptitle(
            f"{run.name}  ({method_label(run.method)}{pruned}, folder {run.path.name})",
            x=0.01,
            ha="left",
            fontsize=10,
            fontweight="bold",
            color=color,
        )
        row = subfigure.subplots(1, 3)
        for axis in row[len(panels) :]:
            axis.remove()  # keep every row's panels the same width; no empty panels
        for axis, draw in zip(row, panels):
            draw(axis)
            _mark_final_stage(axis, log)
            axis.set_xlabel("step")
            axis.grid(color="#e3e3e3", linewidth=0.6)
            axis.spines[["top", "right"]].set_visible(False)
    return figure
