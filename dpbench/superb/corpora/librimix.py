"""LibriMix-style two-speaker mixtures for SD: a Kaldi data directory per split (`data/<split>/`), turned
into the view s3prl's `SuperbSD.prepare_data` reads (every wav.scp path absolute)."""

from __future__ import annotations

from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.superb.checks import require

SPLITS = ("train", "dev", "test")  # the data directories SuperbSD.prepare_data reads
KALDI_FILES = ("wav.scp", "segments", "utt2spk", "reco2dur")  # what it needs; spk2utt and rttm are copied if present


def kaldi_views(corpus: Path, target: Path) -> Path:
    """`kaldi_view` of every split under `target`; returns `target` (SuperbSD's `prepare_data.data_dir`)."""
    for split in SPLITS:
        kaldi_view(corpus, split, target / split)
    return target


def kaldi_view(corpus: Path, split: str, target: Path) -> None:
    """Copy `corpus/data/<split>` to `target` with every wav.scp path made absolute (s3prl opens them
    from its working directory); relative paths are taken relative to `corpus`."""
    source = corpus / "data" / split
    for name in KALDI_FILES:
        require(
            (source / name).is_file(),
            (
                f"SD needs {source / name}: a Kaldi data directory per split (train, dev, test) with "
                f"{', '.join(KALDI_FILES)} (layout in docs/ARCHITECTURE.md); run `dpbench data synth` or "
                "prepare LibriMix with its Kaldi data scripts"
            ),
        )
    lines = []
    for number, line in enumerate((source / "wav.scp").read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DpbenchError(
                f"{source / 'wav.scp'} line {number}: expected `<recording> <path>` with no "
                "spaces in the path (s3prl splits on one space) and no piped commands"
            )
        path = Path(fields[1]) if Path(fields[1]).is_absolute() else (corpus / fields[1]).resolve()
        require(path.is_file(), f"{source / 'wav.scp'} line {number}: {path} does not exist")
        require(
            " " not in str(path),
            f"{path} (from {source / 'wav.scp'}) has a space, which s3prl's SD "
            "cannot read: move the corpus (or the run folder, --out) to a path without spaces",
        )
        lines.append(f"{fields[0]} {path}\n")
    require(bool(lines), f"{source / 'wav.scp'} lists no recordings")
    atomic_write_text(target / "wav.scp", "".join(lines))
    for name in ("segments", "utt2spk", "reco2dur", "spk2utt", "rttm"):
        if (source / name).is_file():
            atomic_write_text(target / name, (source / name).read_text())
