"""The report's efficiency table and score-vs-cost figure, from efficiency and SUPERB records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from records_factory import superb_result

from dpbench.report.build import build_report
from dpbench.report.efficiency_figure import efficiency_figure, pareto_front, score_points
from dpbench.report.efficiency_table import display_table, efficiency_rows
from dpbench.results import ResultsStore


def efficiency_record(
    model: str, params: float, macs: float, rtf: float, batch: int = 1, timestamp: float = 1.0
) -> dict:
    return {
        "kind": "efficiency",
        "upstream": model,
        "upstream_path": model,
        "params": params,
        "macs": macs,
        "device": "cpu",
        "batch": batch,
        "clip_seconds": 2.0,
        "threads": 1,
        "rounds": 5,
        "rtf": rtf,
        "rtf_q1": rtf * 0.9,
        "rtf_q3": rtf * 1.1,
        "peak_memory_mb": 10.0 * batch,
        "host": "cpu",
        "torch": "2.8.0",
        "timestamp": timestamp,
    }


@pytest.mark.parametrize("higher,expected", [(True, [0, 1, 3]), (False, [0])])
def test_pareto_front(higher: bool, expected: list[int]) -> None:
    costs = np.array([1.0, 2.0, 3.0, 4.0])
    values = np.array([50.0, 60.0, 55.0, 70.0])
    assert pareto_front(costs, values, higher) == expected


def test_pareto_front_breaks_cost_ties_by_value() -> None:
    assert pareto_front(np.array([1.0, 1.0, 2.0]), np.array([10.0, 20.0, 15.0]), True) == [1]


def test_rows_keep_the_latest_measurement_per_case() -> None:
    records = pd.DataFrame(
        [
            efficiency_record("a", 2e6, 3e8, 0.5, timestamp=1.0),
            efficiency_record("a", 2e6, 3e8, 0.2, timestamp=2.0),
            efficiency_record("a", 2e6, 3e8, 0.1, batch=8),
            efficiency_record("b", 1e6, 1e8, 0.05),
        ]
    )
    rows = efficiency_rows(records)
    assert list(rows["model"]) == ["a", "b"]
    assert rows.loc[0, "rtf_cpu_b1"] == 0.2 and rows.loc[0, "rtf_cpu_b8"] == 0.1
    assert pd.isna(rows.loc[1, "rtf_cpu_b8"])
    headers, body = display_table(rows, pd.DataFrame({"model": ["X (paper)", "a"], "params": [5e6, 9e6]}))
    assert headers[:5] == ["Model", "Params (M)", "MACs (G/s)", "RTF cpu b1", "RTF cpu b8"]
    assert body[0][3] == "0.2000 [0.1800, 0.2200]" and body[1][4] == "—"
    assert [cells[0] for cells in body] == ["a", "b", "X (paper)"]  # a paper row named like a measured one is not added


def _points(with_interval: bool) -> pd.DataFrame:
    cells = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "source": "measured",
            "task": "KS",
            "metric": "accuracy",
            "value": [90.0, 80.0, 85.0],
            "params": [3e6, 1e6, 2e6],
            "macs": None,
        }
    )
    if with_interval:
        cells["ci_low"], cells["ci_high"] = cells["value"] - 2, cells["value"] + 1
    rows = pd.DataFrame({"model": ["a", "b", "c"], "macs": [3e8, 1e8, 2e8], "rtf_cpu_b1": [0.3, 0.1, 0.4]})
    return score_points(cells, rows, "rtf_cpu_b1")


@pytest.mark.parametrize("with_interval", [True, False])
def test_figure_draws_intervals_only_when_cells_carry_them(with_interval: bool) -> None:
    figure = efficiency_figure(_points(with_interval))
    rtf_axis, macs_axis = figure.axes[:2]
    assert len(rtf_axis.containers) == 3  # one marker per model
    assert all(container.has_yerr == with_interval for container in rtf_axis.containers)
    front = [line for line in macs_axis.get_lines() if line.get_linestyle() == "--"]
    assert len(front) == 1 and list(front[0].get_xdata()) == [1e8, 2e8, 3e8]  # b < c < a on both axes
    rtf_front = [line for line in rtf_axis.get_lines() if line.get_linestyle() == "--"][0]
    assert list(rtf_front.get_xdata()) == [0.1, 0.3]  # c is slower than a and worse: off the front


def test_report_writes_the_efficiency_table_and_figure(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "results.jsonl")
    for model, params, macs, rtf, accuracy in (("teacher", 2e6, 3e8, 0.3, 90.0), ("student", 1e6, 1e8, 0.1, 85.0)):
        store.append(superb_result("KS", accuracy, model, params=int(params), macs=macs).to_json())
        for batch in (1, 8):
            store.append(efficiency_record(model, params, macs, rtf, batch))
    report = build_report(store.path, [], tmp_path / "report", teacher="teacher")
    names = {path.name for path in report.written}
    assert {"efficiency.md", "efficiency.csv", "efficiency_vs_score.png", "efficiency_vs_score.svg"} <= names
    markdown = (tmp_path / "report" / "efficiency.md").read_text()
    assert "| student | 1.00 | 0.100 |" in markdown and "DistilHuBERT (paper) | 23.49" in markdown
    page = (tmp_path / "report" / "index.html").read_text()
    assert "<h2>Efficiency</h2>" in page and "Score against cost" in page
    assert report.markdown is not None and "efficiency" not in report.markdown.lower()


def test_report_without_efficiency_records_says_so(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "results.jsonl")
    store.append(superb_result("KS", 90.0, "teacher", params=2_000_000).to_json())
    report = build_report(store.path, [], tmp_path / "report", teacher="teacher")
    assert not (tmp_path / "report" / "efficiency.md").exists()
    assert any("no `dpbench efficiency` records" in note for note in report.notes)
