"""Batching for compression: a manifest-backed dataset, batches capped by total audio duration
(sharded by rank for DDP), and a collate that randomly crops every item to the batch's shortest."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Dataset, Sampler

from dpbench.data.audio import SAMPLE_RATE, load_audio
from dpbench.data.manifest import read_manifest
from dpbench.errors import DpbenchError


class AudioDataset(Dataset):
    """Waveforms listed in a manifest. Items longer than `max_samples` are randomly cropped to it;
    `lengths` holds each item's length after that cap (what the batch sampler should budget)."""

    def __init__(self, tsv: str | os.PathLike[str], max_samples: int | None = None) -> None:
        self.root, items = read_manifest(tsv)
        if not items:
            raise DpbenchError(f"{tsv}: the manifest lists no audio files")
        self.paths = [self.root / relpath for relpath, _ in items]
        self.max_samples = max_samples
        self.lengths = [min(n, max_samples) if max_samples else n for _, n in items]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        wav = load_audio(self.paths[index])
        if self.max_samples and wav.numel() > self.max_samples:
            start = int(torch.randint(0, wav.numel() - self.max_samples + 1, ()).item())
            wav = wav[start : start + self.max_samples]
        return wav


class DurationBatchSampler(Sampler[list[int]]):
    """Index batches whose summed audio length is at most `max_seconds` (an item longer than the
    budget on its own becomes a batch of one). Items are grouped by similar length so cropping to
    the shortest wastes little; batch order is reshuffled each epoch (`set_epoch`).

    For DDP pass `num_replicas`/`rank` (defaults: the initialised process group, else 1/0): every
    rank gets the same number of batches, padding with repeated batches unless `drop_last`."""

    def __init__(
        self,
        lengths: Sequence[int],
        max_seconds: float,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int | None = None,
        rank: int | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        if max_seconds <= 0:
            raise DpbenchError(f"max_seconds={max_seconds}: the batch duration must be positive")
        if num_replicas is None or rank is None:
            distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
            num_replicas = torch.distributed.get_world_size() if distributed else 1
            rank = torch.distributed.get_rank() if distributed else 0
        if not 0 <= rank < num_replicas:
            raise DpbenchError(f"rank={rank}: must be in [0, num_replicas={num_replicas})")
        self.lengths = list(lengths)
        self.max_samples = int(max_seconds * sample_rate)
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        order = list(range(len(self.lengths)))
        if self.shuffle:
            rng.shuffle(order)  # random tie-breaking among equal lengths
        order.sort(key=lambda i: self.lengths[i])
        batches: list[list[int]] = []
        current: list[int] = []
        total = 0
        for index in order:
            if current and total + self.lengths[index] > self.max_samples:
                batches.append(current)
                current, total = [], 0
            current.append(index)
            total += self.lengths[index]
        if current:
            batches.append(current)
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def _rank_batches(self) -> list[list[int]]:
        batches = self._all_batches()
        if self.drop_last:
            batches = batches[: len(batches) - len(batches) % self.num_replicas]
        elif batches and len(batches) % self.num_replicas:
            missing = self.num_replicas - len(batches) % self.num_replicas
            batches += (batches * missing)[:missing]
        return batches[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._rank_batches())

    def __len__(self) -> int:
        return len(self._rank_batches())


def crop_collate(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack 1-D waveforms after cropping each at a random offset to the shortest one's length.
    Returns (wavs (B, T) float32, lengths (B,) long, all equal to T)."""
    if not items:
        raise ValueError("crop_collate got an empty batch")
    size = min(item.numel() for item in items)
    crops = []
    for item in items:
        start = int(torch.randint(0, item.numel() - size + 1, ()).item())
        crops.append(item[start : start + size])
    wavs = torch.stack(crops).to(torch.float32)
    return wavs, torch.full((len(items),), size, dtype=torch.long)
