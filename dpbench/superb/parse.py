"""Reading metrics out of s3prl's own outputs (runner `log.log`, problem `result.yaml`)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dpbench.errors import DpbenchError


def _matches(path: Path, pattern: str) -> list[float]:
    if not path.is_file():
        raise DpbenchError(f"s3prl wrote no {path}: see the run's logs next to it for the failure")
    values = [float(m.group(1)) for m in re.finditer(pattern, path.read_text(encoding="utf-8"), re.MULTILINE)]
    if not values:
        raise DpbenchError(f"{path} has no line matching {pattern!r}: the s3prl run did not finish; rerun to resume")
    return values


def runner_split_value(log_path: Path, split: str) -> float:
    """The last `<split> at step N: X` value in a legacy-runner `log.log` (X as s3prl wrote it)."""
    return _matches(Path(log_path), rf"^{re.escape(split)} at step \d+: (\S+)$")[-1]


def runner_best_value(log_path: Path, split: str, higher_is_better: bool = True) -> float:
    """The best `<split> at step N: X` value: the one whose checkpoint s3prl keeps as `<split>-best.ckpt`."""
    return (max if higher_is_better else min)(_matches(Path(log_path), rf"^{re.escape(split)} at step \d+: (\S+)$"))


def problem_result(result_yaml: Path, metric: str) -> float:
    """`metric` from a `s3prl.problem` `result.yaml` (a fraction, as s3prl writes it)."""
    path = Path(result_yaml)
    if not path.is_file():
        raise DpbenchError(f"s3prl wrote no {path}: the test stage did not finish; rerun to resume")
    results = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if metric not in results:
        raise DpbenchError(f"{path} has no {metric!r} (has {sorted(results)}): wrong task config?")
    return float(results[metric])


def problem_best_valid(train_dir: Path, metric: str) -> float:
    """The dev-best `metric` that `s3prl.problem` recorded in `train/valid_best/training_stats.yaml`."""
    path = Path(train_dir) / "valid_best" / "training_stats.yaml"
    if not path.is_file():
        raise DpbenchError(f"s3prl wrote no {path}: training did not reach a validation step; rerun to resume")
    stats = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return float(stats["valid_best_metrics"][metric])
