"""The one way dpbench unpickles a PyTorch file: torch's restricted loader with a fixed allowlist.

`load_torch(path)` accepts tensors and plain containers (torch's own `weights_only` set), plus the
config objects fairseq / unilm / s3prl checkpoints pickle next to their weights: `argparse.Namespace`,
omegaconf containers and their nodes, numpy scalars and arrays. Anything else (a class or function the
file names, which an unrestricted unpickler would call) is refused with an error naming the file and the
refused globals. `--trust-checkpoint` (the `DPBENCH_TRUST_CHECKPOINT` environment variable, inherited by
s3prl subprocesses) lets a file the user vouches for load unrestricted, with a warning each time."""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dpbench.errors import DpbenchError

TRUST_ENV = "DPBENCH_TRUST_CHECKPOINT"
TRUST_HELP = (
    "Load checkpoints that hold objects beyond tensors and known config types with the unrestricted "
    "unpickler. UNSAFE: such a file can run any code on this machine; only for files you trust."
)


def allowed_globals() -> list[Any]:
    """Every global a restricted load may name beyond torch's defaults (each only builds data)."""
    import numpy as np
    from numpy._core import multiarray
    from omegaconf import DictConfig, ListConfig, nodes
    from omegaconf.base import ContainerMetadata, Metadata

    numpy_types = [
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
        # the same functions under numpy 1.x's module name, which checkpoints of that era name
        (multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
        (multiarray.scalar, "numpy.core.multiarray.scalar"),
    ]
    numpy_types += [
        type(np.dtype(name))
        for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64")
    ]
    return [
        argparse.Namespace,
        DictConfig,
        ListConfig,
        ContainerMetadata,
        Metadata,
        nodes.AnyNode,
        nodes.StringNode,
        nodes.IntegerNode,
        nodes.FloatNode,
        nodes.BooleanNode,
        nodes.BytesNode,
        typing.Any,
        dict,
        list,
        tuple,
        set,
        int,
        float,
        bool,
        str,
        collections.defaultdict,
        *numpy_types,
    ]


def trusted() -> bool:
    """Whether the user passed --trust-checkpoint (in this process or the dpbench process that started it)."""
    return os.environ.get(TRUST_ENV) == "1"


REFUSAL_MARKER = "Unsupported global: GLOBAL "


def _refused(error: Exception) -> str | None:
    """The global a restricted load refused (named in torch's message), or None for any other failure."""
    text = str(error)
    if REFUSAL_MARKER not in text:
        return None
    return text.split(REFUSAL_MARKER, 1)[1].split(" ", 1)[0]


def _reason(error: Exception) -> str:
    """torch's own reason, without its advice to load unrestricted."""
    text = str(error)
    marker = "WeightsUnpickler error: "
    if marker in text:
        return text.split(marker, 1)[1].splitlines()[0].strip()
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def load_torch(path: str | os.PathLike[str], expected: str = "a PyTorch checkpoint", mmap: bool = False) -> Any:
    """Unpickle the PyTorch file at `path` on the CPU through the allowlist; DpbenchError when it is refused
    (naming the refused global and --trust-checkpoint) or unreadable (naming `expected`)."""
    import torch

    path = Path(path)
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        refused = _refused(error)
        if refused is None:
            raise DpbenchError(
                f"cannot read {path} as a PyTorch file ({_reason(error)}); expected {expected}"
            ) from None
        if not trusted():
            raise DpbenchError(
                f"{path} holds `{refused}`, a Python object dpbench does not unpickle: loading it could run code "
                "from the file. If you trust where it came from, rerun with --trust-checkpoint"
            ) from None
    except Exception as error:
        raise DpbenchError(f"cannot read {path} as a PyTorch file ({_reason(error)}); expected {expected}") from None
    warn(f"--trust-checkpoint: loading {path} with the UNRESTRICTED unpickler; it may run code from the file")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise DpbenchError(f"cannot read {path} as a PyTorch file ({_reason(error)}); expected {expected}") from None


def warn(text: str) -> None:
    print(f"[dpbench] WARNING: {text}", file=sys.stderr, flush=True)


def _set_trust(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ[TRUST_ENV] = "1"
        warn(
            "--trust-checkpoint: files that hold more than tensors and known config types will be unpickled "
            "unrestricted (they can run code); pass it only for checkpoints you trust"
        )


def trust_option(command: Callable) -> Callable:
    """The `--trust-checkpoint` flag of every command that reads user checkpoints."""
    return click.option("--trust-checkpoint", is_flag=True, expose_value=False, callback=_set_trust, help=TRUST_HELP)(
        command
    )
