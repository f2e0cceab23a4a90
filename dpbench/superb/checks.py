"""Checks shared by the corpus adapters and the tasks, each failing with a DpbenchError that says the fix."""

from __future__ import annotations

from pathlib import Path

from dpbench.errors import DpbenchError


def require_batches(task: str, items: int, batch_size: int, what: Path) -> None:
    """Guard s3prl's infinite loop when the training split yields no full batch."""
    if items < batch_size:
        raise DpbenchError(
            f"{task}: the training split in {what} has {items} items, fewer than one batch ({batch_size}); "
            "s3prl would loop forever. Use a bigger corpus (e.g. `dpbench data synth --size small`) "
            "or a config with a smaller batch size"
        )


def require(predicate: bool, message: str) -> None:
    if not predicate:
        raise DpbenchError(message)
