"""The table shows each cell's interval and seed spread, and marks differences a paired bootstrap
cannot tell from noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dpbench.report import table_formats
from dpbench.report.selection import best_cells
from dpbench.report.tables import build_table
from dpbench.report.uncertainty import TIE_MARK, add_uncertainty
from dpbench.stats import Items, interval


def _record(tmp_path: Path, model: str, correct: np.ndarray, seed: int | None = None) -> dict:
    items = Items(tuple(f"u{i}" for i in range(len(correct))), correct.astype(float), np.ones(len(correct)))
    path = tmp_path / f"{model}-{seed}.json"
    items.save(path)
    low, high = interval(items)
    return {
        "task": "KS",
        "metric": "accuracy",
        "value": items.value,
        "upstream": model,
        "lr": 1e-3,
        "seed": seed,
        "params": 1e6,
        "macs": 1e9,
        "ci_low": low,
        "ci_high": high,
        "items_path": str(path),
    }


def test_cells_show_intervals_spread_and_ties(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    teacher = (rng.random(300) < 0.8).astype(int)
    close = teacher.copy()
    close[np.flatnonzero(teacher)[:2]] = 0  # two more errors than the teacher: within noise
    far = teacher.copy()
    far[np.flatnonzero(teacher)[:40]] = 0  # forty more: clearly worse
    other_seed = teacher.copy()
    other_seed[np.flatnonzero(teacher)[:30]] = 0
    records = [
        _record(tmp_path, "teacher", teacher),
        _record(tmp_path, "close", close),
        _record(tmp_path, "far", far, seed=0),
        _record(tmp_path, "far", other_seed, seed=1),
    ]
    frame = pd.DataFrame(records).assign(source="measured", model=lambda f: f["upstream"])
    cells = add_uncertainty(best_cells(frame))  # no teacher named: all four compete
    tied = dict(zip(cells["model"], cells["tied"]))
    assert tied == {"teacher": False, "close": True, "far": False}
    students_only = add_uncertainty(best_cells(frame), teacher="teacher")  # "close" is now the best student
    assert dict(zip(students_only["model"], students_only["tied"])) == {"teacher": False, "close": False, "far": False}
    table = build_table(cells, {"measured": "teacher"})
    rows = {row[0]: row[3] for row in table_formats.display_rows(table)}  # the KS column
    assert rows["close"].startswith(TIE_MARK) and "[" in rows["close"]
    assert not rows["teacher"].startswith(TIE_MARK)
    far_value = (far.mean() + other_seed.mean()) / 2 * 100
    std = np.std([far.mean() * 100, other_seed.mean() * 100], ddof=1)
    assert rows["far"].startswith(f"{far_value:.2f} ±{std:.2f} [")  # mean ± std over seeds, then the interval
    assert "95% bootstrap interval" in table.caption
    latex = table_formats.to_latex(table)
    assert r"$\approx$" in latex and r"$\pm$" in latex and "≈" not in latex and "±" not in latex
