"""The s3prl hub entry `dpbench` and its registration into `s3prl.hub` at run time."""

from __future__ import annotations

from typing import Any

from torch import nn

from dpbench.superb.backend.upstream.expert import UpstreamExpert

ENTRY_NAME = "dpbench"


def load_spec(spec: str) -> nn.Module:
    """Resolve a dpbench checkpoint, a teacher checkpoint (HF / torchaudio / fairseq) or a teacher name."""
    from dpbench.teachers import load_model

    return load_model(spec)


def dpbench(ckpt: str | None = None, model_config: Any = None, refresh: bool = False, **kwargs: Any) -> UpstreamExpert:
    """s3prl upstream factory: `ckpt` is a dpbench checkpoint, a teacher checkpoint or a teacher name."""
    if not ckpt:
        from dpbench.errors import DpbenchError

        raise DpbenchError("the dpbench upstream needs a checkpoint: pass -k CKPT (runner) or path_or_url=CKPT")
    return UpstreamExpert(load_spec(str(ckpt)))


def register(name: str = ENTRY_NAME) -> None:
    """Make `name` an s3prl hub entry, usable by the runner (`-u name`) and `S3PRLUpstream(name)`."""
    import s3prl.hub

    setattr(s3prl.hub, name, dpbench)
