"""Fast checks of `dpbench superb`'s plumbing: configs, options, guards, records (no s3prl training)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from dpbench.errors import DpbenchError
from dpbench.results import ResultsStore
from dpbench.superb.cli import parse_lrs
from dpbench.superb.configs import SCALES, config_hash, get_key, load_config
from dpbench.superb.run import RunOptions, _ensure_recorded, run_task
from dpbench.superb.tasks import SUITE, TASKS, get_task
from dpbench.superb.upstream_spec import parse_upstream


@pytest.mark.parametrize("name", list(TASKS))
@pytest.mark.parametrize("scale", SCALES)
def test_every_task_has_a_usable_config(name, scale):
    task = get_task(name)
    config, settings = load_config(task.stem, scale)
    if task.trains:
        assert float(get_key(config, task.lr_key)) > 0
        assert int(get_key(config, task.steps_key)) > 0
        assert settings["lr_sweep"] and all(float(lr) > 0 for lr in settings["lr_sweep"])
    else:  # nothing to tune: recorded as lr 0, steps 0, and `--lr sweep` is refused
        assert float(get_key(config, task.lr_key)) == 0 and int(get_key(config, task.steps_key)) == 0
        assert "lr_sweep" not in settings
    if "runner" in config:
        assert not task.trains or config["runner"]["eval_step"] <= config["runner"]["total_steps"]
        workers = config["downstream_expert"]["datarc"]["num_workers"]
    else:
        workers = config["num_workers"]
    assert (workers == 0) == (scale == "cpu")


def test_suite_and_lookup():
    assert set(SUITE) == set(TASKS)
    assert get_task("ks").name == "KS"
    with pytest.raises(DpbenchError, match="unknown task"):
        get_task("QbE-typo")


def test_learning_rate_option():
    assert parse_lrs(None, [1e-3]) == [None]
    assert parse_lrs("sweep", [1e-3, 1e-2]) == [1e-3, 1e-2]
    assert parse_lrs("1e-4,5e-4", []) == [1e-4, 5e-4]
    with pytest.raises(DpbenchError, match="no dpbench.lr_sweep"):
        parse_lrs("sweep", [])
    with pytest.raises(DpbenchError, match="comma-separated"):
        parse_lrs("fast", [])


def test_config_hash_tracks_content():
    config, _ = load_config("ks", "cpu")
    other, _ = load_config("ks", "cpu")
    assert config_hash(config) == config_hash(other)
    other["optimizer"]["lr"] = 0.5
    assert config_hash(config) != config_hash(other)


def test_upstream_names(tmp_path):
    ckpt = tmp_path / "my model.pt"
    ckpt.write_bytes(b"")
    spec = parse_upstream(str(ckpt))
    assert (spec.entry, spec.ckpt, spec.name) == ("dpbench", str(ckpt.resolve()), "my_model")
    assert parse_upstream("tiny-hubert").ckpt == "tiny-hubert"
    s3prl = parse_upstream("s3prl:fbank")
    assert (s3prl.entry, s3prl.ckpt, s3prl.is_dpbench) == ("fbank", None, False)


def _options(tmp_path: Path, data: Path) -> RunOptions:
    return RunOptions(parse_upstream("s3prl:fbank"), data, tmp_path / "runs", store=tmp_path / "results.jsonl")


def test_training_split_smaller_than_a_batch_is_refused(tmp_path):
    """s3prl's KS loader drops the last partial batch, so a tiny split would loop forever."""
    data = tmp_path / "data"
    for word, count in (("yes", 3), ("no", 3)):
        for n in range(count):
            path = data / "speech_commands" / "train" / word / f"spk{word}{n}_nohash_0.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, np.zeros(16000, dtype="float32"), 16000)
    (data / "speech_commands" / "test" / "yes").mkdir(parents=True)
    with pytest.raises(DpbenchError, match="fewer than one batch"):
        run_task(get_task("KS"), _options(tmp_path, data), None)
    assert not (tmp_path / "runs" / "fbank" / "KS" / "lr0.001" / "train").exists()


def test_missing_corpus_names_the_folder(tmp_path):
    with pytest.raises(DpbenchError, match="fluent_speech_commands"):
        run_task(get_task("IC"), _options(tmp_path, tmp_path), None)


def test_a_record_is_appended_once(tmp_path):
    store = ResultsStore(tmp_path / "r.jsonl")
    record = {"task": "KS", "metric": "accuracy", "run_dir": "/x", "timestamp": 1.0, "value": 50.0}
    _ensure_recorded(store, record, get_task("KS"))
    _ensure_recorded(store, record, get_task("KS"))
    assert len(store.records()) == 1


