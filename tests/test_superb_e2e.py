"""End to end through s3prl's own code on the tiny synthetic corpus: KS (legacy runner) and PR (s3prl.problem)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from dpbench.models import build_encoder, count_params, load_encoder, save_encoder, tiny_config
from dpbench.results import ResultsStore
from dpbench.superb.cli import superb_command
from dpbench.superb.configs import CONFIG_DIR

STEPS = 20


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_encoder(path, build_encoder(tiny_config("hubert")))
    return path


@pytest.fixture(scope="module")
def quick_configs(tmp_path_factory) -> Path:
    """The shipped CPU configs with STEPS training steps."""
    out = tmp_path_factory.mktemp("configs")
    for path in CONFIG_DIR.glob("*_cpu.yaml"):
        config = yaml.safe_load(path.read_text())
        schedule = config["runner"] if "runner" in config else config["train"]
        schedule.update(total_steps=STEPS, eval_step=STEPS // 2, save_step=STEPS // 2, log_step=5)
        (out / path.name).write_text(yaml.safe_dump(config))
    return out


def superb(task: str, corpus: Path, ckpt: Path, configs: Path, tmp_path: Path, *extra: str):
    args = [
        "--task",
        task,
        "--upstream",
        str(ckpt),
        "--data",
        str(corpus),
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(tmp_path / "results.jsonl"),
        "--config-dir",
        str(configs),
        "--quiet",
        *extra,
    ]
    result = CliRunner().invoke(superb_command, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return ResultsStore(tmp_path / "results.jsonl").records()


def assert_interval(record: dict) -> None:
    """The record's 95% interval comes from s3prl's per-utterance outputs and brackets its value."""
    assert record["n_items"] > 0 and Path(record["items_path"]).is_file()
    assert record["ci_low"] <= record["value"] + 1e-9 and record["value"] <= record["ci_high"] + 1e-9


@pytest.mark.slow
def test_ks_runs_resumes_and_records(tiny_corpus, tiny_ckpt, quick_configs, tmp_path):
    records = superb("KS", tiny_corpus, tiny_ckpt, quick_configs, tmp_path)
    assert len(records) == 1
    record = records[0]
    run_dir = Path(record["run_dir"])
    assert (record["task"], record["metric"], record["steps"], record["scale"]) == ("KS", "accuracy", STEPS, "cpu")
    assert 0.0 <= record["value"] <= 100.0 and 0.0 <= record["dev_value"] <= 100.0
    assert record["params"] == count_params(tiny_config("hubert"))
    assert record["macs"] > 0
    assert (run_dir / "train" / "dev-best.ckpt").is_file()
    assert "test at step 0:" in (run_dir / "evaluate" / "log.log").read_text()
    assert_interval(record)

    # An interruption after training: only the evaluation runs again, with the same dev-best checkpoint.
    train_log_size = (run_dir / "train.log").stat().st_size
    (run_dir / ".evaluate.done").unlink()
    (run_dir / "result.json").unlink()
    records = superb("KS", tiny_corpus, tiny_ckpt, quick_configs, tmp_path)
    assert len(records) == 2
    assert (run_dir / "train.log").stat().st_size == train_log_size
    assert records[1]["value"] == pytest.approx(record["value"])

    # A finished run is not run or recorded again.
    assert len(superb("KS", tiny_corpus, tiny_ckpt, quick_configs, tmp_path)) == 2


@pytest.mark.slow
def test_pr_through_s3prl_problem(tiny_corpus, tiny_ckpt, quick_configs, tmp_path):
    records = superb("PR", tiny_corpus, tiny_ckpt, quick_configs, tmp_path)
    assert len(records) == 1
    record = records[0]
    assert (record["task"], record["metric"], record["higher_is_better"]) == ("PR", "per", False)
    assert record["value"] > 0 and record["dev_value"] > 0
    run_dir = Path(record["run_dir"])
    result = yaml.safe_load((run_dir / "exp/evaluate/valid_best/test-clean/result.yaml").read_text())
    assert record["value"] == pytest.approx(100 * result["per"])
    assert_interval(record)


@pytest.mark.slow
@pytest.mark.parametrize("task, metric", [("IC", "accuracy"), ("SID", "accuracy"), ("ASR", "wer")])
def test_other_tasks_run_through_s3prl(task, metric, tiny_corpus, tiny_ckpt, quick_configs, tmp_path):
    records = superb(task, tiny_corpus, tiny_ckpt, quick_configs, tmp_path)
    assert [(r["task"], r["metric"], r["steps"]) for r in records] == [(task, metric, STEPS)]
    value = records[0]["value"]
    assert value >= 0.0 and (metric == "wer" or value <= 100.0)
    assert Path(records[0]["run_dir"], "result.json").is_file()
    assert_interval(records[0])


@pytest.mark.slow
def test_er_averages_the_requested_folds(tiny_corpus, tiny_ckpt, quick_configs, tmp_path):
    records = superb("ER", tiny_corpus, tiny_ckpt, quick_configs, tmp_path, "--folds", "1,2")
    assert [(r["task"], r["metric"]) for r in records] == [("ER", "accuracy")]
    record = records[0]
    assert Path(record["run_dir"]).name == "lr0.001-folds12"
    assert set(record["details"]) == {"fold1", "fold2"}
    assert record["value"] == pytest.approx(sum(record["details"].values()) / 2)
    for fold in ("fold1", "fold2"):
        assert "test at step" in (Path(record["run_dir"]) / fold / "evaluate" / "log.log").read_text()
    assert_interval(record)


@pytest.fixture(scope="module")
def fithubert_ckpt(tmp_path_factory) -> Path:
    """A FitHuBERT student of the tiny teacher: thin conv front end, time reduction (640 samples per frame)."""
    from dpbench.compress.students import fithubert_config

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "fithubert.pt"
    save_encoder(path, build_encoder(fithubert_config(tiny_config("hubert"))))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("task", ["KS", "PR", "ASR"])
def test_a_time_reduced_student_runs_through_s3prl(task, tiny_corpus, fithubert_ckpt, quick_configs, tmp_path):
    """s3prl's downstreams (utterance-level and CTC) take the 40 ms frames the upstream reports."""
    records = superb(task, tiny_corpus, fithubert_ckpt, quick_configs, tmp_path)
    assert [r["task"] for r in records] == [task]
    assert records[0]["params"] == count_params(load_encoder(fithubert_ckpt).config)
    assert_interval(records[0])
