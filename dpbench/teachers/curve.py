"""The training-curve figure of a pretraining run."""

from __future__ import annotations

import io
from pathlib import Path

from dpbench.io_utils import atomic_write_bytes


def plot_curve(rows: list[dict[str, float]], path: Path, title: str) -> None:
    """Loss and masked-frame accuracy against step, one colour per iteration, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.2))
    for iteration in sorted({row["iteration"] for row in rows}):
        part = [row for row in rows if row["iteration"] == iteration]
        steps = [row["step"] for row in part]
        loss_axis.plot(steps, [row["loss"] for row in part], label=f"iteration {int(iteration)}")
        accuracy_axis.plot(steps, [row["masked_accuracy"] for row in part], label=f"iteration {int(iteration)}")
    loss_axis.set(xlabel="step", ylabel="cross-entropy (masked + weighted unmasked)", title=title)
    accuracy_axis.set(xlabel="step", ylabel="accuracy on masked frames", ylim=(0, None))
    loss_axis.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
