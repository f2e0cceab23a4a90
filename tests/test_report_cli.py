"""`dpbench report` end to end on the fixture: files, self-contained HTML, notes and errors."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner
from records_factory import report_fixture

from dpbench.report.cli import report_command

FIXTURE = report_fixture()
STORE = str(FIXTURE / "results.jsonl")
RUNS = str(FIXTURE / "runs")


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    arguments = ["--results", STORE, "--runs", RUNS, "--out", str(out), "--title", "Fixture"]
    result = CliRunner().invoke(report_command, arguments)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_writes_every_file_and_prints_the_table(full_report):
    out, output = full_report
    names = ["table.md", "table.csv", "table.tex", "index.html"]
    names += [f"{stem}.{ext}" for stem in ("pruning", "sparsity_vs_metric", "training") for ext in ("png", "svg")]
    for name in names:
        assert (out / name).stat().st_size > 0, name
        assert f"wrote {out / name}" in output
    assert (out / "pruning.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| DPHuBERT-75 | 0.603 |" in output
    assert "DPHuBERT-50 skipped" in output  # the run without train_log.csv
    table = pd.read_csv(out / "table.csv", index_col="model")
    assert table.at["DPHuBERT-75", "KS_accuracy"] == 92.3


def test_index_html_is_self_contained(full_report):
    out, _ = full_report
    page = (out / "index.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<title>Fixture</title>" in page and 'class="paper"' in page


def test_runs_only_skips_the_table_with_a_note(tmp_path):
    result = CliRunner().invoke(report_command, ["--runs", RUNS, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "note: table and sparsity figure skipped" in result.output
    assert (tmp_path / "pruning.svg").exists() and not (tmp_path / "table.md").exists()


def test_no_inputs_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(report_command, ["--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "nothing to report" in result.output


def test_unknown_teacher_is_rejected(tmp_path):
    result = CliRunner().invoke(report_command, ["--results", STORE, "--teacher", "nobody", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "--teacher 'nobody' has no results" in result.output
