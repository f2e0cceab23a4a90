"""The bootstrap on cases whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dpbench.errors import DpbenchError
from dpbench.stats import Items, interval, mean_items, paired_difference, seed_spread


def accuracy_items(correct: list[int], prefix: str = "u") -> Items:
    return Items(tuple(f"{prefix}{i}" for i in range(len(correct))), np.array(correct, float), np.ones(len(correct)))


def test_value_is_the_ratio_of_sums() -> None:
    items = Items(("a", "b", "c"), np.array([1.0, 0.0, 3.0]), np.array([4.0, 2.0, 6.0]))
    assert items.value == pytest.approx(100 * 4 / 12)  # pooled edits / pooled words, not a mean of ratios


def test_accuracy_interval_matches_the_binomial_standard_error() -> None:
    rng = np.random.default_rng(1)
    items = accuracy_items(list((rng.random(400) < 0.8).astype(int)))
    p = items.value / 100
    half_width = 1.96 * 100 * np.sqrt(p * (1 - p) / 400)  # normal approximation, ~3.9 points
    low, high = interval(items, resamples=4000)
    assert low < items.value < high
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)


def test_constant_items_have_a_zero_width_interval() -> None:
    assert interval(accuracy_items([1] * 50)) == (100.0, 100.0)


def test_interval_shrinks_with_more_items() -> None:
    small = accuracy_items([1, 0] * 25)
    large = accuracy_items([1, 0] * 2500)
    width = lambda items: np.subtract(*interval(items)[::-1])  # noqa: E731
    assert width(large) < width(small) / 5  # sqrt(100) = 10 times narrower, give or take resampling noise


def test_groups_average_per_group_ratios_and_resample_within_groups() -> None:
    ids = tuple("abcdef")
    items = Items(ids, np.array([1, 1, 1, 0, 0, 0.0]), np.ones(6), groups=("f1", "f1", "f1", "f2", "f2", "f2"))
    assert items.value == 50.0
    assert interval(items) == (50.0, 50.0)  # each fold is constant: resampling within folds cannot move it
    unequal = Items(tuple("abcd"), np.array([1, 1, 1, 0.0]), np.ones(4), groups=("f1", "f1", "f1", "f2"))
    assert unequal.value == 50.0  # mean of 100 % and 0 %, not the pooled 75 %


def test_paired_bootstrap_sees_a_small_consistent_gain_the_unpaired_intervals_hide() -> None:
    rng = np.random.default_rng(0)
    base = (rng.random(300) < 0.6).astype(int)
    better = base.copy()
    better[np.flatnonzero(base == 0)[:9]] = 1  # B fixes 9 of A's errors and breaks none: +3 points
    a, b = accuracy_items(list(better)), accuracy_items(list(base))
    a_low, a_high = interval(a)
    b_low, b_high = interval(b)
    assert a_low < b_high  # the two intervals overlap...
    comparison = paired_difference(a, b)
    assert comparison.difference == pytest.approx(3.0)
    assert comparison.significant and comparison.low > 0  # ...yet the paired difference is clearly positive


def test_paired_bootstrap_of_unrelated_equal_models_is_not_significant() -> None:
    rng = np.random.default_rng(3)
    a = accuracy_items(list((rng.random(200) < 0.7).astype(int)))
    b = accuracy_items(list((rng.random(200) < 0.7).astype(int)))
    comparison = paired_difference(a, b)
    assert comparison.low < comparison.difference < comparison.high
    assert abs(comparison.difference) < 10 and not comparison.significant


def test_pairing_aligns_items_by_id_and_refuses_other_test_sets() -> None:
    a = Items(("x", "y"), np.array([1.0, 0.0]), np.ones(2))
    b = Items(("y", "x"), np.array([0.0, 1.0]), np.ones(2))
    assert paired_difference(a, b).difference == 0.0
    assert paired_difference(a, b).low == paired_difference(a, b).high == 0.0  # identical per item
    with pytest.raises(DpbenchError, match="different items"):
        paired_difference(a, Items(("x", "z"), np.ones(2), np.ones(2)))


def test_seed_spread_and_mean_items() -> None:
    assert seed_spread([1.0, 3.0]) == (2.0, pytest.approx(np.sqrt(2)))
    assert seed_spread([5.0]) == (5.0, None)
    runs = [Items(("a", "b"), np.array([1.0, 0.0]), np.ones(2)), Items(("b", "a"), np.array([1.0, 1.0]), np.ones(2))]
    averaged = mean_items(runs)
    assert averaged.num.tolist() == [1.0, 0.5]


def test_items_round_trip_through_json(tmp_path) -> None:
    items = Items(("a", "b"), np.array([2.0, 1.0]), np.array([5.0, 5.0]), groups=("g", "g"))
    items.save(tmp_path / "items.json")
    again = Items.load(tmp_path / "items.json")
    assert again.to_json() == items.to_json() and again.value == pytest.approx(30.0)
    with pytest.raises(DpbenchError, match="repeat"):
        Items(("a", "a"), np.ones(2), np.ones(2))


def test_eer_items_resample_within_labels_and_use_s3prls_eer() -> None:
    from s3prl.metric.common import compute_eer

    rng = np.random.default_rng(0)
    labels = np.array([1] * 60 + [0] * 140)
    scores = np.where(labels == 1, rng.normal(1.0, 1.0, 200), rng.normal(-1.0, 1.0, 200))
    items = Items(
        tuple(f"t{i}" for i in range(200)),
        scores,
        labels.astype(float),
        groups=tuple(str(label) for label in labels),
        statistic="eer",
    )
    assert items.value == pytest.approx(100 * compute_eer(labels, scores)[0])
    low, high = interval(items, resamples=300)
    assert low < items.value < high and high - low < 20  # two unit-variance classes 2 apart: EER ~16%
    separated = Items(
        items.ids, np.where(labels == 1, 5.0, -5.0) + scores * 0.01, items.den, groups=items.groups, statistic="eer"
    )
    assert paired_difference(items, separated, resamples=300).significant
