"""Layer importance: the learned weights of s3prl's weighted sum over an upstream's hidden states, read
from each finished SUPERB run and normalised as s3prl applies them (softmax over layers).

Where s3prl keeps them: the legacy runner (`run_downstream.py`) saves `ckpt['Featurizer']['weights']` in
RUN/train/<dev>-best.ckpt and RUN/train/states-<step>.ckpt (ER: one run per fold, RUN/<fold>/train/...;
the folds' normalised weights are averaged); `s3prl.problem` recipes save the model's state dict in
RUN/exp/train/valid_best/model/state_dict.pt, where the weights are `featurizer.weights`. Index 0 is the
transformer's input (the projected conv features), index i the output of layer i."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dpbench.errors import DpbenchError
from dpbench.report.tasks import TASKS

PROBLEM_STATE = Path("exp") / "train" / "valid_best" / "model" / "state_dict.pt"
PROBLEM_KEY = "featurizer.weights"
LAYER_WEIGHTS_CSV = "layer_weights.csv"


def _softmax(raw) -> np.ndarray:
    values = np.asarray(raw.detach().float().cpu().numpy() if hasattr(raw, "detach") else raw, dtype=float)
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


def _runner_checkpoint(train_dir: Path) -> Path | None:
    """The dev-best checkpoint the evaluation used, else the last `states-*.ckpt`."""
    best = sorted(train_dir.glob("*-best.ckpt"))
    if best:
        return best[0]
    states = sorted(train_dir.glob("states-*.ckpt"), key=lambda path: int(path.stem.split("-")[-1]))
    return states[-1] if states else None


def read_layer_weights(run_dir: Path) -> np.ndarray | None:
    """The normalised layer weights of one SUPERB run folder (None: no weighted sum, or no checkpoint)."""
    from dpbench.safe_load import load_torch

    run_dir = Path(run_dir)
    if (run_dir / PROBLEM_STATE).is_file():
        state = load_torch(run_dir / PROBLEM_STATE, "an s3prl.problem model state dict", mmap=True)
        raw = state.get(PROBLEM_KEY) if isinstance(state, dict) else None
        return None if raw is None else _softmax(raw)
    found = []
    for train_dir in sorted([run_dir / "train", *run_dir.glob("*/train")]):
        checkpoint = _runner_checkpoint(train_dir) if train_dir.is_dir() else None
        if checkpoint is None:
            continue
        saved = load_torch(checkpoint, "an s3prl runner checkpoint", mmap=True)
        featurizer = saved.get("Featurizer") if isinstance(saved, dict) else None
        if isinstance(featurizer, dict) and featurizer.get("weights") is not None:
            found.append(_softmax(featurizer["weights"]))
    if not found:
        return None
    if len({len(weights) for weights in found}) > 1:
        raise DpbenchError(f"{run_dir}: its folds' weighted sums have different numbers of layers; rerun the task")
    return np.mean(found, axis=0)


def layer_weights(records: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Columns model, task, layer, weight, runs: for each cell shown in the table (its primary metric), the
    mean normalised weights of the runs behind it (its records at the chosen learning rate)."""
    if "run_dir" not in records.columns:
        return pd.DataFrame(columns=["model", "task", "layer", "weight", "runs"])
    primary = {task.name: task.primary.name for task in TASKS}
    shown = cells[cells["metric"] == cells["task"].map(primary)]
    rows = []
    for _, cell in shown.iterrows():
        same = records[
            (records["model"] == cell["model"])
            & (records["task"] == cell["task"])
            & (records["metric"] == cell["metric"])
            & (records["lr"].map(repr) == repr(cell["lr"]))
        ]
        found = [
            w
            for w in (read_layer_weights(Path(d)) for d in same["run_dir"].dropna().unique() if Path(d).is_dir())
            if w is not None
        ]
        if not found or len({len(w) for w in found}) > 1:
            continue
        for layer, weight in enumerate(np.mean(found, axis=0)):
            rows.append(
                {
                    "model": cell["model"],
                    "task": cell["task"],
                    "layer": layer,
                    "weight": float(weight),
                    "runs": len(found),
                }
            )
    return pd.DataFrame(rows, columns=["model", "task", "layer", "weight", "runs"])
