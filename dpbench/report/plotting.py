"""Shared figure helpers: headless Figure objects, one colour per compression method (the same in
every figure), atomic PNG+SVG output."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib import rc_context
from matplotlib.figure import Figure

from dpbench.io_utils import atomic_write_bytes
from dpbench.method_labels import method_label

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
TEACHER_COLOR = "#555555"
FORMATS = ("png", "svg")


def new_figure(width: float, height: float) -> Figure:
    """A Figure bound to the Agg canvas (no pyplot, no display needed)."""
    return Figure(figsize=(width, height), layout="constrained")


# One colour per method in every figure; unknown methods take the rest in turn.
METHOD_COLORS = {"dphubert": PALETTE[0], "distilhubert": PALETTE[1], "fithubert": PALETTE[2], "half": PALETTE[3]}
_COLOR_BY_LABEL = {method_label(method): color for method, color in METHOD_COLORS.items()}
_SPARE_COLORS = PALETTE[len(METHOD_COLORS) :]


def method_color(method: str) -> str:
    """The colour of a method (key or display name) in every figure; the same name always gets the same one."""
    label = method_label(method)
    if label in _COLOR_BY_LABEL:
        return _COLOR_BY_LABEL[label]
    return _SPARE_COLORS[sum(label.encode()) % len(_SPARE_COLORS)]


def plural(count: int, noun: str) -> str:
    """ "1 layer", "5 layers"."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def save_figure(figure: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Write `stem`.png (150 dpi) and `stem`.svg atomically (byte-identical on reruns); returns their paths."""
    paths = []
    for fmt in FORMATS:
        buffer = io.BytesIO()
        with rc_context({"svg.hashsalt": "dpbench"}):
            figure.savefig(buffer, format=fmt, dpi=150, metadata={"Date": None} if fmt == "svg" else None)
        path = out_dir / f"{stem}.{fmt}"
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    return paths
