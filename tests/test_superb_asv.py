"""ASV (speaker verification): the synthetic trial list, s3prl's csvs from local metadata, result parsing,
and one end-to-end run through s3prl's SuperbASV on the tiny corpus."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from dpbench.data.synth import voxceleb1
from dpbench.data.synth.sizes import SIZES
from dpbench.errors import DpbenchError
from dpbench.results import ResultsStore
from dpbench.superb.cli import superb_command
from dpbench.superb.configs import CONFIG_DIR, load_config
from dpbench.superb.tasks.asv import ASV
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.upstream_spec import parse_upstream

TRIAL = re.compile(r"^([01]) (id(\d{5})/[A-Za-z0-9_-]{11}/\d{5}\.wav) (id(\d{5})/[A-Za-z0-9_-]{11}/\d{5}\.wav)$")
STEPS = 20


def read_trials(root: Path) -> list[tuple[int, str, str]]:
    lines = (root / voxceleb1.TRIAL_FILE).read_text().splitlines()
    matches = [TRIAL.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches) if not m][:3]
    return [(int(m.group(1)), m.group(2), m.group(4)) for m in matches]


def test_trial_list_is_real_format_balanced_and_on_test_speakers(tiny_corpus: Path) -> None:
    root = tiny_corpus / "voxceleb1"
    trials = read_trials(root)
    labels = [label for label, _, _ in trials]
    assert labels.count(1) == labels.count(0) > 0
    assert len({(a, b) for _, a, b in trials}) == len(trials)  # no repeated trial
    speakers = {uid.split("/")[0] for _, a, b in trials for uid in (a, b)}
    assert len(speakers) >= 2 and all(10270 <= int(s[2:]) <= 10309 for s in speakers)
    for label, a, b in trials:
        assert (root / "test" / "wav" / a).is_file() and (root / "test" / "wav" / b).is_file()
        assert (a.split("/")[0] == b.split("/")[0]) == bool(label)
        if label:  # every tiny test speaker has several videos: target trials cross them, as in the real list
            assert a.split("/")[1] != b.split("/")[1]


def test_verification_speakers_leave_identification_data_unchanged() -> None:
    spec = SIZES["tiny"]
    without = voxceleb1.plan(dataclasses.replace(spec, vox_verification_speakers=0), seed=0)
    jobs = voxceleb1.plan(spec, seed=0)
    identification = [job for job in jobs if job.meta["code"] is not None]
    assert identification == without
    extra = [job for job in jobs if job.meta["code"] is None]
    assert len({job.meta["speaker"] for job in extra}) == spec.vox_verification_speakers
    assert all(job.relpath.startswith("test/wav/") for job in extra)
    assert not {job.meta["speaker"] for job in extra} & {job.meta["speaker"] for job in without}


def test_make_trials_balances_and_needs_two_speakers() -> None:
    a, b, c = "id10270/aaaaaaaaaaa/00001.wav", "id10271/bbbbbbbbbbb/00001.wav", "id10270/ccccccccccc/00001.wav"
    trials = voxceleb1.make_trials([a, b, c])
    assert sorted(label for label, _, _ in trials) == [0, 1]
    assert (1, a, c) in trials  # the only target pair
    assert trials == voxceleb1.make_trials([c, b, a])  # same utterances, same trials
    with pytest.raises(DpbenchError, match="at least 2 test speakers"):
        voxceleb1.make_trials([a, c])


def test_local_prepare_writes_s3prl_csvs(tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dpbench.superb.backend import shims

    for name in ("CUDA_VISIBLE_DEVICES", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"):  # restored after the test
        monkeypatch.setenv(name, os.environ.get(name, ""))
    shims.use_device("cpu")  # importing the backend applied s3prl's shims
    from dpbench.superb.backend.problems_asv import LocalASV

    root = tiny_corpus / "voxceleb1"
    local = {
        "dataset_root": str(root),
        "split_file": str(root / "iden_split.txt"),
        "trial_file": str(root / voxceleb1.TRIAL_FILE),
    }
    train_csv, (test_csv,) = LocalASV().prepare_data(local, str(tmp_path), str(tmp_path / "cache"))
    train = pd.read_csv(train_csv)
    speakers = sorted({Path(p).parts[-3] for p in train["wav_path"]})
    assert speakers and all(not 10270 <= int(s[2:]) <= 10309 for s in speakers)  # test speakers never train
    assert sorted(set(train["spk"])) == list(range(len(speakers)))
    split_lines = (root / "iden_split.txt").read_text().split()
    assert len(train) == sum(1 for rel in split_lines[1::2] if rel.split("/")[0] in speakers)
    assert all(Path(p).is_file() and "/dev/wav/" in p for p in train["wav_path"])
    test = pd.read_csv(test_csv)
    trials = read_trials(root)
    assert list(test["label"]) == [label for label, _, _ in trials]
    assert list(test["id1"]) == [a.replace("/", "-") for _, a, _ in trials]  # s3prl's VoxCeleb1SV utterance ids
    assert all(Path(p).is_file() for p in [*test["wav_path1"], *test["wav_path2"]])


def request_for(tmp_path: Path, data_root: Path) -> RunRequest:
    return RunRequest(parse_upstream("tiny-hubert"), data_root, tmp_path / "run", "cpu")


def test_fill_sets_paths_and_checks_config(tiny_corpus: Path, tmp_path: Path) -> None:
    config, _ = load_config("asv", "cpu", CONFIG_DIR)
    filled = ASV().fill(request_for(tmp_path, tiny_corpus), config)
    assert Path(filled["prepare_data"]["trial_file"]).name == voxceleb1.TRIAL_FILE
    assert Path(filled["prepare_data"]["split_file"]).is_file()
    stages = ASV().stages(request_for(tmp_path, tiny_corpus), filled, {})
    assert stages[-1].requires == [tmp_path / "run" / "exp" / "train" / f"step_{config['train']['total_steps']}"]
    config["train"]["save_step"] = 7
    with pytest.raises(DpbenchError, match="save_step"):
        ASV().fill(request_for(tmp_path, tiny_corpus), config)
    bare = tmp_path / "bare" / "voxceleb1"
    bare.mkdir(parents=True)
    (bare / "iden_split.txt").write_text((tiny_corpus / "voxceleb1" / "iden_split.txt").read_text())
    with pytest.raises(DpbenchError, match="veri_test2"):
        ASV().fill(request_for(tmp_path, bare.parent), load_config("asv", "cpu", CONFIG_DIR)[0])


def test_outcome_reads_best_checkpoint_eer_in_percent(tmp_path: Path) -> None:
    results = tmp_path / "run" / "exp" / "evaluate" / "test_trial"
    # what SuperbASV stage 3 writes per checkpoint, and stage 4's best_result.yaml
    for step, eer in (("step_10", 0.43749999999999865), ("step_20", 0.3749999999997278)):
        (results / step).mkdir(parents=True)
        (results / step / "result.yaml").write_text(
            yaml.safe_dump({"EER": eer, "EERthreshold": 0.91, "minDCF": 0.97, "minDCF_threshold": 0.99})
        )
    (results / "best_result.yaml").write_text(yaml.safe_dump({"EER": 0.3749999999997278}))
    outcome = ASV().outcome(request_for(tmp_path, tmp_path), {}, {})
    assert outcome.value == pytest.approx(37.5)
    assert outcome.dev_value == outcome.value  # no validation set: SUPERB picks by the test trials
    assert outcome.details == pytest.approx({"step_10": 43.75, "step_20": 37.5})


@pytest.mark.slow
def test_asv_end_to_end_on_tiny_corpus(tiny_corpus: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "asv_cpu.yaml").read_text())
    config["train"].update(total_steps=STEPS, save_step=STEPS // 2, log_step=5)
    config["build_batch_sampler"]["train"]["batch_size"] = 4
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "asv_cpu.yaml").write_text(yaml.safe_dump(config))
    args = [
        "--task",
        "ASV",
        "--upstream",
        "tiny-hubert",
        "--data",
        str(tiny_corpus),
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(tmp_path / "results.jsonl"),
        "--config-dir",
        str(configs),
        "--quiet",
    ]
    result = CliRunner().invoke(superb_command, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    (record,) = ResultsStore(tmp_path / "results.jsonl").records()
    assert (record["task"], record["metric"], record["higher_is_better"]) == ("ASV", "eer", False)
    assert record["steps"] == STEPS
    assert 0.0 <= record["value"] <= 100.0 and record["dev_value"] == record["value"]
    assert set(record["details"]) == {"step_10", "step_20"}
    assert min(record["details"].values()) == pytest.approx(record["value"])
    # every trial's score was kept, and the EER's interval resamples them (read_items checked the EER matches)
    assert record["n_items"] == len(read_trials(tiny_corpus / "voxceleb1"))
    assert record["ci_low"] <= record["value"] <= record["ci_high"]
    exp = Path(record["run_dir"]) / "exp"
    assert (exp / "evaluate" / "test_trial" / "best_result.yaml").is_file()
    assert len(pd.read_csv(exp / "test_trial.csv")) == len(read_trials(tiny_corpus / "voxceleb1"))
