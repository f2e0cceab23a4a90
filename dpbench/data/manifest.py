"""fairseq-style manifests for compression data: a TSV whose first line is the corpus root and whose
other lines are `relative/path<TAB>n_samples` (samples at 16 kHz), split into train and valid."""

from __future__ import annotations

import logging
import os
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from dpbench.data.audio import AUDIO_EXTENSIONS, SAMPLE_RATE, AudioError, check_audio
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text

logger = logging.getLogger(__name__)


@dataclass
class ManifestSummary:
    """What `write_manifest` did: item counts per split, hours of audio and the files it skipped."""

    train: int
    valid: int
    hours: float
    bad: list[tuple[Path, str]]


def _check(path: Path, quick: bool) -> tuple[Path, int | str]:
    try:
        return path, check_audio(path, quick)
    except AudioError as err:
        return path, err.problem


def scan_audio(
    root: str | os.PathLike[str],
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS,
    quick: bool = False,
    workers: int | None = None,
) -> tuple[list[tuple[Path, int]], list[tuple[Path, str]]]:
    """Find every audio file under `root` (sorted) and decode it (`quick`: read its header only) on `workers`
    threads (default: the CPU count), returning (good: [(path, n_samples)], bad: [(path, reason)]). Corrupt,
    empty, too short (see `check_audio`) and non-finite files are reported, not raised."""
    root = Path(root)
    if not root.is_dir():
        raise DpbenchError(f"{root}: not a directory; pass the folder that holds the audio files")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in extensions and not p.name.startswith("."))
    good: list[tuple[Path, int]] = []
    bad: list[tuple[Path, str]] = []
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:  # libsndfile decodes without the GIL
        results = pool.map(_check, paths, [quick] * len(paths))
        for path, outcome in tqdm(
            results,
            total=len(paths),
            desc=f"{'probe' if quick else 'decode'} {root.name}",
            unit="file",
            disable=len(paths) < 200,
        ):
            if isinstance(outcome, int):
                good.append((path, outcome))
            else:
                bad.append((path, outcome))
    if bad:
        logger.warning("skipped %d bad audio file(s) under %s, e.g. %s: %s", len(bad), root, *bad[0])
    return good, bad


def split_items(
    items: list[tuple[str, int]], valid_fraction: float | int, seed: int
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Random train/valid split. `valid_fraction` < 1 is a fraction of items (at least one item when
    there are two or more), an integer >= 1 is a count. Both lists keep the input order."""
    if valid_fraction < 0:
        raise DpbenchError(f"--valid-fraction {valid_fraction}: must be >= 0")
    if valid_fraction < 1:
        n_valid = round(len(items) * valid_fraction)
        if valid_fraction > 0 and len(items) >= 2:
            n_valid = max(n_valid, 1)
    else:
        n_valid = int(valid_fraction)
    if n_valid >= len(items) and items:
        raise DpbenchError(
            f"--valid-fraction {valid_fraction} leaves no training data out of {len(items)} files; "
            "use a smaller fraction or count"
        )
    valid_ids = set(random.Random(seed).sample(range(len(items)), n_valid))
    train = [item for i, item in enumerate(items) if i not in valid_ids]
    valid = [item for i, item in enumerate(items) if i in valid_ids]
    return train, valid


def format_manifest(root: Path, items: list[tuple[str, int]]) -> str:
    lines = [str(root)] + [f"{relpath}\t{n_samples}" for relpath, n_samples in items]
    return "\n".join(lines) + "\n"


def write_manifest(
    root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    valid_fraction: float | int = 0.01,
    seed: int = 0,
    min_seconds: float = 0.0,
    quick: bool = False,
    workers: int | None = None,
) -> ManifestSummary:
    """Scan `root` (see `scan_audio`) and write `out_dir/train.tsv` and `out_dir/valid.tsv` (plus `bad.tsv`
    listing the skipped files with their reasons, when there are any). Files shorter than `min_seconds` are
    left out."""
    root = Path(root).resolve()
    good, bad = scan_audio(root, quick=quick, workers=workers)
    min_samples = int(min_seconds * SAMPLE_RATE)
    items = [(path.relative_to(root).as_posix(), n) for path, n in good if n >= min_samples]
    if not items:
        raise DpbenchError(
            f"{root}: no usable audio files (.wav/.flac/.ogg) found ({len(bad)} bad); point ROOT at the corpus folder"
        )
    train, valid = split_items(items, valid_fraction, seed)
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "train.tsv", format_manifest(root, train))
    atomic_write_text(out_dir / "valid.tsv", format_manifest(root, valid))
    if bad:
        atomic_write_text(out_dir / "bad.tsv", "".join(f"{p}\t{why}\n" for p, why in bad))
    elif (out_dir / "bad.tsv").is_file():  # from an earlier scan of files since fixed
        (out_dir / "bad.tsv").unlink()
    hours = sum(n for _, n in items) / SAMPLE_RATE / 3600
    return ManifestSummary(train=len(train), valid=len(valid), hours=hours, bad=bad)


def read_manifest(tsv: str | os.PathLike[str]) -> tuple[Path, list[tuple[str, int]]]:
    """Parse a manifest written by `write_manifest` (or fairseq) into (root, [(relpath, n_samples)])."""
    tsv = Path(tsv)
    if not tsv.is_file():
        raise DpbenchError(f"{tsv}: manifest not found; create it with `dpbench data manifest ROOT`")
    lines = tsv.read_text().splitlines()
    if not lines:
        raise DpbenchError(f"{tsv}: empty manifest; its first line must be the audio root folder")
    items = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[1].strip().isdigit():
            raise DpbenchError(
                f"{tsv}, line {number}: expected `relative/path<TAB>n_samples`, got {line!r}; "
                "regenerate it with `dpbench data manifest ROOT`"
            )
        items.append((fields[0], int(fields[1])))
    return Path(lines[0].strip()), items
