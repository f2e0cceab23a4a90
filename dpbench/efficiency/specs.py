"""What `dpbench efficiency` measures: a model spec, and the model it loads as (module, forward).

A spec is a dpbench checkpoint, a teacher name or file (through `dpbench.teachers.load_model`), or
an s3prl hub entry `s3prl:<entry>`, optionally with a local checkpoint: `s3prl:<entry>=PATH`
(e.g. `s3prl:distiller_local=distilhubert.ckpt`). Nothing is downloaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dpbench.errors import DpbenchError
from dpbench.superb.upstream_spec import S3PRL_PREFIX, parse_upstream

Forward = Callable[[nn.Module, torch.Tensor], Any]


@dataclass(frozen=True)
class ModelSpec:
    """One model to measure: what the user passed, its display name, and how to build it."""

    source: str
    name: str
    s3prl_entry: str | None = None  # None: a dpbench checkpoint or teacher
    s3prl_ckpt: str | None = None


def parse_spec(text: str) -> ModelSpec:
    """`s3prl:<entry>[=PATH]` or a dpbench/teacher spec; the name matches what `dpbench superb` records."""
    if not text.startswith(S3PRL_PREFIX):
        return ModelSpec(source=text, name=parse_upstream(text).name)
    entry, _, ckpt = text[len(S3PRL_PREFIX) :].partition("=")
    if not entry:
        raise DpbenchError(f"{text!r}: name an s3prl hub entry, e.g. s3prl:distiller_local=PATH")
    if ckpt:
        path = Path(ckpt).expanduser()
        if not path.exists():
            raise DpbenchError(f"{text!r}: checkpoint {path} does not exist; check the path after '='")
        return ModelSpec(
            source=text, name=parse_upstream(str(path)).name, s3prl_entry=entry, s3prl_ckpt=str(path.resolve())
        )
    return ModelSpec(source=text, name=entry, s3prl_entry=entry)


def _encoder_forward(model: nn.Module, wavs: torch.Tensor) -> Any:
    return model(wavs)


def _upstream_forward(model: nn.Module, wavs: torch.Tensor) -> Any:
    return model(list(wavs))  # s3prl upstreams take a list of 1-D waveforms


def load(spec: ModelSpec) -> tuple[nn.Module, Forward]:
    """The model in eval mode on CPU and the call that runs it on a (batch, samples) tensor."""
    if spec.s3prl_entry is None:
        from dpbench.teachers import load_model

        return load_model(spec.source).eval(), _encoder_forward
    return _load_s3prl(spec).eval(), _upstream_forward


def _load_s3prl(spec: ModelSpec) -> nn.Module:
    from dpbench.superb.backend import shims

    shims.use_device("cpu")
    from dpbench.superb.backend.hub import build_entry

    return build_entry(spec.source, spec.s3prl_entry or "", spec.s3prl_ckpt)
