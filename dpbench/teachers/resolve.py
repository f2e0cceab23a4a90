"""Turning a teacher spec (a name or a path) into a checkpoint on disk and into an Encoder.

Names are looked up, in order, in: the name's environment variable (DPBENCH_HUBERT_BASE, ...), the
DPBENCH_CHECKPOINTS folder, torchaudio's hub cache, the Hugging Face hub cache and s3prl's download
cache. Nothing is downloaded: a missing teacher is an error that says which file to place where."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import torch

from dpbench.errors import DpbenchError
from dpbench.models import Encoder, load_encoder
from dpbench.models.checkpoint import is_encoder_checkpoint
from dpbench.teachers.registry import BUILTIN, TeacherName, known_names, teacher_name

BUILTIN_FILE = f"{BUILTIN}.pt"
HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class Location:
    """One place a teacher may be: which source, the path looked at, whether a usable file is there."""

    source: str
    path: Path
    found: bool


def builtin_path() -> Path:
    """The tiny-hubert checkpoint shipped inside the package."""
    return Path(str(files("dpbench") / "assets" / "teachers" / BUILTIN_FILE))


def checkpoints_dir() -> Path:
    """DPBENCH_CHECKPOINTS, or ~/.cache/dpbench/checkpoints when unset."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dpbench" / "checkpoints"
    return Path(os.environ.get("DPBENCH_CHECKPOINTS", default)).expanduser()


def torchaudio_dir() -> Path:
    """Where torchaudio keeps downloaded pipeline weights ($TORCH_HOME/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def s3prl_download_dir() -> Path:
    """Where s3prl's hub entries keep their downloads: ~/.cache/s3prl/download (s3prl.util.download;
    s3prl reads no environment variable for it)."""
    return Path.home() / ".cache" / "s3prl" / "download"


def hf_hub_dir() -> Path:
    """The Hugging Face hub cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)."""
    if "HF_HUB_CACHE" in os.environ:
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("HF_HOME", cache / "huggingface")).expanduser() / "hub"


def is_hf_folder(path: Path) -> bool:
    """A Hugging Face model folder: config.json plus a weights file."""
    return (path / "config.json").is_file() and any((path / name).is_file() for name in HF_WEIGHTS)


def hf_snapshot(repo_cache: Path) -> Path:
    """The snapshot a cached HF repo's refs/main points to, else its newest complete snapshot;
    `repo_cache/snapshots` itself when there is none (a path that does not pass `is_hf_folder`)."""
    snapshots = repo_cache / "snapshots"
    ref = repo_cache / "refs" / "main"
    if ref.is_file() and is_hf_folder(snapshots / ref.read_text().strip()):
        return snapshots / ref.read_text().strip()
    complete = [p for p in snapshots.glob("*") if is_hf_folder(p)] if snapshots.is_dir() else []
    return max(complete, key=lambda p: p.stat().st_mtime) if complete else snapshots


def locations(teacher: TeacherName) -> list[Location]:
    """Every place `teacher` is looked for, in lookup order, each marked found or not."""
    places: list[tuple[str, Path]] = []
    if teacher.env_var in os.environ:
        places.append((f"${teacher.env_var}", Path(os.environ[teacher.env_var]).expanduser()))
    folder = checkpoints_dir()
    places += [("DPBENCH_CHECKPOINTS", folder / name) for name in teacher.file_names]
    places.append(("DPBENCH_CHECKPOINTS (HF folder)", folder / teacher.hf_repo.split("/")[1]))
    places.append(("torchaudio cache", torchaudio_dir() / teacher.torchaudio_file))
    places.append(("Hugging Face cache", hf_snapshot(hf_hub_dir() / teacher.hf_cache_folder)))
    places += [("s3prl cache", s3prl_download_dir() / name) for name in teacher.s3prl_cache_files]
    return [Location(source, path, path.is_file() or is_hf_folder(path)) for source, path in places]


def missing_teacher_message(teacher: TeacherName) -> str:
    return (
        f"teacher {teacher.name!r} is not on this machine (nothing is downloaded at run time). Place one of:\n"
        f"  - torchaudio: {teacher.torchaudio_file} in {torchaudio_dir()}/\n"
        f"  - Hugging Face: a snapshot of {teacher.hf_repo} (config.json + {' or '.join(HF_WEIGHTS)}) in "
        f"{hf_hub_dir() / teacher.hf_cache_folder}/snapshots/<revision>/, or as the folder "
        f"{checkpoints_dir() / teacher.hf_repo.split('/')[1]}/\n"
        f"  - fairseq: {teacher.fairseq_file} in {checkpoints_dir()}/ (set DPBENCH_CHECKPOINTS to use another folder)\n"
        f"  - s3prl: {teacher.s3prl_cache_files[0]} in {s3prl_download_dir()}/ (what s3prl's hub downloads from "
        f"{teacher.s3prl_urls[0]})\n"
        f"or set {teacher.env_var}=/path/to/checkpoint, or pass that path as the teacher."
    )


def resolve(spec: str | os.PathLike[str]) -> Path:
    """The checkpoint file or folder `spec` names: an existing path, 'tiny-hubert' or a teacher name."""
    path = Path(spec).expanduser()
    if path.exists():
        return path
    if str(spec) == BUILTIN:
        shipped = builtin_path()
        if not shipped.is_file():
            raise DpbenchError(f"the built-in teacher is missing from the package ({shipped}); reinstall dpbench")
        return shipped
    if os.sep in str(spec) or path.suffix in (".pt", ".pth", ".bin", ".safetensors", ".ckpt"):
        raise DpbenchError(
            f"teacher checkpoint {spec} does not exist; check the path, or use a teacher name "
            f"({', '.join(known_names())})"
        )
    teacher = teacher_name(str(spec))
    places = locations(teacher)
    env = os.environ.get(teacher.env_var)
    if env is not None and not places[0].found:
        raise DpbenchError(
            f"{teacher.env_var}={env} but there is no checkpoint file or Hugging Face folder there; "
            f"fix the path or unset {teacher.env_var}"
        )
    for place in places:
        if place.found:
            return place.path
    raise DpbenchError(missing_teacher_message(teacher))


def _is_dpbench_file(path: Path) -> bool:
    """Whether `path` holds a checkpoint written by dpbench (peeked at through a memory map)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a zip-format torch file, or holds foreign objects: a toolkit checkpoint
        return False
    return is_encoder_checkpoint(obj)


def load_model(spec: str | os.PathLike[str]) -> Encoder:
    """The teacher `spec` names as a dpbench Encoder in eval mode; foreign checkpoints
    (Hugging Face, torchaudio, fairseq, s3prl) are converted by `dpbench.models.importers`."""
    path = resolve(spec)
    if path.is_file() and _is_dpbench_file(path):
        return load_encoder(path)
    from dpbench.models.importers import import_checkpoint

    return import_checkpoint(path).eval()
