"""How the parent process starts an s3prl subprocess: the command and its environment. The subprocess
itself is `dpbench.superb.backend.launch`; this module imports nothing of s3prl."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dpbench

# The folder holding the `dpbench` package this process runs (site-packages for an install, the checkout
# for a source tree): first on the subprocess's path, so it runs the same dpbench as its parent.
PACKAGE_ROOT = str(Path(dpbench.__file__).resolve().parents[1])

LAUNCHER = "dpbench.superb.backend.launch"
# The folder an evaluation writes to. It reaches s3prl this way, not as `-o args.expdir='...'`, because
# s3prl's override parser eval()s values: a quote in the path would run code, an `=` would break it.
EXPDIR_ENV = "DPBENCH_EXPDIR"
PATCH_OPTION = "--patch"  # `runner --patch NAME=VALUE`: a named patch of `dpbench.superb.backend.patches`


def patch_args(patches: dict[str, str]) -> list[str]:
    """Launcher arguments asking for `patches` (name -> value), placed right after `runner`."""
    return [arg for name, value in patches.items() for arg in (PATCH_OPTION, f"{name}={value}")]


def command(argv: list[str]) -> list[str]:
    """The s3prl subprocess for a stage's arguments (`runner ...` or `problem <module:Class> <yaml>`)."""
    return [sys.executable, "-m", LAUNCHER, *argv]


def child_env(device: str) -> dict[str, str]:
    """Environment for an s3prl subprocess on `device` (unbuffered, so its progress reaches the log live)."""
    env = dict(os.environ)
    env.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)  # every load in s3prl stays restricted
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([PACKAGE_ROOT, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OMP_NUM_THREADS", str(max(1, min(4, os.cpu_count() or 1))))
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env