def test_secondary_metrics_become_records_of_their_own(tmp_path):
    store = ResultsStore(tmp_path / "r.jsonl")
    record = {
        "task": "SF",
        "metric": "f1",
        "value": 80.0,
        "dev_value": 79.0,
        "higher_is_better": True,
        "run_dir": "/x",
        "timestamp": 1.0,
        "secondary": {"cer": 20.0},
    }
    task = SimpleNamespace(secondary_metrics={"cer": False})
    _ensure_recorded(store, record, task)
    _ensure_recorded(store, record, task)
    rows = [(r["metric"], r["value"], r["higher_is_better"], r["dev_value"]) for r in store.records()]
    assert rows == [("f1", 80.0, True, 79.0), ("cer", 20.0, False, None)]
    assert all("secondary" not in r for r in store.records())


def test_a_second_concurrent_run_of_the_same_folder_is_refused(tmp_path):
    from filelock import FileLock

    from dpbench.superb.run import run_dir_for

    options = _options(tmp_path, tmp_path)
    run_dir = run_dir_for(options, get_task("KS"), 1e-3)
    run_dir.mkdir(parents=True)
    with FileLock(str(run_dir / ".lock")):
        with pytest.raises(DpbenchError, match="another `dpbench superb` is running"):
            run_task(get_task("KS"), options, 1e-3)


def test_a_folder_of_another_config_is_not_resumed(tmp_path):
    from dpbench.superb.run import run_dir_for

    options = _options(tmp_path, tmp_path)
    run_dir = run_dir_for(options, get_task("KS"), 1e-3)
    run_dir.mkdir(parents=True)
    (run_dir / "config_hash").write_text("0123456789ab\n")
    with pytest.raises(DpbenchError, match="another config"):
        run_task(get_task("KS"), options, 1e-3)


def test_a_replaced_upstream_checkpoint_stops_the_run(tmp_path):
    """Train and evaluate load the upstream separately: a checkpoint swapped in between must not mix models."""
    import torch

    from dpbench.models import build_encoder, save_encoder, tiny_config
    from dpbench.superb.run import run_dir_for
    from dpbench.superb.upstream_spec import fingerprint

    ckpt = tmp_path / "model.pt"
    torch.manual_seed(0)
    save_encoder(ckpt, build_encoder(tiny_config("hubert")))
    spec = parse_upstream(str(ckpt))
    first = fingerprint(spec)
    options = RunOptions(spec, tmp_path, tmp_path / "runs", store=tmp_path / "results.jsonl")
    run_dir = run_dir_for(options, get_task("KS"), 1e-3)
    run_dir.mkdir(parents=True)
    (run_dir / "upstream_sha256").write_text(first + "\n")
    torch.manual_seed(1)
    save_encoder(ckpt, build_encoder(tiny_config("hubert")))
    assert fingerprint(spec) != first
    with pytest.raises(DpbenchError, match="changed since this run started"):
        run_task(get_task("KS"), options, 1e-3)


def test_folds_option():
    from dpbench.superb.tasks.er import ALL_FOLDS, parse_folds

    assert parse_folds("all") == ALL_FOLDS
    assert parse_folds("2, 1,2") == ["fold2", "fold1"]
    for bad in ("0", "6", "", "one"):
        with pytest.raises(DpbenchError, match="--folds"):
            parse_folds(bad)


def test_folds_are_refused_for_tasks_without_folds(tmp_path):
    from click.testing import CliRunner

    from dpbench.superb.cli import superb_command

    result = CliRunner().invoke(
        superb_command, ["--task", "KS", "--upstream", "tiny-hubert", "--data", str(tmp_path), "--folds", "all"]
    )
    assert result.exit_code != 0 and "ER only" in result.output


@pytest.mark.parametrize("crashes, finished", [(1, True), (2, False)])
def test_a_stage_killed_by_a_native_crash_runs_again_once(tmp_path, monkeypatch, crashes, finished):
    """s3prl dying of SIGABRT (libsox's heap corruption) reruns the stage once; a second crash is an error."""
    from types import SimpleNamespace

    from dpbench.superb import launching
    from dpbench.superb.run import _run_stage
    from dpbench.superb.tasks.base import Stage

    count = tmp_path / "attempts"
    code = (
        "import os, pathlib, sys; p = pathlib.Path(sys.argv[1]); n = int(p.read_text()) if p.exists() else 0; "
        f"p.write_text(str(n + 1)); print('attempt', n + 1, flush=True); os.abort() if n < {crashes} else None"
    )
    monkeypatch.setattr(launching, "command", lambda argv: [sys.executable, "-c", code, str(count)])
    stage = Stage("train", ["runner"])
    options = SimpleNamespace(device="cpu", quiet=True)
    if finished:
        _run_stage(stage, tmp_path / "run", options, "KS")
        assert (tmp_path / "run" / ".train.done").is_file()
    else:
        with pytest.raises(DpbenchError, match="exit code -6"):
            _run_stage(stage, tmp_path / "run", options, "KS")
        assert not (tmp_path / "run" / ".train.done").exists()
    assert count.read_text() == "2"
    assert (tmp_path / "run" / "train.log").read_text().count("\nattempt ") == 2
