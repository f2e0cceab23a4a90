"""What `--upstream` names: a dpbench/teacher checkpoint or teacher name, or an s3prl hub entry."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

S3PRL_PREFIX = "s3prl:"


@dataclass(frozen=True)
class UpstreamSpec:
    """How to hand an upstream to s3prl (`entry` + `ckpt`) and how to name it in results."""

    entry: str  # s3prl hub entry (`dpbench` for dpbench checkpoints and teachers)
    ckpt: str | None  # value for s3prl's -k / path_or_url
    name: str  # display name in results
    source: str  # what the user passed
    folder: str = ""  # run folder name: the name, plus a content hash for files (two files never share one)

    @property
    def is_dpbench(self) -> bool:
        return self.entry == "dpbench"

    @property
    def run_folder(self) -> str:
        return self.folder or self.name


def parse_upstream(spec: str) -> UpstreamSpec:
    """`s3prl:fbank` uses s3prl's own entry; anything else goes through the dpbench upstream."""
    if spec.startswith(S3PRL_PREFIX):
        entry = spec[len(S3PRL_PREFIX) :]
        return UpstreamSpec(entry=entry, ckpt=None, name=entry, source=spec)
    path = Path(spec).expanduser()
    if path.exists():
        name = _safe(path.stem if path.is_file() else path.name)
        return UpstreamSpec(
            entry="dpbench", ckpt=str(path.resolve()), name=name, source=spec, folder=f"{name}-{content_hash(path)[:8]}"
        )
    return UpstreamSpec(entry="dpbench", ckpt=spec, name=_safe(spec), source=spec)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "upstream"


def complexity(spec: UpstreamSpec) -> tuple[int | None, float | None]:
    """(parameters, MACs per second of audio) of a dpbench upstream; (None, None) for s3prl entries."""
    if not spec.is_dpbench:
        return None, None
    from dpbench.models.complexity import count_macs, count_params
    from dpbench.teachers import load_model

    model = load_model(spec.ckpt)
    return int(count_params(model.config)), float(count_macs(model.config))


def fingerprint(spec: UpstreamSpec) -> str | None:
    """Content hash of the checkpoint file (or folder) a dpbench upstream resolves to; None for s3prl entries.

    A run trains and evaluates in separate processes that each load the upstream again, so a checkpoint
    replaced in between (e.g. a re-trained `tiny-hubert`) would silently mix two models."""
    if not spec.is_dpbench:
        return None
    from dpbench.teachers import resolve

    return content_hash(resolve(spec.ckpt))


def content_hash(path: Path) -> str:
    """sha256 (16 hex digits) of a file, or of a folder's files and their relative names."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if file != path else b"")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
