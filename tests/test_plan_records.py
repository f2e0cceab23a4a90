"""The record-folder results store (safe on a shared filesystem): concurrent writers lose and
duplicate nothing, and the report and `dpbench superb` read and write it like the JSONL store."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from records_factory import superb_result

from dpbench.errors import DpbenchError
from dpbench.results import RecordFolder, ResultsStore, open_store

WRITERS, RECORDS_EACH = 6, 40


def _write_records(folder: str, writer: int) -> None:
    store = RecordFolder(folder)
    for index in range(RECORDS_EACH):
        record = {
            "task": "KS",
            "metric": "accuracy",
            "value": float(index),
            "upstream": f"model-{writer}",
            "run_dir": f"/runs/{writer}/{index}",
            "timestamp": 1000.0 + index,
        }
        store.append(record)
        store.append(record)  # a job re-run after writing its record: still one copy


def test_concurrent_jobs_writing_records_lose_and_duplicate_nothing(tmp_path):
    folder = tmp_path / "results"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_records, args=(str(folder), writer)) for writer in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
    assert [process.exitcode for process in writers] == [0] * WRITERS
    records = RecordFolder(folder).records()
    keys = [(record["upstream"], record["run_dir"]) for record in records]
    assert len(keys) == WRITERS * RECORDS_EACH and len(set(keys)) == len(keys)
    assert not list(folder.glob(".*"))  # no temporary file left behind


def test_open_store_picks_the_kind_by_path_and_the_report_reads_a_folder(tmp_path):
    from dpbench.report.selection import load_records

    assert isinstance(open_store(tmp_path / "results.jsonl"), ResultsStore)
    assert isinstance(open_store(tmp_path / "superb.json"), ResultsStore)  # any file name keeps the JSONL store
    assert isinstance(open_store(tmp_path / "results"), RecordFolder)
    store = open_store(tmp_path / "results")
    store.append(superb_result("KS", 90.0, "DPHuBERT", run_dir="a").to_json())
    store.append(superb_result("IC", 80.0, "DPHuBERT", run_dir="b").to_json())
    frame = load_records(tmp_path / "results")
    assert sorted(frame["task"]) == ["IC", "KS"] and set(frame["model"]) == {"DPHuBERT"}
    (tmp_path / "results" / "KS-broken.json").write_text("{not json")
    with pytest.raises(DpbenchError, match="KS-broken.json"):
        RecordFolder(tmp_path / "results").records()


def test_superb_records_a_run_once_in_a_folder(tmp_path):
    from dpbench.superb.run import _ensure_recorded
    from dpbench.superb.tasks import get_task

    store = open_store(tmp_path / "results")
    record = superb_result("KS", 91.0, "DPHuBERT", run_dir="/r", timestamp=5.0).to_json()
    _ensure_recorded(store, record, get_task("KS"))
    _ensure_recorded(store, record, get_task("KS"))
    assert [r["value"] for r in RecordFolder(Path(tmp_path / "results"))] == [91.0]


def test_the_report_names_the_file_of_a_bad_record_in_a_folder(tmp_path):
    from dpbench.report.selection import load_records

    store = open_store(tmp_path / "results")
    store.append(superb_result("KS", 90.0, "DPHuBERT", run_dir="a").to_json())
    bad = {**superb_result("IC", 80.0, "DPHuBERT", run_dir="b").to_json(), "value": "high"}
    store.append(bad)
    with pytest.raises(DpbenchError, match=rf"{store.file_for(bad).name}: field 'value' is 'high', expected float"):
        load_records(tmp_path / "results")
