"""Reading the results store and choosing the one value shown per (model, task, metric).

Rule: records of a model on a task are grouped by learning rate; repeated runs at the same
learning rate are averaged; the learning rate whose mean is best on the task's primary metric
(by its direction; SF: F1) is shown, with the other metrics of the task taken at that same rate.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from dpbench.errors import DpbenchError
from dpbench.records.superb_result import parse_result
from dpbench.report.tasks import TASK_BY_NAME
from dpbench.results import RecordFolder, ResultsStore, open_store

MEASURED_SOURCE = "measured"
SELECTION_RULE = (
    "Several runs of one model on one task: runs at the same learning rate are averaged and "
    "the learning rate with the best mean on the task's primary metric is shown "
    "(by the metric's direction; SF is ranked by F1 and its CER is taken at the same rate)."
)


def load_records(path: str | Path) -> pd.DataFrame:
    """Validated records of the store at `path`, with `source` and a row label `model`."""
    path = Path(path)
    if not path.exists():
        raise DpbenchError(
            f"{path}: results store not found; pass --results with the JSONL file or record folder that "
            "`dpbench superb` writes to"
        )
    store = open_store(path)
    records = [
        parse_result(record, _where(store, record, number)).to_json()
        for number, record in enumerate(store.records(), start=1)
    ]
    frame = pd.DataFrame(records)
    frame.attrs["skipped_lines"] = list(store.skipped)
    if frame.empty:
        unreadable = f" ({len(store.skipped)} unreadable lines skipped)" if store.skipped else ""
        raise DpbenchError(f"{path}: the results store has no records{unreadable}; run `dpbench superb` first")
    validate_records(frame, path)
    frame["source"] = MEASURED_SOURCE
    frame["model"] = _model_labels(frame)
    return frame


def _where(store: ResultsStore | RecordFolder, record: dict, number: int) -> str:
    """How an error names a record: its file in a record folder, else the store and the record's number."""
    return str(store.file_for(record)) if isinstance(store, RecordFolder) else f"{store.path}: record {number}"


def validate_records(frame: pd.DataFrame, origin: Path) -> None:
    """Raise DpbenchError naming `origin` and the record if a record cannot go in the table (the fields
    and their types are checked as the records are read: `records.superb_result.parse_result`)."""
    for number, record in enumerate(frame.to_dict("records"), start=1):
        where = f"{origin}: record {number}"
        task = TASK_BY_NAME.get(record["task"])
        if task is None:
            raise DpbenchError(f"{where} has task {record['task']!r}; use one of {sorted(TASK_BY_NAME)}")
        metric = task.metric(record["metric"])
        if metric is None:
            names = [m.name for m in task.metrics]
            raise DpbenchError(f"{where}: task {task.name} has no metric {record['metric']!r}; use one of {names}")
        if not isinstance(record["value"], (int, float)) or not math.isfinite(record["value"]):
            raise DpbenchError(f"{where}: value {record['value']!r} is not a finite number; fix or delete the line")
        if not isinstance(record["upstream"], str) or not record["upstream"]:
            raise DpbenchError(f"{where}: upstream must be the model's display name")
        declared = record.get("higher_is_better")
        if isinstance(declared, (bool, np.bool_)) and declared != metric.higher_is_better:
            raise DpbenchError(
                f"{where}: higher_is_better={declared} contradicts {metric.name} "
                f"(higher is {'better' if metric.higher_is_better else 'worse'}); fix the record"
            )


def best_cells(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, task, metric) by the selection rule, with the model's params/MACs.

    Columns: model, source, task, metric, value, higher_is_better, lr, runs, std (over the runs at
    that rate: downstream seeds), ci_low, ci_high (a single run's bootstrap interval), items_paths
    (the runs' per-item files, all present, else empty), params, macs."""
    frame = records.copy()
    frame["model"] = frame.get("model", frame["upstream"]).fillna(frame["upstream"])
    for column in ("lr", "params", "macs", "source", "ci_low", "ci_high", "items_path"):
        if column not in frame.columns:
            frame[column] = None
    frame["source"] = frame["source"].fillna(MEASURED_SOURCE)
    frame["params"] = pd.to_numeric(frame["params"], errors="coerce")
    frame["macs"] = pd.to_numeric(frame["macs"], errors="coerce")
    frame["lr_key"] = frame["lr"].map(repr)
    per_rate = (
        frame.groupby(["model", "task", "metric", "lr_key"], sort=False)
        .agg(
            value=("value", "mean"),
            runs=("value", "size"),
            lr=("lr", "first"),
            std=("value", "std"),
            ci_low=("ci_low", "first"),
            ci_high=("ci_high", "first"),
            items_paths=("items_path", _all_paths),
        )
        .reset_index()
    )
    several = per_rate["runs"] > 1  # one run's interval does not describe a mean over seeds
    per_rate[["ci_low", "ci_high"]] = per_rate[["ci_low", "ci_high"]].astype(float).where(~several)
    chosen = [_best_rate(group, task) for (_, task), group in per_rate.groupby(["model", "task"], sort=False)]
    cells = pd.concat(chosen, ignore_index=True).drop(columns="lr_key")
    cells["higher_is_better"] = [
        TASK_BY_NAME[t].metric(m).higher_is_better for t, m in zip(cells["task"], cells["metric"])
    ]
    models = frame.groupby("model", sort=False).agg(
        source=("source", "first"), params=("params", "first"), macs=("macs", "first")
    )
    return cells.join(models, on="model")


def _all_paths(paths: pd.Series) -> tuple[str, ...]:
    """Every run's per-item file, or none when one run lacks it (no interval can pool them)."""
    return tuple(paths) if paths.notna().all() else ()


def _best_rate(group: pd.DataFrame, task_name: str) -> pd.DataFrame:
    """The rows of `group` (one task of one model) at its best learning rate."""
    task = TASK_BY_NAME[task_name]
    ranking = next(m for m in task.metrics if (group["metric"] == m.name).any())
    ranked = group[group["metric"] == ranking.name]["value"]
    best = ranked.idxmax() if ranking.higher_is_better else ranked.idxmin()
    return group[group["lr_key"] == group.at[best, "lr_key"]]


def _model_labels(frame: pd.DataFrame) -> pd.Series:
    """Row labels: the upstream name, plus the scale when the store mixes scales."""
    if "scale" not in frame.columns or frame["scale"].dropna().nunique() <= 1:
        return frame["upstream"]
    return frame["upstream"] + " [" + frame["scale"].fillna("unknown scale").astype(str) + "]"
