"""s3prl's converted checkpoints (what its `hubert*` / `wav2vec2*` hub entries download and its
`hubert_local` / `wav2vec2_local` entries load) -> Encoder.

The file is a dict {task_cfg, model_cfg, model_weight(, dictionaries_symbols)}: fairseq's task and
model configs as plain dicts and fairseq's state dict, so the fairseq importer converts it; waveform
normalisation is `task_cfg['normalize']`. (s3prl's `wavlm*` entries keep unilm's own {cfg, model}
files, which the fairseq importer reads directly.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dpbench.errors import DpbenchError
from dpbench.models.encoder import Encoder
from dpbench.models.importers.fairseq import from_fairseq

REQUIRED_KEYS = ("task_cfg", "model_cfg", "model_weight")


def is_s3prl_converted(obj: Any) -> bool:
    return isinstance(obj, Mapping) and all(key in obj for key in REQUIRED_KEYS)


def from_s3prl(ckpt: Mapping[str, Any], source: str = "checkpoint") -> Encoder:
    """Convert a loaded s3prl converted checkpoint dict to an Encoder in eval mode."""
    if not is_s3prl_converted(ckpt):
        missing = [key for key in REQUIRED_KEYS if not isinstance(ckpt, Mapping) or key not in ckpt]
        raise DpbenchError(f"{source}: not an s3prl converted checkpoint (missing {missing})")
    fairseq_layout = {"cfg": {"task": ckpt["task_cfg"], "model": ckpt["model_cfg"]}, "model": ckpt["model_weight"]}
    return from_fairseq(fairseq_layout, source)
