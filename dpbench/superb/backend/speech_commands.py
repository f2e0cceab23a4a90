"""s3prl's own Speech Commands split, for checking a KS corpus in the parent process."""

from __future__ import annotations

from pathlib import Path

from s3prl.downstream.speech_commands.expert import split_dataset


def training_items(train_root: Path) -> list:
    """The training items s3prl's `speech_commands` downstream keeps from `train_root` (its hash split)."""
    train_list, _ = split_dataset(train_root)
    return train_list
