"""Training curves of compression runs: losses, expected vs target sparsity, Lagrange multipliers."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dpbench.report.plotting import color_for, new_figure
from dpbench.report.runs import CompressionRun

_FINAL_SHADE = "#f1f1f1"


def _has(log: pd.DataFrame, column: str) -> bool:
    return column in log.columns and log[column].notna().any()


def _plot(axis: Axes, log: pd.DataFrame, column: str, label: str, color: str, scale: float = 1.0, **style) -> None:
    rows = log[log[column].notna()]
    axis.plot(rows["step"], rows[column] * scale, label=label, color=color, **{"linewidth": 1.6, **style})


def _mark_final_stage(axis: Axes, log: pd.DataFrame) -> None:
    final = log.loc[log["stage"] == "final", "step"]
    if not final.empty and (log["stage"] != "final").any():
        axis.axvspan(final.min(), final.max(), color=_FINAL_SHADE, zorder=0)
        axis.text(final.min(), 1.01, "final distill", transform=axis.get_xaxis_transform(), va="bottom",
                  fontsize=7, color="#777777")


def _empty(axis: Axes, text: str) -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes, color="#888888", fontsize=9)
    axis.spines[:].set_color("#dddddd")
    axis.set_xticks([])
    axis.set_yticks([])


def _losses(axis: Axes, log: pd.DataFrame) -> None:
    _plot(axis, log, "distill_loss", "distillation loss", color_for(0))
    if _has(log, "loss"):
        _plot(axis, log, "loss", "total loss", "#222222", linestyle="--", linewidth=1.0)
    if _has(log, "reg_loss"):
        _plot(axis, log, "reg_loss", "sparsity penalty", color_for(1), linestyle="-.")
    axis.set_ylabel("loss")
    axis.legend(fontsize=7, frameon=False)


def _sparsity(axis: Axes, log: pd.DataFrame, run: CompressionRun) -> None:
    _plot(axis, log, "expected_sparsity", "expected", color_for(2), scale=100)
    if _has(log, "target_sparsity"):
        _plot(axis, log, "target_sparsity", "target (warm-up)", "#222222", scale=100, linestyle="--", linewidth=1.0)
    axis.axhline(100 * run.summary["sparsity"], color=color_for(3), linestyle=":", linewidth=1.2,
                 label=f"achieved after pruning ({100 * run.summary['sparsity']:.1f}%)")
    axis.set_ylabel("parameter sparsity (%)")
    axis.legend(fontsize=7, frameon=False, loc="lower right")


def _lambdas(axis: Axes, log: pd.DataFrame) -> None:
    for index, column in enumerate(("lambda1", "lambda2")):
        if _has(log, column):
            _plot(axis, log, column, f"λ{index + 1}", color_for(4 + index))
    axis.axhline(0, color="#bbbbbb", linewidth=0.8)
    axis.set_ylabel("Lagrange multiplier")
    axis.legend(fontsize=7, frameon=False)


def training_figure(runs: list[CompressionRun]) -> Figure:
    """One row per run with a train_log.csv: losses, sparsity, lambdas against the step; the
    final-distillation stage is shaded; panels a run did not log say so."""
    logged = [run for run in runs if run.train_log is not None]
    figure = new_figure(12.0, 3.1 * len(logged))
    rows = figure.subfigures(len(logged), 1, squeeze=False).ravel()
    for subfigure, run in zip(rows, logged):
        subfigure.suptitle(f"{run.name}  ({run.method}, folder {run.path.name})", x=0.01, ha="left",
                           fontsize=10, fontweight="bold")
        row = subfigure.subplots(1, 3)
        log = run.train_log.sort_values("step")
        panels = (
            (_has(log, "distill_loss"), lambda a: _losses(a, log), "no distillation loss logged"),
            (_has(log, "expected_sparsity"), lambda a: _sparsity(a, log, run), f"no pruning stage ({run.method})"),
            (_has(log, "lambda1") or _has(log, "lambda2"), lambda a: _lambdas(a, log),
             f"no Lagrange multipliers ({run.method})"),
        )
        for axis, (available, draw, missing_text) in zip(row, panels):
            if not available:
                _empty(axis, missing_text)
                continue
            draw(axis)
            _mark_final_stage(axis, log)
            axis.set_xlabel("step")
            axis.grid(color="#e3e3e3", linewidth=0.6)
            axis.spines[["top", "right"]].set_visible(False)
    return figure
