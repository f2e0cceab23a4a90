"""Crash-safe checkpoints for s3prl's legacy runner, installed in the s3prl subprocess.

s3prl deletes the oldest `states-*.ckpt` before it writes the new one, with a plain `torch.save`: a kill in
between leaves a torn or missing last checkpoint, and `-a` (auto-resume) then fails on every rerun. Here
every `torch.save` to a path is atomic (temporary file + rename), the runner's deletions of `states-*.ckpt`
wait until the next `states-*.ckpt` exists, and a last checkpoint that still cannot be read (written before
this fix, or damaged) is set aside so the run resumes from the previous one, with a message saying so."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

STATES_GLOB = "states-*.ckpt"


def _is_states(path: Any) -> bool:
    return isinstance(path, (str, os.PathLike)) and Path(path).match(STATES_GLOB)


class _DeferredRemoval(types.ModuleType):
    """`os` for s3prl's runner, whose `remove` of a states checkpoint waits for the next one to be saved."""

    def __init__(self) -> None:
        super().__init__("os")
        self.pending: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def remove(self, path: Any) -> None:
        if _is_states(path):
            self.pending.append(os.fspath(path))
        else:
            os.remove(path)


def install(runner_module: types.ModuleType) -> None:
    """Make s3prl's `torch.save` calls atomic and its checkpoint rotation keep the old file until the new exists."""
    import torch

    from dpbench.io_utils import atomic_torch_save

    deferred = _DeferredRemoval()
    runner_module.os = deferred
    plain_save = torch.save

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(f, (str, os.PathLike)):
            plain_save(obj, f, *args, **kwargs)
            return
        torch.save = plain_save  # atomic_torch_save serialises through torch.save into a buffer
        try:
            atomic_torch_save(obj, f)
        finally:
            torch.save = save
        if _is_states(f):
            for old in deferred.pending:
                if os.path.exists(old):
                    os.remove(old)
            deferred.pending.clear()

    torch.save = save


def drop_unreadable_last(expdir: str | os.PathLike[str]) -> None:
    """Set aside (rename to *.unreadable) each newest `states-*.ckpt` of `expdir` that cannot be loaded, so
    s3prl's auto-resume picks the newest readable one."""
    import torch

    from dpbench.safe_load import allowed_globals

    def step(path: Path) -> int:
        return int(path.stem.split("-")[-1])

    states = sorted(Path(expdir).glob(STATES_GLOB), key=step, reverse=True) if Path(expdir).is_dir() else []
    for newest, previous in zip(states, [*states[1:], None]):
        try:
            with torch.serialization.safe_globals(allowed_globals()):
                torch.load(newest, map_location="cpu", weights_only=True, mmap=True)
            return
        except Exception as error:
            aside = newest.with_name(newest.name + ".unreadable")
            newest.rename(aside)
            then = f"resuming from {previous.name}" if previous else "no earlier checkpoint: training starts over"
            print(
                f"[dpbench] {newest} cannot be read ({type(error).__name__}: {str(error).splitlines()[0][:200]}); "
                f"moved to {aside.name}, {then}",
                file=sys.stderr,
                flush=True,
            )
