"""Uncertainty of a test metric: percentile-bootstrap intervals over test items, paired bootstrap
comparisons of two models on the same items, and the spread over downstream seeds.

A metric here is a ratio of sums over test items, `scale * sum(num) / sum(den)`, averaged over
groups when there are several (ER's session folds: the mean of per-fold ratios). Accuracy is
(correct, 1) per utterance, an error rate (edits, reference tokens) per utterance, SF's F1 (the
utterance's F1, 1). The one exception is ASV's equal error rate (`statistic="eer"`): an item is a
trial, `num` its score and `den` its label (1 same speaker, 0 not), grouped by label, and the EER
is s3prl's own `compute_eer`. Resampling draws test items with replacement within each group, so a
resample is the same kind of test set as the real one (for EER: as many target and non-target
trials as the real list)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0


@dataclass(frozen=True)
class Items:
    """Per-test-item parts of one metric: item ids, numerators, denominators and (optional) groups."""

    ids: tuple[str, ...]
    num: np.ndarray
    den: np.ndarray
    scale: float = 100.0
    groups: tuple[str, ...] = field(default=())
    statistic: str = "ratio"  # "ratio" (of sums, averaged over groups) or "eer" (scores and labels)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(self.num) != n or len(self.den) != n or (self.groups and len(self.groups) != n):
            raise DpbenchError(
                f"per-item arrays differ in length: {n} ids, {len(self.num)} numerators, "
                f"{len(self.den)} denominators, {len(self.groups)} groups"
            )
        if n == 0:
            raise DpbenchError("no test items: the metric has nothing to resample")
        if len(set(self.ids)) != n:
            raise DpbenchError("test item ids repeat: each item must appear once")
        if self.statistic not in ("ratio", "eer"):
            raise DpbenchError(f"unknown statistic {self.statistic!r}: use 'ratio' or 'eer'")

    @property
    def value(self) -> float:
        return float(_statistic(self, np.arange(len(self.ids))[None, :])[0])

    def to_json(self) -> dict:
        return {
            "ids": list(self.ids),
            "num": self.num.tolist(),
            "den": self.den.tolist(),
            "scale": self.scale,
            "groups": list(self.groups),
            "statistic": self.statistic,
        }

    @classmethod
    def from_json(cls, data: dict) -> Items:
        return cls(
            tuple(data["ids"]),
            np.asarray(data["num"], float),
            np.asarray(data["den"], float),
            float(data["scale"]),
            tuple(data.get("groups", ())),
            data.get("statistic", "ratio"),
        )

    def save(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(self.to_json()) + "\n")

    @classmethod
    def load(cls, path: Path) -> Items:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as err:
            raise DpbenchError(f"{path}: unreadable per-item results ({err}); rerun the task's evaluation") from err

    def aligned(self, other: Items) -> Items:
        """`self` reordered to `other`'s item order; both must hold the same items."""
        if set(self.ids) != set(other.ids):
            raise DpbenchError(
                f"the two runs were tested on different items ({len(self.ids)} vs {len(other.ids)}; "
                f"e.g. {sorted(set(self.ids) ^ set(other.ids))[:3]}): they cannot be paired"
            )
        order = {item: index for index, item in enumerate(self.ids)}
        index = np.array([order[item] for item in other.ids])
        groups = tuple(self.groups[i] for i in index) if self.groups else ()
        return Items(other.ids, self.num[index], self.den[index], self.scale, groups, self.statistic)


def mean_items(runs: Sequence[Items]) -> Items:
    """Per-item means over runs of one model on the same items (several downstream seeds)."""
    first = runs[0]
    aligned = [run.aligned(first) for run in runs]
    return Items(
        first.ids,
        np.mean([a.num for a in aligned], axis=0),
        np.mean([a.den for a in aligned], axis=0),
        first.scale,
        first.groups,
        first.statistic,
    )


def _resample(items: Items, resamples: int, seed: int) -> np.ndarray:
    """Index arrays (resamples x n): items drawn with replacement within each group."""
    rng = np.random.default_rng(seed)
    n = len(items.ids)
    if not items.groups:
        return rng.integers(0, n, size=(resamples, n))
    groups = np.asarray(items.groups)
    draws = np.empty((resamples, n), dtype=np.int64)
    for name in dict.fromkeys(items.groups):
        members = np.flatnonzero(groups == name)
        draws[:, members] = members[rng.integers(0, len(members), size=(resamples, len(members)))]
    return draws


def _statistic(items: Items, draws: np.ndarray) -> np.ndarray:
    """The metric on each row of item indices."""
    if items.statistic == "eer":
        from dpbench.superb.backend.metrics import compute_eer  # s3prl's own EER; imported here, it takes seconds

        return np.array([items.scale * compute_eer(items.den[row].astype(int), items.num[row])[0] for row in draws])
    if not items.groups:
        return items.scale * items.num[draws].sum(axis=1) / items.den[draws].sum(axis=1)
    groups = np.asarray(items.groups)  # column j always holds an item of group j's group (see _resample)
    values = [
        items.scale
        * np.where(groups == g, items.num[draws], 0).sum(axis=1)
        / np.where(groups == g, items.den[draws], 0).sum(axis=1)
        for g in dict.fromkeys(items.groups)
    ]
    return np.mean(values, axis=0)


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def interval(
    items: Items, resamples: int = RESAMPLES, seed: int = SEED, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the metric over test items."""
    return _percentiles(_statistic(items, _resample(items, resamples, seed)), confidence)


@dataclass(frozen=True)
class Comparison:
    """Model A minus model B on the same items: the difference, its interval, and whether it excludes 0."""

    difference: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


def paired_difference(
    a: Items, b: Items, resamples: int = RESAMPLES, seed: int = SEED, confidence: float = CONFIDENCE
) -> Comparison:
    """Paired bootstrap: each resample draws the same items for both models, so the variation the
    two share (hard and easy test items) cancels in the difference."""
    b = b.aligned(a)
    draws = _resample(a, resamples, seed)
    differences = _statistic(a, draws) - _statistic(b, draws)
    low, high = _percentiles(differences, confidence)
    return Comparison(a.value - b.value, low, high)


def seed_spread(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation over downstream seeds (None for a single seed)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), (float(array.std(ddof=1)) if len(array) > 1 else None)
