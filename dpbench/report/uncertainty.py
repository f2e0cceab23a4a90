"""Intervals and paired comparisons for the table's cells (measured rows only).

Each cell's interval is its run's bootstrap interval over test items; with several runs (seeds)
it is recomputed on the per-item means of those runs. On each task's primary metric the best
measured student (the teacher left out: the question is which compression wins) is compared with
every other student by a paired bootstrap over the same test items; `tied` marks a cell whose
difference from that best is not significant at 95%."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from dpbench.errors import DpbenchError
from dpbench.report.tasks import TASK_BY_NAME
from dpbench.stats import Items, interval, mean_items, paired_difference

TIE_MARK = "≈"
EXPLANATION = (
    "[low, high]: 95% bootstrap interval over test items (resampling s3prl's per-utterance outputs); "
    "±: standard deviation over downstream seeds, when there are several. "
    f"{TIE_MARK}: not significantly different from the task's best measured student "
    "(paired bootstrap over the same test items, 95%; the teacher is not compared)."
)


def add_uncertainty(cells: pd.DataFrame, teacher: str | Collection[str] | None = None) -> pd.DataFrame:
    """`cells` (from `best_cells`) with ci_low/ci_high filled for several-run cells and a `tied` column
    comparing the students (every model but `teacher`, one name or several)."""
    teachers = {teacher} if isinstance(teacher, str) else set(teacher or ())
    cells = cells.copy()
    cells["tied"] = False
    items: dict[int, Items] = {}
    for index, row in cells.iterrows():
        paths = row.get("items_paths") or ()
        loaded = load_cell_items(paths)
        if loaded is not None:
            items[index] = loaded
            if row["runs"] > 1:
                cells.loc[index, ["ci_low", "ci_high"]] = interval(loaded)
        elif row["runs"] > 1:
            cells.loc[index, ["ci_low", "ci_high"]] = np.nan
    for (_, task), group in cells.groupby(["source", "task"], sort=False):
        primary = TASK_BY_NAME[task].primary
        rows = group[(group["metric"] == primary.name) & group.index.isin(list(items)) & ~group["model"].isin(teachers)]
        if len(rows) < 2:
            continue
        best = rows["value"].idxmax() if primary.higher_is_better else rows["value"].idxmin()
        for index in rows.index.drop(best):
            try:
                comparison = paired_difference(items[index], items[best])
            except DpbenchError:  # tested on other items (another corpus): not comparable
                continue
            cells.loc[index, "tied"] = not comparison.significant
    return cells


def load_cell_items(paths: tuple[str, ...]) -> Items | None:
    """The per-item means of the runs' item files, or None when any is missing. Averaging per item
    gives the mean metric for ratios, not for an EER (averaged trial scores make a fused system), so
    several EER runs get none."""
    if not paths or not all(Path(path).is_file() for path in paths):
        return None
    runs = [Items.load(Path(path)) for path in paths]
    if len(runs) > 1 and runs[0].statistic != "ratio":
        return None
    return mean_items(runs)
