"""Layer importance figure: per model, the normalised weight s3prl's weighted sum gives each hidden
state on each task (one line per task), next to what the pruned student kept of each layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dpbench.report.plotting import PALETTE, TEACHER_COLOR, new_figure
from dpbench.report.runs import CompressionRun
from dpbench.report.tasks import TASKS

_TASK_COLORS = {task.name: PALETTE[i % len(PALETTE)] for i, task in enumerate(TASKS)}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
_KEPT_COLORS = {"heads": "#4c72b0", "FFN": "#dd8452"}


def kept_shares(run: CompressionRun) -> dict[str, np.ndarray]:
    """Percent of the teacher's attention heads and FFN units each student layer kept (layer i of the
    student against layer i of the teacher)."""
    student, teacher = run.config, run.teacher_config
    layers = student["num_layers"]
    heads = np.asarray(student["num_heads"], float) / np.asarray(teacher["num_heads"][:layers], float)
    ffn = np.asarray(student["ffn_dims"], float) / np.asarray(teacher["ffn_dims"][:layers], float)
    return {"heads": 100.0 * heads, "FFN": 100.0 * ffn}


def layer_figure(weights: pd.DataFrame, run_of: dict[str, CompressionRun]) -> Figure:
    """One row per model: task lines of weight vs hidden-state index (left) and, for a model with a
    compression run, bars of the heads and FFN units each layer kept (right, same layer axis)."""
    models = list(dict.fromkeys(weights["model"]))
    figure = new_figure(10.0, 2.4 * len(models) + 0.6)
    axes = figure.subplots(len(models), 2, squeeze=False, gridspec_kw={"width_ratios": [3, 2]})
    tasks = [task.name for task in TASKS if (weights["task"] == task.name).any()]
    for (weight_axis, kept_axis), model in zip(axes, models):
        here = weights[weights["model"] == model]
        for index, task in enumerate(tasks):
            line = here[here["task"] == task].sort_values("layer")
            if not line.empty:
                weight_axis.plot(
                    line["layer"],
                    line["weight"],
                    color=_TASK_COLORS[task],
                    marker=_MARKERS[index % len(_MARKERS)],
                    markersize=4,
                    linewidth=1.3,
                    label=task,
                )
        depth = int(here["layer"].max())
        uniform = 1.0 / (depth + 1)
        weight_axis.axhline(uniform, color=TEACHER_COLOR, linestyle=":", linewidth=0.8)
        weight_axis.set_title(model, loc="left", fontsize=10, fontweight="bold")
        weight_axis.set_ylabel("normalised weight")
        weight_axis.set_xticks(range(depth + 1))
        weight_axis.set_xlim(-0.5, depth + 0.5)
        weight_axis.set_ylim(bottom=0)
        run = run_of.get(model)
        if run is None:
            kept_axis.set_visible(False)
            continue
        shares = kept_shares(run)
        layers = np.arange(1, len(shares["heads"]) + 1)
        for offset, (name, values) in zip((-0.2, 0.2), shares.items()):
            kept_axis.bar(layers + offset, values, width=0.4, color=_KEPT_COLORS[name], label=name)
        kept_axis.set_xticks(range(depth + 1))
        kept_axis.set_xlim(-0.5, depth + 0.5)
        kept_axis.set_ylim(0, 105)
        kept_axis.set_ylabel("kept (% of teacher)")
        kept_axis.set_title(f"kept per layer ({run.method})", loc="left", fontsize=9)
    for axis in axes.ravel():
        axis.grid(color="#e3e3e3", linewidth=0.6)
        axis.spines[["top", "right"]].set_visible(False)
    axes[-1][0].set_xlabel("hidden state (0: transformer input, i: layer i)")
    axes[-1][1].set_xlabel("layer")
    handles = [
        Line2D([], [], color=_TASK_COLORS[t], marker=_MARKERS[i % len(_MARKERS)], label=t) for i, t in enumerate(tasks)
    ]
    handles += [Line2D([], [], color=c, linewidth=6, label=f"kept {name}") for name, c in _KEPT_COLORS.items()]
    handles.append(Line2D([], [], color=TEACHER_COLOR, linestyle=":", label="uniform weight"))
    figure.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 7), frameon=False)
    return figure
