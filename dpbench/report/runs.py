"""Compression run folders (`dpbench compress` output): summary.json and train_log.csv."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dpbench.errors import DpbenchError
from dpbench.records.compress_summary import SUMMARY_FILE, CompressionSummary, read_summary
from dpbench.records.train_log import FIELDS as LOG_FIELDS
from dpbench.records.train_log import TRAIN_LOG_FILE, read_log


@dataclass(frozen=True)
class CompressionRun:
    """One run folder: its summary and, when present, its training log."""

    path: Path
    summary: CompressionSummary
    train_log: pd.DataFrame | None

    @property
    def name(self) -> str:
        return self.summary.name

    @property
    def method(self) -> str:
        return self.summary.method

    @property
    def config(self) -> dict[str, Any]:
        return self.summary.config

    @property
    def teacher_config(self) -> dict[str, Any]:
        return self.summary.teacher_config

    @property
    def ablation(self) -> str | None:
        return self.summary.ablation

    @property
    def target_sparsity(self) -> float | None:
        return self.summary.target_sparsity


def find_run_dirs(paths: list[Path]) -> list[Path]:
    """Each path is a run folder (holds summary.json) or a folder of run folders."""
    found: list[Path] = []
    for path in paths:
        if (path / SUMMARY_FILE).is_file():
            found.append(path)
            continue
        children = sorted(child.parent for child in path.glob(f"*/{SUMMARY_FILE}")) if path.is_dir() else []
        if not children:
            raise DpbenchError(
                f"{path}: no {SUMMARY_FILE} here or in its sub-folders; pass a folder made by `dpbench compress`"
            )
        found.extend(children)
    return found


def load_run(path: Path) -> CompressionRun:
    """Read and check one run folder."""
    log_path = path / TRAIN_LOG_FILE
    return CompressionRun(
        path=path, summary=read_summary(path), train_log=_read_log(log_path) if log_path.is_file() else None
    )


def load_runs(paths: list[Path]) -> list[CompressionRun]:
    """All runs under `paths` (see `find_run_dirs`), in the order given."""
    return [load_run(path) for path in find_run_dirs(paths)]


def _read_log(path: Path) -> pd.DataFrame:
    """The checked log as a frame, one column per TrainLogRow field (NaN where a stage has no value)."""
    log = pd.DataFrame([dataclasses.asdict(row) for row in read_log(path)], columns=list(LOG_FIELDS))
    numeric = [column for column in log.columns if column != "stage"]
    log[numeric] = log[numeric].apply(pd.to_numeric, errors="coerce")
    final = log["stage"] == "final"
    prune_end = log.loc[~final, "step"].max()
    if final.any() and pd.notna(prune_end) and log.loc[final, "step"].min() <= prune_end:
        log.loc[final, "step"] += prune_end  # stage 2 counts its steps from 1: place them after stage 1
    return log


def runs_by_model(records: pd.DataFrame, runs: list[CompressionRun]) -> dict[str, CompressionRun]:
    """The compression run of each model row whose record names one (by upstream name equal to the
    run's name, or upstream_path equal to the run's student_path)."""
    found: dict[str, CompressionRun] = {}
    paths = records["upstream_path"] if "upstream_path" in records.columns else [None] * len(records)
    for model, upstream, upstream_path in zip(records["model"], records["upstream"], paths):
        for run in runs:
            if upstream == run.name or _same_path(upstream_path, run.summary.student_path):
                found[model] = run
                break
    return found


def methods_by_model(records: pd.DataFrame, runs: list[CompressionRun]) -> dict[str, str]:
    """Compression method of each model row whose record names a run (see `runs_by_model`)."""
    return {model: run.method for model, run in runs_by_model(records, runs).items()}


def teachers_by_model(records: pd.DataFrame, runs: list[CompressionRun]) -> dict[str, str]:
    """The teacher's model row of each student row, where the student's run names a teacher that has
    records: a teacher is found by its upstream_path (a hub name or a checkpoint path, as
    `dpbench compress --teacher` saved it in summary.json) or by its upstream name (the file's stem)."""
    paths = records["upstream_path"] if "upstream_path" in records.columns else [None] * len(records)
    rows = list(zip(records["model"], records["upstream"], paths))
    found: dict[str, str] = {}
    for model, run in runs_by_model(records, runs).items():
        spec = run.summary.teacher
        match = next(
            (
                name
                for name, upstream, path in rows
                if name != model and (_same_path(path, spec) or upstream in (spec, Path(spec).stem))
            ),
            None,
        )
        if match is not None:
            found[model] = match
    return found


def _same_path(left: Any, right: Any) -> bool:
    if not isinstance(left, str) or not isinstance(right, str):
        return False
    return left == right or Path(left).resolve() == Path(right).resolve()
