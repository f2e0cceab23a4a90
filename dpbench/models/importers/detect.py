"""`import_checkpoint(path)`: recognise a local checkpoint's format and convert it to an Encoder."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from dpbench.errors import DpbenchError
from dpbench.models.checkpoint import encoder_from_checkpoint, is_encoder_checkpoint
from dpbench.models.encoder import Encoder
from dpbench.models.importers.fairseq import from_fairseq
from dpbench.models.importers.huggingface import (
    PREPROCESSOR_CONFIG,
    from_huggingface,
    from_huggingface_state,
    huggingface_state_arch,
    preprocessor_normalize,
)
from dpbench.models.importers.released import from_released, is_released_checkpoint
from dpbench.models.importers.s3prl_hub import from_s3prl, is_s3prl_converted
from dpbench.models.importers.torchaudio import from_torchaudio, is_torchaudio_state
from dpbench.safe_load import load_torch

HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
EXPECTED = (
    "a dpbench checkpoint, a Hugging Face folder (config.json + model.safetensors or pytorch_model.bin), "
    "a Hugging Face or torchaudio state dict, a fairseq .pt with 'model' and 'cfg'/'args', "
    "an s3prl converted .pt with 'task_cfg', 'model_cfg' and 'model_weight', "
    "or a DPHuBERT authors' .pth with 'state_dict' and 'config'"
)


def _read_weights(path: Path) -> Any:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as error:
            raise DpbenchError(f"cannot read {path} as safetensors ({error})") from error
    return load_torch(path, expected=EXPECTED)


def _name_arch(path: Path) -> str | None:
    """An architecture named in the file or folder name, e.g. 'hubert_base_ls960.pth'."""
    name = path.name.lower() if path.name.lower() not in HF_WEIGHTS else path.parent.name.lower()
    for arch, marker in (("wavlm", "wavlm"), ("hubert", "hubert"), ("wav2vec2", "wav2vec")):
        if marker in name:
            return arch
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DpbenchError(f"cannot read {path} as JSON ({error})") from error


def _hf_normalize(folder: Path) -> bool | None:
    """`do_normalize` of the folder's preprocessor_config.json, None without one."""
    path = folder / PREPROCESSOR_CONFIG
    return preprocessor_normalize(_read_json(path)) if path.is_file() else None


def _from_folder(folder: Path) -> Encoder:
    config_path = folder / "config.json"
    weights = [folder / name for name in HF_WEIGHTS if (folder / name).is_file()]
    if not config_path.is_file() or not weights:
        raise DpbenchError(
            f"{folder} is a folder but not a Hugging Face model folder: expected config.json and one of {HF_WEIGHTS}"
        )
    return from_huggingface(_read_weights(weights[0]), _read_json(config_path), str(weights[0]), _hf_normalize(folder))


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, Tensor) for v in obj.values())


def _from_state_dict(state: Mapping[str, Tensor], path: Path, arch: str | None, known: dict[str, Any]) -> Encoder:
    source = str(path)
    if is_torchaudio_state(state):
        return from_torchaudio(state, arch or _name_arch(path), source=source, **known)
    if any("pos_conv_embed" in key for key in state):
        sibling = path.parent / "config.json"
        if sibling.is_file() and not known:
            return from_huggingface(state, _read_json(sibling), source, _hf_normalize(path.parent))
        arch = arch or huggingface_state_arch(state) or _name_arch(path) or "wav2vec2"
        return from_huggingface_state(state, source, arch, **known)
    if "post_extract_proj.weight" in state:
        raise DpbenchError(f"{path} holds fairseq weights without their config; expected the full fairseq .pt")
    raise DpbenchError(f"{path} is not a recognised encoder checkpoint; expected {EXPECTED}")


def import_checkpoint(path: str | os.PathLike[str], arch: str | None = None, **known: Any) -> Encoder:
    """Load any supported checkpoint as an Encoder in eval mode.

    `arch` labels HuBERT vs wav2vec 2.0 where the file cannot tell (torchaudio or bare Hugging
    Face state dicts; the file name is used when it says); `known` overrides shape conventions
    for config-less state dicts (see `shapes.infer_config`)."""
    path = Path(path)
    if path.is_dir():
        return _from_folder(path)
    if not path.is_file():
        raise DpbenchError(f"checkpoint not found: {path}; expected {EXPECTED}")
    obj = _read_weights(path)
    if is_encoder_checkpoint(obj):
        return encoder_from_checkpoint(obj, str(path)).eval()
    if is_s3prl_converted(obj):
        return from_s3prl(obj, source=str(path))
    if isinstance(obj, Mapping) and "model" in obj and ("cfg" in obj or "args" in obj):
        return from_fairseq(obj, source=str(path))
    if is_released_checkpoint(obj):
        return from_released(obj, source=str(path), arch=arch or _name_arch(path))
    if _is_state_dict(obj):
        return _from_state_dict(obj, path, arch, known)
    raise DpbenchError(f"{path} is not a recognised encoder checkpoint; expected {EXPECTED}")
