"""Joint distillation and structured pruning (DPHuBERT) and its baselines, as a resumable trainer.

The names below are imported on first use, so that light modules of this package (e.g. `layout`) can be
imported without torch and Lightning."""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "METHODS": "config",
    "CompressConfig": "config",
    "make_config": "config",
    "Hardware": "runner",
    "run_compress": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
