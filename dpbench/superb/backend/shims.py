"""Run-time shims s3prl needs on the pinned stack. `apply` runs when `dpbench.superb.backend` is imported,
so before any s3prl import (every module that imports s3prl lives in that package)."""

from __future__ import annotations

import importlib.util
import os
import sys
import types


def apply() -> None:
    """Let s3prl's own checkpoints (argparse.Namespace args, config dicts) load through torch's restricted
    loader with dpbench's allowlist, and fill the imports s3prl needs but dpbench does not install."""
    import torch

    from dpbench.safe_load import allowed_globals

    torch.serialization.add_safe_globals(allowed_globals())
    _tensorboard_writer()
    _hear_scoring_stubs()


def use_device(device: str) -> None:
    """Hide GPUs from this process for a CPU run (s3prl's runner calls `torch.cuda.device` when CUDA is
    visible, which fails for a CPU device); call before CUDA is first used."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def _tensorboard_writer() -> None:
    """`s3prl.problem` imports `torch.utils.tensorboard.writer.SummaryWriter`, which needs the `tensorboard`
    package; without it, serve tensorboardX's writer (same API, already a dependency) under that name."""
    if importlib.util.find_spec("tensorboard") is not None:
        return
    from tensorboardX import SummaryWriter

    package = types.ModuleType("torch.utils.tensorboard")
    writer = types.ModuleType("torch.utils.tensorboard.writer")
    package.SummaryWriter = writer.SummaryWriter = SummaryWriter
    package.writer = writer
    sys.modules["torch.utils.tensorboard"] = package
    sys.modules["torch.utils.tensorboard.writer"] = writer


class _Unavailable:
    """Stands in for a class of a package dpbench does not install; fails clearly if ever used."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("this s3prl HEAR scoring path needs sed_eval and dcase_util, which dpbench does not install")


_HEAR_STUBS = {
    "sed_eval": {},
    "sed_eval.sound_event": dict.fromkeys(
        ("SoundEventMetrics", "EventBasedMetrics", "SegmentBasedMetrics"), _Unavailable
    ),
    "dcase_util": {},
    "dcase_util.containers": {"MetaDataContainer": _Unavailable},
}


def _hear_scoring_stubs() -> None:
    """`import s3prl.problem` runs the HEAR scorers' `sed_eval`/`dcase_util` imports; SUPERB never calls
    them, so register placeholder modules when those packages are absent."""
    if all(name in sys.modules or importlib.util.find_spec(name) for name in ("sed_eval", "dcase_util")):
        return
    for name, attributes in _HEAR_STUBS.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        sys.modules[name] = module
    sys.modules["sed_eval"].sound_event = sys.modules["sed_eval.sound_event"]
    sys.modules["dcase_util"].containers = sys.modules["dcase_util.containers"]
