"""Fluent Speech Commands for IC: `data/{train,valid,test}_data.csv` (columns path, speakerId,
transcription, action, object, location; paths relative to the root, e.g. `wavs/speakers/<spk>/<id>.wav`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dpbench.superb.checks import require, require_batches

SPLITS = ("train", "valid", "test")
SLOTS = ("action", "object", "location")
MARKER = "data/train_data.csv"  # the file that tells a Fluent Speech Commands root


def check_splits(task: str, root: Path) -> None:
    """A training split with an utterance, and no valid/test slot value that training never shows (s3prl
    builds its label sets from the training csv and cannot label the others)."""
    frames = {split: pd.read_csv(root / "data" / f"{split}_data.csv") for split in SPLITS}
    require_batches(task, len(frames["train"]), 1, root / "data" / "train_data.csv")
    for split in ("valid", "test"):
        for slot in SLOTS:
            unseen = set(frames[split][slot]) - set(frames["train"][slot])
            require(
                not unseen,
                f"{root / 'data' / f'{split}_data.csv'}: {slot} values {sorted(unseen)} never "
                "occur in train_data.csv, which s3prl cannot label; fix the split",
            )
