"""Shared figure helpers: headless Figure objects, a colour per model, atomic PNG+SVG output."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib import rc_context
from matplotlib.figure import Figure

from dpbench.io_utils import atomic_write_bytes

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
TEACHER_COLOR = "#555555"
FORMATS = ("png", "svg")


def new_figure(width: float, height: float) -> Figure:
    """A Figure bound to the Agg canvas (no pyplot, no display needed)."""
    return Figure(figsize=(width, height), layout="constrained")


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


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
