"""Lightning plumbing of a stage: the per-step CSV log (RUN/train_log.csv), periodic resumable
checkpoints, a CheckpointIO that writes them atomically, and the progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import torch
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.types import STEP_OUTPUT

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_torch_save
from dpbench.records.train_log import TrainLogRow, append_row, read_log, write_log

if TYPE_CHECKING:
    from dpbench.compress.module import CompressModule


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save through a temporary file and a rename: a kill never leaves a half-written checkpoint."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None) -> None:
        atomic_torch_save(checkpoint, path)


# Terms of the gates and the Lagrangian: a stage without gates (a baseline's stages, DPHuBERT's final
# distillation) leaves them empty, so the log and the report say that nothing was pruned there.
GATE_TERMS = ("reg_loss", "expected_sparsity", "target_sparsity", "lambda1", "lambda2")


class StepCSVLogger(L.Callback):
    """One row per optimizer step (terms averaged over accumulated micro-batches; the gate terms empty in a
    stage without gates). On resume, rows of this stage written after the restored checkpoint are dropped,
    so the log matches the training, and the log is rewritten in the current format (a log of an older
    dpbench gets the version column)."""

    def __init__(self, path: Path, stage: str) -> None:
        self.path, self.stage = Path(path), stage
        self._pending: list[dict[str, float]] = []
        self._last_step = -1

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_step = trainer.global_step
        if not trainer.is_global_zero:
            return
        rows = read_log(self.path) if self.path.is_file() else []
        write_log(self.path, [r for r in rows if r.stage != self.stage or r.step <= trainer.global_step])

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: STEP_OUTPUT, batch: Any, batch_idx: int
    ) -> None:
        self._pending.append(dict(cast("CompressModule", pl_module).step_terms))  # the stage's module
        if trainer.global_step == self._last_step:
            return  # still accumulating
        self._last_step = trainer.global_step
        rows, self._pending = self._pending, []
        if not trainer.is_global_zero:
            return
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        if not cast("CompressModule", pl_module).pruning:
            mean = {k: v for k, v in mean.items() if k not in GATE_TERMS}  # empty cells: TrainLogRow's None
        append_row(self.path, TrainLogRow(step=trainer.global_step, stage=self.stage, **mean))


class PeriodicCheckpoint(L.Callback):
    """Save the full training state to `path` every `every` optimizer steps (all ranks call, rank 0 writes)."""

    def __init__(self, path: Path, every: int) -> None:
        self.path, self.every = Path(path), every
        self._last_saved = -1

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: STEP_OUTPUT, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if step and step % self.every == 0 and step != self._last_saved:
            self._last_saved = step
            check_finite_weights(pl_module, step)
            trainer.save_checkpoint(self.path, weights_only=False)


def check_finite_weights(module: torch.nn.Module, step: int) -> None:
    """Refuse to checkpoint NaN/Inf weights: the last good checkpoint stays the one --resume continues from."""
    bad = [
        name
        for name, tensor in module.state_dict().items()
        if tensor.is_floating_point() and not torch.isfinite(tensor).all()
    ]
    if bad:
        raise DpbenchError(
            f"non-finite weights after step {step} ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''})"
            "; nothing was saved. Fix the cause (e.g. a lower learning rate) and rerun with --resume: "
            "it continues from the last checkpoint"
        )


class ProgressBar(TQDMProgressBar):
    """Lightning's bar (loss, expected sparsity, lambdas) without the logger's version number."""

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics
