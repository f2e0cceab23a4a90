"""Run-time shims s3prl needs on the pinned stack; `apply` runs before any s3prl import."""

from __future__ import annotations

import importlib.util
import os
import sys
import types


def apply(device: str) -> None:
    """Let s3prl's own checkpoints (argparse.Namespace args, config dicts) load through torch's restricted
    loader with dpbench's allowlist, hide GPUs for CPU runs, fill missing imports."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    from dpbench.safe_load import allowed_globals

    torch.serialization.add_safe_globals(allowed_globals())
    _tensorboard_writer()
    _hear_scoring_stubs()


def child_env(device: str) -> dict[str, str]:
    """Environment for an s3prl subprocess on `device` (unbuffered, so its progress reaches the log live)."""
    env = dict(os.environ)
    env.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)  # every load in s3prl stays restricted
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("OMP_NUM_THREADS", str(max(1, min(4, os.cpu_count() or 1))))
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


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
    "sed_eval.sound_event": dict.fromkeys(("SoundEventMetrics", "EventBasedMetrics", "SegmentBasedMetrics"),
                                          _Unavailable),
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
