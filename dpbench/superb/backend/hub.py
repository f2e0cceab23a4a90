"""Building an s3prl hub entry in this process (the efficiency probe measures s3prl upstreams this way)."""

from __future__ import annotations

from pathlib import Path

import s3prl.hub as hub
import s3prl.util.download as s3prl_download
from torch import nn

from dpbench.errors import DpbenchError


def build_entry(source: str, entry: str, ckpt: str | None) -> nn.Module:
    """s3prl's hub entry `entry` on `ckpt` (or its default checkpoint, which must already be in s3prl's
    download cache: nothing is downloaded). `source` names the model in errors."""
    factory = getattr(hub, entry, None)
    if factory is None:
        raise DpbenchError(f"{source!r}: s3prl has no hub entry {entry!r}; see s3prl.hub.options()")
    if ckpt is not None:
        return factory(ckpt=ckpt)
    if entry.endswith("_local"):
        raise DpbenchError(f"{source!r}: a `_local` entry needs its checkpoint: s3prl:{entry}=PATH")

    def refuse_download(filepath: Path, url: str, *args: object, **kwargs: object) -> None:
        if not Path(filepath).is_file():
            raise DpbenchError(
                f"{source!r}: s3prl would download {url}; nothing is downloaded. Place the file "
                f"at {filepath}, or pass it as s3prl:<entry>_local=PATH"
            )

    real_download, s3prl_download._download = s3prl_download._download, refuse_download
    try:
        return factory()
    finally:
        s3prl_download._download = real_download
