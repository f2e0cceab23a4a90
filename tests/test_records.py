"""The shared record types (dpbench.records): each round-trips through its file; a file written before
versions reads as version 1; a newer version, a missing field and a wrongly typed one are refused with an
error naming the file and the field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from records_factory import compression_summary, superb_result, training_log, write_store

from dpbench.errors import DpbenchError
from dpbench.records.compress_summary import SUMMARY_FILE, read_summary, write_summary
from dpbench.records.schema import VERSION_KEY
from dpbench.records.superb_result import SuperbResult, parse_result, read_result
from dpbench.records.train_log import COLUMNS, FIELDS, TrainLogRow, read_log, write_log
from dpbench.report.selection import load_records


def _rewrite_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


# --- compression summary ----------------------------------------------------------------------------------


def test_summary_round_trips_with_its_version(tmp_path: Path) -> None:
    summary = compression_summary("run", "dphubert", 0.5, calibration={"iterations": 3}, losses={"prune_loss": 1.5})
    write_summary(tmp_path, summary)
    assert json.loads((tmp_path / SUMMARY_FILE).read_text())[VERSION_KEY] == 1
    assert read_summary(tmp_path) == summary


def test_summary_without_a_version_or_later_fields_reads_as_version_1(tmp_path: Path) -> None:
    summary = compression_summary("run", "distilhubert", 0.65)
    write_summary(tmp_path, summary)
    # as the first `dpbench compress` wrote it: no version, none of the fields added since
    _rewrite_json(
        tmp_path / SUMMARY_FILE,
        lambda data: [data.pop(key) for key in (VERSION_KEY, "distill_heads", "student_dropouts", "skipped_files")],
    )
    read = read_summary(tmp_path)
    assert read == dataclasses.replace(summary, distill_heads=None, student_dropouts=None, skipped_files=None)


def test_summary_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    write_summary(tmp_path, compression_summary("run", "dphubert", 0.5))
    _rewrite_json(tmp_path / SUMMARY_FILE, lambda data: data.update({VERSION_KEY: 2}))
    with pytest.raises(
        DpbenchError,
        match=r"summary\.json: written with schema_version 2, newer than this dpbench "
        r"reads \(up to 1\); upgrade dpbench",
    ):
        read_summary(tmp_path)
    _rewrite_json(tmp_path / SUMMARY_FILE, lambda data: data.update({VERSION_KEY: "one"}))
    with pytest.raises(DpbenchError, match="schema_version 'one' is not a version number"):
        read_summary(tmp_path)


def test_summary_missing_or_mistyped_fields_are_named(tmp_path: Path) -> None:
    write_summary(tmp_path, compression_summary("run", "dphubert", 0.5))
    _rewrite_json(tmp_path / SUMMARY_FILE, lambda data: data.pop("sparsity"))
    with pytest.raises(DpbenchError, match=rf"{tmp_path.name}/summary\.json: missing \['sparsity'\]"):
        read_summary(tmp_path)
    write_summary(tmp_path, compression_summary("run", "dphubert", 0.5))
    _rewrite_json(tmp_path / SUMMARY_FILE, lambda data: data.update(params=True))
    with pytest.raises(DpbenchError, match=r"summary\.json: field 'params' is True, expected int"):
        read_summary(tmp_path)
    _rewrite_json(tmp_path / SUMMARY_FILE, lambda data: data.update(params=10, kept_units={"ffn_dims": ["a"]}))
    with pytest.raises(DpbenchError, match=r"field 'kept_units' is \{'ffn_dims': \['a'\]\}"):
        read_summary(tmp_path)
    (tmp_path / SUMMARY_FILE).write_text("[1, 2]")
    with pytest.raises(DpbenchError, match="expected a JSON object, found list"):
        read_summary(tmp_path)


# --- training log ------------------------------------------------------------------------------------------


def test_training_log_round_trips_with_a_version_column(tmp_path: Path) -> None:
    rows = training_log(30, 20, 0.5)
    path = tmp_path / "train_log.csv"
    write_log(path, rows)
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS) and COLUMNS[-1] == VERSION_KEY
    read = read_log(path)
    assert [(r.step, r.stage) for r in read] == [(r.step, r.stage) for r in rows]
    for got, written in zip(read, rows, strict=True):  # six significant digits, None stays None
        for name in FIELDS[2:]:
            expected = getattr(written, name)
            assert getattr(got, name) == (None if expected is None else pytest.approx(expected, rel=1e-5))
    assert read[-1].lambda1 is None and read[0].lambda1 is not None


def test_training_log_without_a_version_column_reads_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "train_log.csv"  # as dpbench wrote it before versions: ten columns, stage 2 blanks
    path.write_text(
        "step,stage,loss,distill_loss,reg_loss,expected_sparsity,target_sparsity,lambda1,lambda2,lr\n"
        "1,prune,3.1,3,0.1,0.05,0.1,-0.01,0.02,4e-05\n1,final,2.5,2.5,,,,,,0.0001\n"
    )
    assert read_log(path) == [
        TrainLogRow(1, "prune", 3.1, 3.0, 0.1, 0.05, 0.1, -0.01, 0.02, 4e-05),
        TrainLogRow(1, "final", 2.5, 2.5, lr=0.0001),
    ]


def test_training_log_problems_name_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "train_log.csv"
    write_log(path, [TrainLogRow(1, "prune", 1.0), TrainLogRow(2, "prune", 0.9)])
    text = path.read_text()
    path.write_text(text.replace("0.9,,,,,,,,1", "0.9,,,,,,,,2"))
    with pytest.raises(DpbenchError, match=r"train_log\.csv:3: written with schema_version 2, newer"):
        read_log(path)
    path.write_text(text.replace("0.9,", "lots,"))
    with pytest.raises(DpbenchError, match=r"train_log\.csv:3: column 'loss' is 'lots', expected float"):
        read_log(path)
    path.write_text(text.replace("2,prune,0.9", "2,prune,"))
    with pytest.raises(DpbenchError, match=r"train_log\.csv:3: column 'loss' is empty"):
        read_log(path)
    path.write_text("step,stage,lr\n1,prune,0.1\n")
    with pytest.raises(DpbenchError, match=r"train_log\.csv: missing columns \['loss'\]"):
        read_log(path)
    path.write_text(text + "3,prune\n")
    with pytest.raises(DpbenchError, match=r"train_log\.csv:4: the row does not have one cell per column"):
        read_log(path)


# --- SUPERB result -----------------------------------------------------------------------------------------


def test_superb_result_round_trips_and_leaves_out_empty_details(tmp_path: Path) -> None:
    plain = superb_result("KS", 91.5, "DPHuBERT", ci_low=90.0, ci_high=93.0, seed=1)
    data = json.loads(json.dumps(plain.to_json()))
    assert data[VERSION_KEY] == 1 and "details" not in data and "secondary" not in data
    assert parse_result(data, "here") == plain
    fuller = superb_result("SF", 80.0, "DPHuBERT", secondary={"cer": 30.0}, details={"dev": [1, 2]})
    (tmp_path / "result.json").write_text(json.dumps(fuller.to_json()))
    assert read_result(tmp_path / "result.json") == fuller


def test_superb_result_versions_and_fields_are_checked() -> None:
    data = superb_result("ASR", 20.0, "tiny-hubert").to_json()
    first = {
        key: value
        for key, value in data.items()
        if key
        in (
            "task",
            "metric",
            "value",
            "higher_is_better",
            "upstream",
            "upstream_path",
            "params",
            "macs",
            "lr",
            "steps",
            "scale",
            "wall_time_s",
            "config_hash",
            "run_dir",
            "timestamp",
        )
    }
    assert parse_result(first, "old") == dataclasses.replace(  # the first records' fields only, no version
        SuperbResult(**first), dev_value=None, device=None
    )
    with pytest.raises(DpbenchError, match="store.jsonl: record 3: written with schema_version 7, newer"):
        parse_result({**data, VERSION_KEY: 7}, "store.jsonl: record 3")
    with pytest.raises(DpbenchError, match=r"record 3: missing \['metric'\]"):
        parse_result({k: v for k, v in data.items() if k != "metric"}, "record 3")
    with pytest.raises(DpbenchError, match=r"record 3: field 'value' is '20', expected float"):
        parse_result({**data, "value": "20"}, "record 3")


def test_the_report_refuses_a_record_of_a_newer_version_naming_it(tmp_path: Path) -> None:
    store = write_store(tmp_path / "results.jsonl", [superb_result("KS", 90.0, "a"), superb_result("KS", 91.0, "b")])
    lines = store.read_text().splitlines()
    store.write_text(lines[0] + "\n" + lines[1].replace(f'"{VERSION_KEY}": 1', f'"{VERSION_KEY}": 2') + "\n")
    with pytest.raises(DpbenchError, match=r"results\.jsonl: record 2: written with schema_version 2"):
        load_records(store)
    store.write_text(lines[0] + "\n")
    assert load_records(store)["value"].tolist() == [90.0]


def test_a_resumed_stage_rewrites_an_unversioned_log_before_appending(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from dpbench.compress.callbacks import StepCSVLogger

    path = tmp_path / "train_log.csv"  # a run of an older dpbench, killed in stage 1 after step 3
    path.write_text(
        "step,stage,loss,distill_loss,reg_loss,expected_sparsity,target_sparsity,lambda1,lambda2,lr\n"
        + "".join(f"{step},prune,1,1,0,0.1,0.1,0,0,0.1\n" for step in (1, 2, 3))
    )
    logger = StepCSVLogger(path, "prune")
    logger.on_train_start(SimpleNamespace(global_step=2, is_global_zero=True), None)  # resumed from step 2
    module = SimpleNamespace(step_terms={name: 0.5 for name in FIELDS[2:]}, pruning=True)
    logger.on_train_batch_end(SimpleNamespace(global_step=3, is_global_zero=True), module, None, None, 0)
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert [(row.step, row.loss) for row in read_log(path)] == [(1, 1.0), (2, 1.0), (3, 0.5)]
