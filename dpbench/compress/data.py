"""Training batches for compression, resumable at any optimizer step.

Batches form one endless stream: epoch e is a DurationBatchSampler seeded with seed + e, and batch n
of the stream (its choice of items and its random crops) depends only on (seed, n). A resumed stage
starts the stream at batch global_step * accumulate, so it sees exactly the batches an uninterrupted
run would have seen."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from dpbench.data.audio import MIN_SAMPLES, SAMPLE_RATE, AudioError
from dpbench.data.batching import AudioDataset, DurationBatchSampler, crop_collate
from dpbench.data.manifest import write_manifest
from dpbench.errors import DpbenchError


def resolve_manifest(data: str, run_dir: Path, seed: int) -> Path:
    """`data` is a folder holding train.tsv (a manifest) or an audio root; for the latter the manifest is
    written to RUN/manifest/ (once: a resumed run reuses it)."""
    root = Path(data)
    if not root.is_dir():
        raise DpbenchError(f"--data {data}: no such folder; pass a folder with train.tsv or a folder of audio files")
    if (root / "train.tsv").is_file():
        return root / "train.tsv"
    manifest = run_dir / "manifest" / "train.tsv"
    if not manifest.is_file():
        write_manifest(root, manifest.parent, valid_fraction=0.01, seed=seed)
    return manifest


class StreamBatches:
    """An endless iterable of [(stream batch number, item index), ...] batches, starting at `start`."""

    def __init__(self, lengths: Sequence[int], max_seconds: float, seed: int, start: int, rank: int, replicas: int):
        self.lengths, self.max_seconds, self.seed = list(lengths), max_seconds, seed
        self.start, self.rank, self.replicas = start, rank, replicas

    def epoch(self, epoch: int) -> list[list[int]]:
        sampler = DurationBatchSampler(
            self.lengths,
            self.max_seconds,
            shuffle=True,
            seed=self.seed + epoch,
            drop_last=False,
            num_replicas=self.replicas,
            rank=self.rank,
        )
        return list(sampler)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        number = 0
        for epoch in itertools.count():
            batches = self.epoch(epoch)
            if not batches:
                raise DpbenchError("the training manifest yields no batches; check --data and --max-batch-seconds")
            for batch in batches:
                if number >= self.start:
                    yield [(number, index) for index in batch]
                number += 1


class SeededItems(Dataset):
    """AudioDataset whose random crop for (batch number, index) is drawn from a generator seeded by both.

    A file that cannot be used (unreadable, NaN/Inf samples, shorter than the conv stack's receptive field)
    is skipped with a warning and appended to `skip_log` (`path<TAB>reason`), which the run summary counts."""

    def __init__(self, dataset: AudioDataset, seed: int, skip_log: Path | None = None) -> None:
        self.dataset, self.seed, self.skip_log = dataset, seed, skip_log

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, torch.Tensor | None, str]:
        number, index = key
        path = str(self.dataset.paths[index])
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(hash((self.seed, number, index)) % (2**63))
                wav = self.dataset[index]
            if wav.numel() < MIN_SAMPLES:
                raise AudioError(
                    path,
                    f"too short ({wav.numel()} samples at 16 kHz; the conv feature extractor "
                    f"needs at least {MIN_SAMPLES})",
                )
        except AudioError as error:
            self._skip(path, error.problem)
            return number, None, path
        return number, wav, path

    def _skip(self, path: str, reason: str) -> None:
        print(f"[dpbench] WARNING: skipping {path}: {reason}", file=sys.stderr, flush=True)
        if self.skip_log is not None:
            self.skip_log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.skip_log, "a", encoding="utf-8") as handle:  # one short line: appended whole
                handle.write(f"{path}\t{reason}\n")


def skipped_files(skip_log: Path) -> dict[str, str]:
    """path -> reason of every file a run skipped (each once, however often it was drawn)."""
    if not skip_log.is_file():
        return {}
    rows = (line.split("\t", 1) for line in skip_log.read_text(encoding="utf-8").splitlines() if "\t" in line)
    return {path: reason for path, reason in rows}


Batch = tuple[torch.Tensor, torch.Tensor, list[str]]  # wavs (B, T), lengths (B,), the files' paths


def seeded_collate(seed: int) -> Callable[[list[tuple[int, torch.Tensor | None, str]]], Batch]:
    """crop_collate of the usable items, with random offsets drawn from a generator seeded by the batch
    number; returns (wavs, lengths, paths of the files in the batch)."""

    def collate(items: list[tuple[int, torch.Tensor | None, str]]) -> Batch:
        usable = [(wav, path) for _, wav, path in items if wav is not None]
        if not usable:
            raise DpbenchError(
                f"no file of training batch {items[0][0]} could be used ({', '.join(p for *_, p in items)}"
                "); see the warnings above, fix or remove those files and rerun with --resume"
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(hash((seed, items[0][0], -1)) % (2**63))
            wavs, lengths = crop_collate([wav for wav, _ in usable])
        return wavs, lengths, [path for _, path in usable]

    return collate


def train_loader(
    manifest: Path,
    max_batch_seconds: float,
    max_item_seconds: float,
    seed: int,
    start: int,
    rank: int = 0,
    replicas: int = 1,
    num_workers: int = 0,
    skip_log: Path | None = None,
) -> DataLoader:
    """An endless DataLoader of (wavs (B, T), lengths (B,)) starting at stream batch `start`."""
    dataset = AudioDataset(manifest, max_samples=int(max_item_seconds * SAMPLE_RATE))
    batches = StreamBatches(dataset.lengths, max_batch_seconds, seed, start, rank, replicas)
    return DataLoader(
        SeededItems(dataset, seed * 4096 + rank, skip_log),
        batch_sampler=batches,
        collate_fn=seeded_collate(seed * 4096 + rank),
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
        persistent_workers=False,
    )
