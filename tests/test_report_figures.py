"""Figures from the fixture run folders and results store: what is drawn, and run-folder checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex
from records_factory import report_fixture

from dpbench.errors import DpbenchError
from dpbench.method_labels import METHOD_LABELS
from dpbench.report.plotting import method_color, plural
from dpbench.report.pruning_figure import pruning_figure
from dpbench.report.runs import load_runs, methods_by_model
from dpbench.report.selection import best_cells, load_records
from dpbench.report.sparsity_figure import primary_points, sparsity_figure
from dpbench.report.training_figure import training_figure, with_gaps

FIXTURE = report_fixture()


@pytest.fixture(scope="module")
def runs():
    return load_runs([FIXTURE / "runs"])


def test_runs_are_found_in_a_parent_folder_and_logs_read(runs):
    assert {run.name for run in runs} == {"DPHuBERT-50", "DPHuBERT-75", "DistilHuBERT"}
    logs = {run.name: run.train_log for run in runs}
    assert logs["DPHuBERT-50"] is None
    assert logs["DPHuBERT-75"]["expected_sparsity"].notna().any()
    assert logs["DPHuBERT-75"].loc[logs["DPHuBERT-75"]["stage"] == "final", "lambda1"].isna().all()


def test_pruning_figure_draws_kept_sizes_and_marks_removed_blocks(runs):
    figure = pruning_figure(runs)
    conv_axis, heads_axis, ffn_axis = figure.axes
    teacher_layers = runs[0].teacher_config["num_layers"]
    student_layers = sum(run.config["num_layers"] for run in runs)
    assert len(heads_axis.patches) == teacher_layers + student_layers  # teacher bars + one per student layer
    heights = sorted(p.get_height() for p in heads_axis.patches)
    expected = sorted([float(h) for run in runs for h in run.config["num_heads"]] + [4.0] * teacher_layers)
    assert heights == expected
    assert len(conv_axis.patches) == 7 * (1 + len(runs))
    removed = {axis: sum(len(c.get_offsets()) for c in axis.collections) for axis in (heads_axis, ffn_axis)}
    assert removed[heads_axis] == sum(h == 0 for run in runs for h in run.config["num_heads"]) == 1
    assert removed[ffn_axis] == sum(f == 0 for run in runs for f in run.config["ffn_dims"]) == 1


def test_sparsity_points_relative_to_the_teacher(runs):
    records = load_records(FIXTURE / "results.jsonl")
    points = primary_points(best_cells(records), "tiny-hubert", 2_412_000, methods_by_model(records, runs))
    student = points[points["model"] == "DPHuBERT-75"].iloc[0]
    assert student["sparsity"] == pytest.approx(100 * (1 - 603_300 / 2_412_000))
    assert set(points["method"]) == {"teacher", "DPHuBERT", "DistilHuBERT"}
    assert not (points["metric"] == "cer").any()  # SF is plotted by its primary metric, F1
    figure = sparsity_figure(points)
    visible = [axis for axis in figure.axes if axis.get_visible()]
    assert [axis.get_title(loc="left") for axis in visible] == ["KS", "IC", "PR", "ASR", "ER", "SF", "SID"]
    dphubert_line = next(line for line in visible[0].get_lines() if line.get_label() == "DPHuBERT")
    assert np.allclose(sorted(dphubert_line.get_ydata()), [92.3, 93.5])


def test_training_figure_has_a_row_per_logged_run_and_no_empty_panels(runs):
    figure = training_figure(runs)
    assert len(figure.subfigs) == 2
    rows = {sub._suptitle.get_text().split("  ")[0]: sub for sub in figure.subfigs}
    distil, dphubert = rows["DistilHuBERT"], rows["DPHuBERT-75"]
    assert "no pruning stage" in distil._suptitle.get_text()
    assert len(distil.axes) == 1 and len(dphubert.axes) == 3  # the baseline gets its loss panel only
    labels = [line.get_label() for axis in figure.axes for line in axis.get_lines()]
    assert {"distillation loss", "expected", "λ1", "λ2"} <= set(labels)


def test_one_colour_per_method_in_every_figure(runs):
    records = load_records(FIXTURE / "results.jsonl")
    points = primary_points(best_cells(records), "tiny-hubert", 2_412_000, methods_by_model(records, runs))
    sparsity = sparsity_figure(points)
    in_sparsity = {h.get_label(): to_hex(h.get_color()) for h in sparsity.legends[0].legend_handles}
    pruning = pruning_figure(runs)
    in_pruning = {
        text.get_text().split(" (")[0]: to_hex(handle.get_facecolor())
        for text, handle in zip(pruning.legends[0].get_texts(), pruning.legends[0].legend_handles)
        if hasattr(handle, "get_facecolor")
    }
    training = training_figure(runs)
    in_training = {s._suptitle.get_text().split("  ")[0]: to_hex(s._suptitle.get_color()) for s in training.subfigs}
    for run in runs:
        method = METHOD_LABELS[run.method]
        assert in_pruning[run.name] == in_sparsity[method] == method_color(run.method)
        if run.name in in_training:
            assert in_training[run.name] == method_color(run.method)
    assert len({method_color(m) for m in METHOD_LABELS}) == len(METHOD_LABELS)


def test_plurals_in_legends(runs):
    texts = [text.get_text() for text in pruning_figure(runs).legends[0].get_texts()]
    assert any(text.endswith(", 2 layers)") for text in texts)
    assert plural(1, "layer") == "1 layer" and plural(0, "layer") == "0 layers" and plural(5, "head") == "5 heads"


def test_curves_break_across_missing_steps():
    steps, values = with_gaps(np.array([0, 10, 20, 30, 200, 210, 220]), np.arange(7.0))
    assert np.isnan(steps[4]) and np.isnan(values[4]) and len(steps) == 8  # a break between 30 and 200
    steps, _ = with_gaps(np.array([0, 10, 20, 30, 40]), np.arange(5.0))
    assert not np.isnan(steps).any()


def test_bad_run_folders_raise_naming_the_file(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURE / "runs" / "dphubert-75", run)
    summary = json.loads((run / "summary.json").read_text())
    del summary["teacher_config"]
    (run / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(DpbenchError, match=r"run/summary\.json: missing \['teacher_config'\]"):
        load_runs([run])
    with pytest.raises(DpbenchError, match="no summary.json"):
        load_runs([tmp_path / "empty"])


def test_final_stage_steps_that_restart_are_placed_after_stage_one(tmp_path: Path) -> None:
    from dpbench.report.runs import _read_log

    header = "step,stage,loss,distill_loss,reg_loss,expected_sparsity,target_sparsity,lambda1,lambda2,lr\n"
    rows = [f"{s},prune,1,1,0,0.1,0.1,0,0,0.1\n" for s in (1, 2, 3)] + [f"{s},final,1,1,,,,,,0.1\n" for s in (1, 2)]
    (tmp_path / "train_log.csv").write_text(header + "".join(rows))
    log = _read_log(tmp_path / "train_log.csv")
    assert log["step"].tolist() == [1, 2, 3, 4, 5]


def test_sparsity_points_carry_their_intervals_as_error_bars(runs):
    records = load_records(FIXTURE / "results.jsonl")
    records["ci_low"], records["ci_high"] = records["value"] - 1.0, records["value"] + 2.0
    points = primary_points(best_cells(records), "tiny-hubert", 2_412_000, methods_by_model(records, runs))
    figure = sparsity_figure(points)
    ks = next(axis for axis in figure.axes if axis.get_title(loc="left") == "KS")
    bars = [c for c in ks.containers if c.__class__.__name__ == "ErrorbarContainer"]
    segments = [s for bar in bars for s in bar.lines[2][0].get_segments()]
    assert sorted(round(s[1][1] - s[0][1], 6) for s in segments) == [3.0] * len(segments) and segments
