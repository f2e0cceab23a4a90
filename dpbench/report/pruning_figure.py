"""Per-layer pruning figure: what each student keeps of its teacher, layer by layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from dpbench.report.plotting import method_color, new_figure, plural
from dpbench.report.runs import CompressionRun

# panel title, x-axis name, how to read the per-layer sizes from an encoder config
_PANELS: tuple[tuple[str, str, Callable[[dict[str, Any]], list[int]]], ...] = (
    ("Conv channels per conv layer", "conv layer", lambda config: list(config["conv_channels"])),
    ("Attention heads per transformer layer", "transformer layer", lambda config: list(config["num_heads"])),
    ("FFN units per transformer layer", "transformer layer", lambda config: list(config["ffn_dims"])),
)
_TEACHER_FILL = "#e9e9e9"
_TEACHER_EDGE = "#a8a8a8"
_HATCHES = ("", "//", "..", "xx", "\\\\")


def _student_label(run: CompressionRun) -> str:
    params = run.summary.params / 1e6
    layers = run.config["num_layers"]
    return f"{run.name} ({params:.2f}M params, {100 * run.summary.sparsity:.1f}% sparse, {plural(layers, 'layer')})"


def _hatches(runs: list[CompressionRun]) -> list[str]:
    """No hatch for a method's first run, then one per further run of the same method (same colour)."""
    seen: dict[str, int] = {}
    hatches = []
    for run in runs:
        hatches.append(_HATCHES[seen.get(run.method, 0) % len(_HATCHES)])
        seen[run.method] = seen.get(run.method, 0) + 1
    return hatches


def _capacity(runs: list[CompressionRun], read: Callable[[dict[str, Any]], list[int]]) -> np.ndarray:
    """Largest teacher size per layer over the runs' teachers."""
    sizes = [read(run.teacher_config) for run in runs]
    capacity = np.zeros(max(len(s) for s in sizes))
    for size in sizes:
        capacity[: len(size)] = np.maximum(capacity[: len(size)], size)
    return capacity


def pruning_figure(runs: list[CompressionRun]) -> Figure:
    """Three panels (conv channels, heads, FFN units), one bar per student per layer, drawn over
    the teacher's size in grey; a cross marks an attention/FFN block removed entirely; layers a
    shallower student does not have are left empty."""
    depth = max(len(_capacity(runs, read)) for _, _, read in _PANELS)
    figure = new_figure(max(8.0, 0.75 * depth + 3.0), 9.0)
    axes = figure.subplots(len(_PANELS), 1)
    bar_width = 0.8 / len(runs)
    hatches = _hatches(runs)
    for axis, (title, x_name, read) in zip(axes, _PANELS):
        capacity = _capacity(runs, read)
        positions = np.arange(1, len(capacity) + 1)
        axis.bar(positions, capacity, width=0.92, color=_TEACHER_FILL, edgecolor=_TEACHER_EDGE, zorder=1)
        for index, run in enumerate(runs):
            kept = np.asarray(read(run.config), dtype=float)
            offsets = np.arange(1, len(kept) + 1) - 0.4 + bar_width * (index + 0.5)
            axis.bar(
                offsets,
                kept,
                width=bar_width * 0.92,
                color=method_color(run.method),
                hatch=hatches[index],
                edgecolor="white",
                linewidth=0,
                zorder=2,
            )
            removed = offsets[kept == 0]
            axis.scatter(
                removed,
                np.full(len(removed), 0.04 * capacity.max()),
                marker="x",
                s=60,
                linewidths=2,
                color=method_color(run.method),
                zorder=3,
            )
        axis.set_title(title, loc="left", fontsize=11)
        axis.set_xlabel(x_name)
        axis.set_xticks(positions)
        axis.set_xlim(0.4, len(capacity) + 0.6)
        axis.set_ylim(0, capacity.max() * 1.08)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(axis="y", color="#dddddd", linewidth=0.6, zorder=0)
        axis.set_axisbelow(True)
        axis.spines[["top", "right"]].set_visible(False)
    handles = [Patch(facecolor=_TEACHER_FILL, edgecolor=_TEACHER_EDGE, label="teacher (unpruned)")]
    handles += [
        Patch(facecolor=method_color(run.method), hatch=hatches[i], edgecolor="white", label=_student_label(run))
        for i, run in enumerate(runs)
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="x",
            linestyle="",
            color="black",
            markersize=7,
            markeredgewidth=2,
            label="block removed (0 kept)",
        )
    )
    if len({run.config["num_layers"] for run in runs}) > 1:
        handles.append(Patch(facecolor="white", edgecolor="white", label="no bar: the student has fewer layers"))
    figure.legend(handles=handles, loc="outside upper center", ncols=2, fontsize=8.5, frameon=False)
    return figure
