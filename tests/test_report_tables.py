"""The SUPERB table: numbers equal the stored ones, the selection rule, missing cells, formats."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from records_factory import report_fixture

from dpbench.errors import DpbenchError
from dpbench.report import table_formats
from dpbench.report.paper import PAPER_TEACHER, paper_records
from dpbench.report.selection import best_cells, load_records
from dpbench.report.tables import MIN_AGGREGATE_TASKS, build_table, retention

FIXTURE = report_fixture()
STORE = FIXTURE / "results.jsonl"


def raw_records() -> list[dict]:
    return [json.loads(line) for line in STORE.read_text().splitlines() if line.strip()]


def fixture_table(paper_rows: bool = True):
    records = load_records(STORE)
    frame = pd.concat([records, pd.DataFrame(paper_records())]) if paper_rows else records
    teachers = {"measured": "tiny-hubert", **({"paper": PAPER_TEACHER} if paper_rows else {})}
    return build_table(best_cells(frame), teachers)


def csv_frame(table) -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(table_formats.to_csv(table)), index_col="model")


def test_csv_numbers_equal_the_stored_single_records():
    table = csv_frame(fixture_table())
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for record in raw_records():
        groups.setdefault((record["upstream"], record["task"], record["metric"]), []).append(record)
    singles = [(key, recs[0]) for key, recs in groups.items() if len(recs) == 1]
    assert len(singles) > 15
    for (upstream, task, metric), record in singles:
        assert table.at[upstream, f"{task}_{metric}"] == record["value"], (upstream, task, metric)
        assert table.at[upstream, "params"] == record["params"]
        assert table.at[upstream, "macs"] == record["macs"]


def test_learning_rate_sweep_keeps_the_best_by_direction():
    table = fixture_table().frame
    by_lr = {(r["task"], r["metric"], r["lr"]): r["value"] for r in raw_records() if r["upstream"] == "DPHuBERT-75"}
    assert table.at["DPHuBERT-75", "KS_accuracy"] == max(by_lr[("KS", "accuracy", lr)] for lr in (1e-4, 1e-3))
    assert table.at["DPHuBERT-75", "PR_per"] == min(by_lr[("PR", "per", lr)] for lr in (1e-4, 1e-3))


def test_slot_filling_cer_comes_from_the_rate_with_the_best_f1():
    table = fixture_table().frame
    sf = [r for r in raw_records() if r["upstream"] == "DPHuBERT-75" and r["task"] == "SF"]
    by_lr = {(r["metric"], r["lr"]): r["value"] for r in sf}
    best_lr = max((1e-4, 1e-3), key=lambda lr: by_lr[("f1", lr)])
    assert table.at["DPHuBERT-75", "SF_f1"] == by_lr[("f1", best_lr)]
    assert table.at["DPHuBERT-75", "SF_cer"] == by_lr[("cer", best_lr)]
    assert by_lr[("cer", best_lr)] != min(v for (m, _), v in by_lr.items() if m == "cer")  # the fixture tests the rule


def test_repeated_runs_at_one_rate_are_averaged():
    repeats = [r["value"] for r in raw_records() if r["upstream"] == "tiny-hubert" and r["task"] == "IC"]
    assert len(repeats) == 2
    assert fixture_table().frame.at["tiny-hubert", "IC_accuracy"] == pytest.approx(sum(repeats) / 2)


def test_missing_cells_stay_missing_in_every_format():
    table = fixture_table(paper_rows=False)
    assert pd.isna(csv_frame(table).at["DistilHuBERT", "ASR_wer"])
    markdown_lines = table_formats.to_markdown(table).splitlines()
    distil_md = next(line for line in markdown_lines if line.startswith("| DistilHuBERT"))
    cells = [cell.strip() for cell in distil_md.strip("|").split("|")]
    assert cells[6] == table_formats.MISSING  # ASR column
    assert cells[9] == table_formats.MISSING  # SF: neither F1 nor CER
    distil_tex = next(line for line in table_formats.to_latex(table).splitlines() if line.startswith("DistilHuBERT"))
    assert distil_tex.split(" & ")[6] == "--"


def test_markdown_shows_the_stored_values_and_sf_as_f1_over_cer():
    markdown = table_formats.to_markdown(fixture_table())
    rows = {line.split("|")[1].strip(): line for line in markdown.splitlines() if line.startswith("| ")}
    assert "| 94.12 |" in rows["tiny-hubert"]
    assert "| 71.20 / 31.70 |" in rows["tiny-hubert"]
    assert "| 0.0736 |" in rows["HuBERT Base (paper)"]
    assert "| 86.86 / 28.26 |" in rows["DPHuBERT (paper)"]
    assert "best mean" in markdown and "(paper)" in markdown


def test_paper_rows_are_optional_and_marked():
    with_paper = fixture_table().frame
    assert set(with_paper.loc[with_paper["source"] == "paper"].index) == {r["upstream"] for r in paper_records()}
    assert all(name.endswith("(paper)") for name in with_paper.loc[with_paper["source"] == "paper"].index)
    assert pd.isna(with_paper.loc[PAPER_TEACHER, "macs"])  # the paper gives no MACs: not invented
    assert (fixture_table(paper_rows=False).frame["source"] == "measured").all()


def test_retention_flips_error_rates_and_averages_sf():
    records = load_records(STORE)
    kept = retention(records, "tiny-hubert")
    table = fixture_table().frame
    student, teacher = table.loc["DPHuBERT-75"], table.loc["tiny-hubert"]
    assert kept.at["DPHuBERT-75", "KS"] == pytest.approx(100 * student["KS_accuracy"] / teacher["KS_accuracy"])
    assert kept.at["DPHuBERT-75", "PR"] == pytest.approx(100 * (100 - student["PR_per"]) / (100 - teacher["PR_per"]))
    sf = [student["SF_f1"] / teacher["SF_f1"], (100 - student["SF_cer"]) / (100 - teacher["SF_cer"])]
    assert kept.at["DPHuBERT-75", "SF"] == pytest.approx(50 * sum(sf))
    assert (kept.loc["tiny-hubert", ["KS", "IC", "PR", "SID"]] == 100).all()
    tasks = ["KS", "IC", "PR", "ASR", "ER", "SF", "SID"]
    assert kept.at["DPHuBERT-75", "relative_score"] == pytest.approx(kept.loc["DPHuBERT-75", tasks].mean())
    assert table.at["DPHuBERT-75", "relative_score"] == pytest.approx(kept.at["DPHuBERT-75", "relative_score"])


def test_relative_score_needs_enough_shared_tasks():
    records = load_records(STORE)
    few = records[(records["upstream"] != "DistilHuBERT") | records["task"].isin(["KS", "IC"])]
    kept = retention(few, "tiny-hubert")
    assert kept.at["DistilHuBERT", "relative_score_tasks"] == 2 < MIN_AGGREGATE_TASKS
    assert pd.isna(kept.at["DistilHuBERT", "relative_score"])
    with pytest.raises(DpbenchError, match="no-such-model"):
        retention(records, "no-such-model")


def write_store(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_bad_records_name_the_file(tmp_path):
    good = raw_records()[0]
    bad_task = write_store(tmp_path / "bad_task.jsonl", [good, {**good, "task": "XYZ"}])
    with pytest.raises(DpbenchError, match=r"bad_task\.jsonl: record 2 has task 'XYZ'"):
        load_records(bad_task)
    flipped = write_store(tmp_path / "flipped.jsonl", [{**good, "higher_is_better": False}])
    with pytest.raises(DpbenchError, match="contradicts accuracy"):
        load_records(flipped)
    with pytest.raises(DpbenchError, match="not found"):
        load_records(tmp_path / "absent.jsonl")


def test_mixed_scales_get_separate_rows_and_latex_is_escaped(tmp_path):
    good = raw_records()[0]
    store = write_store(
        tmp_path / "mixed.jsonl",
        [
            {**good, "upstream": "tiny_hubert", "scale": "cpu", "value": 90.0},
            {**good, "upstream": "tiny_hubert", "scale": "paper", "value": 95.0},
        ],
    )
    table = build_table(best_cells(load_records(store)), {})
    assert table.frame["KS_accuracy"].to_dict() == {"tiny_hubert [cpu]": 90.0, "tiny_hubert [paper]": 95.0}
    assert r"tiny\_hubert [cpu] & " in table_formats.to_latex(table)
