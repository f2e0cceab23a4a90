"""`dpbench demo` end to end on the tiny corpus, shortened: one student, one task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dpbench.demo import demo_command
from dpbench.results import ResultsStore


@pytest.mark.slow
def test_demo_runs_every_stage_and_reuses_them(tmp_path: Path) -> None:
    args = [
        "--out",
        str(tmp_path / "demo"),
        "--size",
        "tiny",
        "--methods",
        "dphubert",
        "--tasks",
        "KS",
        "--stage1-steps",
        "20",
        "--stage2-steps",
        "10",
        "--jobs",
        "2",
    ]
    first = CliRunner().invoke(demo_command, args)
    assert first.exit_code == 0, first.output
    out = tmp_path / "demo"
    records = ResultsStore(out / "results.jsonl").records()
    assert sorted(r["upstream"] for r in records) == ["DPHuBERT", "tiny-hubert"]
    efficiency = ResultsStore(out / "results.jsonl").records("efficiency")
    assert sorted((r["upstream"], r["batch"]) for r in efficiency) == [
        ("DPHuBERT", 1),
        ("DPHuBERT", 8),
        ("tiny-hubert", 1),
        ("tiny-hubert", 8),
    ]
    lines = (out / "results.jsonl").read_text().splitlines()
    assert all(r["task"] == "KS" and 0.0 <= r["value"] <= 100.0 for r in records)
    summary = json.loads((out / "compress" / "dphubert" / "summary.json").read_text())
    assert abs(summary["sparsity"] - 0.65) < 0.01
    assert (out / "report" / "index.html").is_file()
    assert "DPHuBERT" in (out / "report" / "table.md").read_text()

    second = CliRunner().invoke(demo_command, args)
    assert second.exit_code == 0, second.output
    assert len((out / "results.jsonl").read_text().splitlines()) == len(lines)  # nothing was run again


def test_the_demo_synthesizes_only_the_corpora_it_uses():
    from dpbench.demo import corpora_for

    assert corpora_for(["KS"]) == ["librispeech", "speech_commands"]
    assert corpora_for(["SID", "ASV", "PR"]) == ["librispeech", "voxceleb1"]
