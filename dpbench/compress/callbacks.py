"""Lightning plumbing of a stage: the per-step CSV log (RUN/train_log.csv), periodic resumable
checkpoints, a CheckpointIO that writes them atomically, and the progress bar."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.plugins.io import TorchCheckpointIO

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_torch_save, atomic_write_text

CSV_COLUMNS = ("step", "stage", "loss", "distill_loss", "reg_loss", "expected_sparsity", "target_sparsity",
               "lambda1", "lambda2", "lr")


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save through a temporary file and a rename: a kill never leaves a half-written checkpoint."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        atomic_torch_save(checkpoint, path)


class StepCSVLogger(L.Callback):
    """One row per optimizer step (terms averaged over accumulated micro-batches). On resume, rows of
    this stage written after the restored checkpoint are dropped, so the log matches the training."""

    def __init__(self, path: Path, stage: str) -> None:
        self.path, self.stage = Path(path), stage
        self._pending: list[dict[str, float]] = []
        self._last_step = -1

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_step = trainer.global_step
        if not trainer.is_global_zero:
            return
        if self.path.is_file():
            with self.path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            kept = [r for r in rows if r["stage"] != self.stage or int(r["step"]) <= trainer.global_step]
            if len(kept) != len(rows):
                self._write_all(kept)
        else:
            self._write_all([])

    def _write_all(self, rows: list[dict[str, str]]) -> None:
        lines = [",".join(CSV_COLUMNS)] + [",".join(str(r[c]) for c in CSV_COLUMNS) for r in rows]
        atomic_write_text(self.path, "\n".join(lines) + "\n")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        self._pending.append(dict(pl_module.step_terms))
        if trainer.global_step == self._last_step:
            return  # still accumulating
        self._last_step = trainer.global_step
        rows, self._pending = self._pending, []
        if not trainer.is_global_zero:
            return
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        values = [trainer.global_step, self.stage] + [f"{mean[c]:.6g}" for c in CSV_COLUMNS[2:]]
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow(values)


class PeriodicCheckpoint(L.Callback):
    """Save the full training state to `path` every `every` optimizer steps (all ranks call, rank 0 writes)."""

    def __init__(self, path: Path, every: int) -> None:
        self.path, self.every = Path(path), every
        self._last_saved = -1

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step and step % self.every == 0 and step != self._last_saved:
            self._last_saved = step
            check_finite_weights(pl_module, step)
            trainer.save_checkpoint(self.path, weights_only=False)


def check_finite_weights(module: torch.nn.Module, step: int) -> None:
    """Refuse to checkpoint NaN/Inf weights: the last good checkpoint stays the one --resume continues from."""
    bad = [name for name, tensor in module.state_dict().items()
           if tensor.is_floating_point() and not torch.isfinite(tensor).all()]
    if bad:
        raise DpbenchError(f"non-finite weights after step {step} ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''})"
                           "; nothing was saved. Fix the cause (e.g. a lower learning rate) and rerun with --resume: "
                           "it continues from the last checkpoint")


class ProgressBar(TQDMProgressBar):
    """Lightning's bar (loss, expected sparsity, lambdas) without the logger's version number."""

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics
