"""Duration batching for compression: budgets, DDP sharding, epochs, random crop collate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from dpbench.data.batching import AudioDataset, DurationBatchSampler, crop_collate
from dpbench.data.manifest import write_manifest

RATE = 16000


@pytest.fixture
def lengths() -> list[int]:
    return [int(x) for x in np.random.default_rng(0).integers(RATE // 2, 6 * RATE, size=103)]


def test_batches_respect_the_duration_budget_and_cover_everything(lengths: list[int]) -> None:
    sampler = DurationBatchSampler(lengths, max_seconds=15, shuffle=True, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 15 * RATE for b in batches)
    assert max(len(b) for b in batches) > 2  # batching by duration, not one item per batch


def test_item_longer_than_budget_is_its_own_batch() -> None:
    batches = list(DurationBatchSampler([RATE, 10 * RATE, RATE], max_seconds=3, shuffle=False))
    assert [1] in batches and sorted(i for b in batches for i in b) == [0, 1, 2]


def test_epochs_and_seeds(lengths: list[int]) -> None:
    sampler = DurationBatchSampler(lengths, max_seconds=15, seed=1)
    first = list(sampler)
    assert list(sampler) == first  # same epoch, same batches
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(DurationBatchSampler(lengths, max_seconds=15, seed=2)) != first
    unshuffled = list(DurationBatchSampler(lengths, max_seconds=15, shuffle=False))
    flat = [i for b in unshuffled for i in b]
    assert [lengths[i] for i in flat] == sorted(lengths)


@pytest.mark.parametrize("drop_last", [False, True])
def test_ranks_get_disjoint_equal_shards(lengths: list[int], drop_last: bool) -> None:
    shards = [
        list(DurationBatchSampler(lengths, 15, seed=4, drop_last=drop_last, num_replicas=3, rank=r)) for r in range(3)
    ]
    assert len({len(s) for s in shards}) == 1  # DDP needs the same number of steps on every rank
    everything = list(DurationBatchSampler(lengths, 15, seed=4))
    covered = {i for s in shards for b in s for i in b}
    if drop_last:
        assert len(shards[0]) * 3 <= len(everything)
        assert all(b in everything for s in shards for b in s)
    else:
        assert covered == set(range(len(lengths)))
    with pytest.raises(Exception, match="rank"):
        DurationBatchSampler(lengths, 15, num_replicas=2, rank=2)


def test_crop_collate_crops_to_the_shortest() -> None:
    items = [torch.arange(n, dtype=torch.float32) for n in (500, 300, 800)]
    wavs, lens = crop_collate(items)
    assert wavs.shape == (3, 300) and wavs.dtype == torch.float32
    assert lens.dtype == torch.long and lens.tolist() == [300, 300, 300]
    for row, item in zip(wavs, items):
        start = int(row[0])
        assert torch.equal(row, item[start : start + 300])  # a contiguous crop of the item
    starts = {int(crop_collate(items)[0][2, 0]) for _ in range(20)}
    assert len(starts) > 1  # the crop offset is random


def test_dataloader_over_a_manifest(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "audio").mkdir()
    for i in range(12):
        noise = rng.standard_normal(RATE * (1 + i % 4)).astype(np.float32) * 0.1
        sf.write(tmp_path / "audio" / f"{i}.wav", noise, RATE)
    write_manifest(tmp_path / "audio", tmp_path, valid_fraction=2, seed=0)
    dataset = AudioDataset(tmp_path / "train.tsv", max_samples=3 * RATE)
    assert len(dataset) == 10 and max(dataset.lengths) == 3 * RATE
    assert all(dataset[i].numel() <= 3 * RATE for i in range(len(dataset)))
    sampler = DurationBatchSampler(dataset.lengths, max_seconds=6, seed=0, num_replicas=2, rank=1)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=crop_collate)
    seen = 0
    for wavs, lens in loader:
        assert wavs.dim() == 2 and (lens == wavs.shape[1]).all()
        assert wavs.shape[0] * wavs.shape[1] <= 6 * RATE
        seen += 1
    assert seen == len(sampler) > 0
