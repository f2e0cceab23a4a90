"""The report's sparsity sweep figure (one line per method, one point per sparsity, with intervals), its
ablation table (change from full DPHuBERT with a paired-bootstrap interval) and several teachers side by
side (each student relative to its own teacher), on fixture run folders and records built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import records_factory
from records_factory import compression_summary, superb_result, write_store

from dpbench.records.superb_result import SuperbResult
from dpbench.report import ablation_table
from dpbench.report.build import build_report
from dpbench.report.runs import load_runs, runs_by_model, teachers_by_model
from dpbench.report.selection import best_cells, load_records
from dpbench.report.sparsity_figure import line_labels, primary_points, sparsity_figure
from dpbench.report.tables import retention_from_cells
from dpbench.stats import Items, paired_difference

CONFIG = {"conv_channels": [8], "num_layers": 2, "num_heads": [2, 2], "ffn_dims": [10, 10]}


def write_run(
    root: Path,
    name: str,
    method: str,
    teacher: str,
    sparsity: float,
    ablation: str | None = None,
    teacher_params: int = 1000,
) -> None:
    records_factory.write_run(
        root / name,
        compression_summary(
            name,
            method,
            sparsity,
            teacher=teacher,
            teacher_params=teacher_params,
            config=CONFIG,
            options={"ablation": ablation},
            student_path=str(root / f"{name}.pt"),
        ),
    )


def record(model: str, task: str, value: float, params: int, **extra) -> SuperbResult:
    return superb_result(task, value, model, params=params, **extra)


@pytest.fixture
def sweep(tmp_path):
    """tiny-hubert; DPHuBERT at 0.5/0.65/0.8; DistilHuBERT at 0.65; an ablation at 0.65; intervals on KS."""
    runs = tmp_path / "compress"
    records = [record("tiny-hubert", "KS", 95.0, 1000), record("tiny-hubert", "ASR", 20.0, 1000)]
    for sparsity, ks, asr in ((0.5, 94.0, 25.0), (0.65, 93.0, 28.0), (0.8, 90.0, 35.0)):
        name = f"DPHuBERT-sp{sparsity:g}"
        write_run(runs, name, "dphubert", "tiny-hubert", sparsity)
        params = round(1000 * (1 - sparsity))
        records += [record(name, "KS", ks, params, ci_low=ks - 1.5, ci_high=ks + 1.0), record(name, "ASR", asr, params)]
    write_run(runs, "DistilHuBERT", "distilhubert", "tiny-hubert", 0.65)
    write_run(runs, "DPHuBERT-no-conv-pruning", "dphubert", "tiny-hubert", 0.65, "no-conv-pruning")
    records += [
        record("DistilHuBERT", "KS", 91.0, 350),
        record("DistilHuBERT", "ASR", 33.0, 350),
        record("DPHuBERT-no-conv-pruning", "KS", 92.0, 350),
    ]
    return write_store(tmp_path / "results.jsonl", records), runs


def test_sweep_figure_has_one_line_per_method_and_one_point_per_sparsity(sweep):
    store, runs_dir = sweep
    records = load_records(store)
    run_of = runs_by_model(records, load_runs([runs_dir]))
    points = primary_points(
        best_cells(records),
        "tiny-hubert",
        1000.0,
        line_labels(run_of, False),
        {m: 100 * r.summary.sparsity for m, r in run_of.items()},
    )
    figure = sparsity_figure(points)
    ks, asr = [axis for axis in figure.axes if axis.get_visible()]
    lines = {line.get_label(): line for line in ks.get_lines() if len(line.get_xdata()) and line.get_label()[0] != "_"}
    assert set(lines) == {"DPHuBERT", "DistilHuBERT", "DPHuBERT no-conv-pruning"}  # the ablation is not on the sweep
    assert np.allclose(lines["DPHuBERT"].get_xdata(), [50, 65, 80])
    assert np.allclose(lines["DPHuBERT"].get_ydata(), [94, 93, 90])
    assert len(lines["DistilHuBERT"].get_xdata()) == 1
    asr_line = next(line for line in asr.get_lines() if line.get_label() == "DPHuBERT")
    assert np.allclose(asr_line.get_ydata(), [25, 28, 35])
    # interval bars: one errorbar collection on KS (DPHuBERT has intervals), segments from ci_low to ci_high
    bars = [c for c in ks.collections if len(c.get_segments()) == 3]
    assert len(bars) == 1
    spans = sorted((float(s[0][1]), float(s[1][1])) for s in bars[0].get_segments())
    assert np.allclose(spans, [(88.5, 91.0), (91.5, 94.0), (92.5, 95.0)])


def items(correct: list[int]) -> Items:
    return Items(tuple(f"u{i}" for i in range(len(correct))), np.asarray(correct, float), np.ones(len(correct)))


def test_ablation_table_gives_the_change_with_a_paired_interval(tmp_path):
    runs = tmp_path / "compress"
    write_run(runs, "DPHuBERT", "dphubert", "tiny-hubert", 0.65)
    write_run(runs, "DPHuBERT-predlayer", "dphubert", "tiny-hubert", 0.65, "predlayer")
    write_run(runs, "DPHuBERT-no-final-distill", "dphubert", "tiny-hubert", 0.65, "no-final-distill")
    write_run(runs, "DPHuBERT-sp0.8", "dphubert", "tiny-hubert", 0.8)  # another sparsity: not the reference
    rng = np.random.default_rng(0)
    full, ablated = (rng.random(200) < 0.9).astype(int), (rng.random(200) < 0.8).astype(int)
    paths = {}
    for name, correct in (("DPHuBERT", full), ("DPHuBERT-predlayer", ablated)):
        paths[name] = tmp_path / f"{name}.items.json"
        items(list(correct)).save(paths[name])
    records = [
        record("DPHuBERT", "KS", 100 * full.mean(), 350, items_path=str(paths["DPHuBERT"])),
        record("DPHuBERT-predlayer", "KS", 100 * ablated.mean(), 350, items_path=str(paths["DPHuBERT-predlayer"])),
        record("DPHuBERT", "ASR", 30.0, 350),
        record("DPHuBERT-predlayer", "ASR", 33.5, 350),
        record("DPHuBERT-no-final-distill", "ASR", 31.0, 350),
        record("DPHuBERT-sp0.8", "ASR", 40.0, 200),
    ]
    store = write_store(tmp_path / "results.jsonl", records)
    loaded = load_records(store)
    table = ablation_table.ablation_table(best_cells(loaded), runs_by_model(loaded, load_runs([runs])))
    frame = table.frame.set_index(["ablation", "task"])
    assert set(frame["reference"]) == {"DPHuBERT"}
    ks = frame.loc[("predlayer", "KS")]
    expected = paired_difference(items(list(ablated)), items(list(full)))
    assert ks["change"] == pytest.approx(100 * (ablated.mean() - full.mean()))
    assert (ks["ci_low"], ks["ci_high"]) == pytest.approx((expected.low, expected.high))
    assert frame.loc[("predlayer", "ASR"), "change"] == pytest.approx(3.5)
    assert np.isnan(frame.loc[("predlayer", "ASR"), "ci_low"])  # no per-item files: the change alone
    assert frame.loc[("no-final-distill", "ASR"), "change"] == pytest.approx(1.0)
    markdown = ablation_table.to_markdown(table)
    assert "| no-final-distill | DPHuBERT-no-final-distill | DPHuBERT | — | +1.00 |" in markdown
    assert f"{ks['change']:+.2f} [{expected.low:+.2f}, {expected.high:+.2f}]" in markdown
    report = build_report(store, [runs], tmp_path / "report", paper_rows=False, teacher="DPHuBERT")
    assert {"ablation.md", "ablation.csv"} <= {path.name for path in report.written}
    assert "<h2>Ablations</h2>" in (tmp_path / "report" / "index.html").read_text()


def test_no_ablation_runs_no_ablation_table(sweep, tmp_path):
    store, runs_dir = sweep
    (runs_dir / "DPHuBERT-no-conv-pruning" / "summary.json").unlink()
    (runs_dir / "DPHuBERT-no-conv-pruning").rmdir()
    report = build_report(store, [runs_dir], tmp_path / "report", paper_rows=False)
    assert "ablation.md" not in {path.name for path in report.written}


def test_several_teachers_each_student_relative_to_its_own(tmp_path):
    runs = tmp_path / "compress"
    write_run(runs, "DPHuBERT", "dphubert", "hubert_base", 0.75, teacher_params=94_680_000)
    write_run(runs, "DPWavLM", "dphubert", "wavlm_base_plus", 0.75, teacher_params=94_700_000)
    write_run(runs, "DPHuBERT-Large", "dphubert", "/ckpt/hubert_large.pt", 0.75, teacher_params=316_000_000)
    values = {
        "hubert_base": (96.0, 98.0, 6.0),
        "wavlm_base_plus": (97.0, 99.0, 5.0),
        "hubert_large": (97.5, 98.5, 4.0),
        "DPHuBERT": (95.0, 97.0, 10.0),
        "DPWavLM": (96.0, 98.0, 9.0),
        "DPHuBERT-Large": (96.5, 98.0, 6.5),
    }
    sizes = {
        "hubert_base": 94_680_000,
        "wavlm_base_plus": 94_700_000,
        "hubert_large": 316_000_000,
        "DPHuBERT": 23_670_000,
        "DPWavLM": 23_675_000,
        "DPHuBERT-Large": 79_000_000,
    }
    paths = {"hubert_large": "/ckpt/hubert_large.pt"}
    records = [
        record(model, task, value, sizes[model], upstream_path=paths.get(model, model))
        for model, row in values.items()
        for task, value in zip(("KS", "IC", "ASR"), row)
    ]
    store = write_store(tmp_path / "results.jsonl", records)
    loaded = load_records(store)
    assert teachers_by_model(loaded, load_runs([runs])) == {
        "DPHuBERT": "hubert_base",
        "DPWavLM": "wavlm_base_plus",
        "DPHuBERT-Large": "hubert_large",
    }
    report = build_report(store, [runs], tmp_path / "report", paper_rows=True)
    frame = report.table.frame
    measured = frame[frame["source"] == "measured"]
    assert list(measured.index) == [
        "hubert_large",
        "DPHuBERT-Large",
        "wavlm_base_plus",
        "DPWavLM",
        "hubert_base",
        "DPHuBERT",
    ]  # each teacher, then its students
    assert measured["teacher"].to_dict() == {
        "hubert_large": "hubert_large",
        "DPHuBERT-Large": "hubert_large",
        "wavlm_base_plus": "wavlm_base_plus",
        "DPWavLM": "wavlm_base_plus",
        "hubert_base": "hubert_base",
        "DPHuBERT": "hubert_base",
    }
    cells = best_cells(loaded)
    for student, teacher in (
        ("DPWavLM", "wavlm_base_plus"),
        ("DPHuBERT", "hubert_base"),
        ("DPHuBERT-Large", "hubert_large"),
    ):
        alone = retention_from_cells(cells[cells["model"].isin([student, teacher])], teacher)
        assert frame.at[student, "relative_score"] == pytest.approx(alone.at[student, "relative_score"])
        assert frame.at[teacher, "relative_score"] == pytest.approx(100.0)
    # by hand for one: KS 96/97, IC 98/99, ASR (100-9)/(100-5)
    assert frame.at["DPWavLM", "relative_score"] == pytest.approx(100 * np.mean([96 / 97, 98 / 99, 91 / 95]))
    assert frame.at["DPHuBERT (paper)", "teacher"] == "HuBERT Base (paper)"  # paper rows keep theirs
    assert "each student's own teacher" in report.table.caption
    csv = pd.read_csv(tmp_path / "report" / "table.csv", index_col="model")
    assert csv.at["DPWavLM", "teacher"] == "wavlm_base_plus"
