"""One-file checkpoints of dpbench encoders: {format, config, state_dict, gates, extra}.

Loading needs nothing beyond dpbench: the config rebuilds the (possibly pruned) architecture."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_torch_save
from dpbench.models.config import EncoderConfig
from dpbench.models.encoder import Encoder

FORMAT = "dpbench-encoder"
FORMAT_VERSION = 1


def save_encoder(path: str | os.PathLike[str], model: Encoder, extra: dict[str, Any] | None = None) -> None:
    """Write `model` (gates included, if any) to `path` atomically."""
    atomic_torch_save(
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "config": model.config.to_dict(),
            "gates": dict(model.gate_flags),
            "conv_gate_norm": model.conv_gate_norm,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "extra": extra or {},
        },
        path,
    )


def is_encoder_checkpoint(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a dpbench checkpoint file as a dict, with clear errors for missing or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise DpbenchError(f"checkpoint not found: {path} (give the path of a .pt file written by dpbench)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt or non-torch file
        raise DpbenchError(f"cannot read {path} as a PyTorch checkpoint ({error}); is the file complete?") from error
    if not is_encoder_checkpoint(obj):
        raise DpbenchError(
            f"{path} is not a dpbench encoder checkpoint (no format={FORMAT!r}); for Hugging Face, torchaudio or "
            "fairseq checkpoints use `dpbench.teachers.load_model(path)`, which converts them"
        )
    if obj.get("version", 0) > FORMAT_VERSION:
        raise DpbenchError(f"{path} was written by a newer dpbench (format version {obj['version']}); upgrade dpbench")
    return obj


def encoder_from_checkpoint(obj: dict[str, Any], source: str = "checkpoint") -> Encoder:
    model = Encoder(EncoderConfig.from_dict(obj["config"]))
    gates = obj.get("gates") or {}
    if any(gates.values()):
        model.set_gates(**gates, conv_gate_norm=obj.get("conv_gate_norm", "masked"))
    missing, unexpected = model.load_state_dict(obj["state_dict"], strict=False)
    if missing or unexpected:
        raise DpbenchError(
            f"{source}: weights do not match its config (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    return model


def load_encoder(path: str | os.PathLike[str]) -> Encoder:
    """Rebuild an Encoder (in eval mode) from a file written by `save_encoder`."""
    return encoder_from_checkpoint(read_checkpoint(path), str(path)).eval()
