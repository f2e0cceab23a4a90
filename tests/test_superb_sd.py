"""SD: the synthetic LibriMix corpus (Kaldi files against each other and the audio), the task's data
view and result parsing, and one end-to-end `dpbench superb --task SD` through s3prl's SuperbSD."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from dpbench.data.synth import synthesize
from dpbench.data.synth.librimix import FRAME, SPLITS, speech_segments
from dpbench.errors import DpbenchError
from dpbench.superb.configs import CONFIG_DIR
from dpbench.superb.corpora.librimix import kaldi_view
from dpbench.superb.der import read_rttm, score
from dpbench.superb.tasks import get_task
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.upstream_spec import UpstreamSpec


@pytest.fixture(scope="module")
def librimix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic LibriMix corpus (only this corpus, so it takes about a second)."""
    out = tmp_path_factory.mktemp("synth") / "tiny"
    synthesize(out, size="tiny", seed=0, workers=1, corpora=["librimix"])
    return out


def table(path: Path) -> dict[str, list[str]]:
    """A Kaldi file as {first field: other fields}."""
    return {fields[0]: fields[1:] for fields in (line.split() for line in path.read_text().splitlines())}


def activity(data: Path) -> dict[str, np.ndarray]:
    """Per recording, speakers talking in each 10 ms frame, from `segments` and `reco2dur`."""
    counts = {reco: np.zeros(round(float(d[0]) * 100), int) for reco, d in table(data / "reco2dur").items()}
    for reco, start, end in table(data / "segments").values():
        counts[reco][round(float(start) * 100) : round(float(end) * 100)] += 1
    return counts


def test_kaldi_files_agree_with_each_other_and_the_audio(librimix: Path) -> None:
    root = librimix / "librimix"
    speakers_of_split = {}
    for split in SPLITS:
        data = root / "data" / split
        wavs, durations = table(data / "wav.scp"), table(data / "reco2dur")
        segments, utt2spk = table(data / "segments"), table(data / "utt2spk")
        assert wavs and set(wavs) == set(durations)
        for reco, (relpath,) in wavs.items():
            assert sf.info(str(root / relpath)).frames == round(float(durations[reco][0]) * 16000)
        assert set(segments) == set(utt2spk)
        speakers = defaultdict(set)
        for utt, (reco, start, end) in segments.items():
            assert 0.0 <= float(start) < float(end) <= float(durations[reco][0])
            speakers[reco].add(utt2spk[utt][0])
        assert set(speakers) == set(wavs) and all(len(s) == 2 for s in speakers.values())
        spk2utt = table(data / "spk2utt")
        assert {(utt, spk) for spk, utts in spk2utt.items() for utt in utts} == {(u, s[0]) for u, s in utt2spk.items()}
        rttm = sorted(
            (f[1], round(float(f[3]), 2), round(float(f[4]), 2), f[7])
            for f in map(str.split, (data / "rttm").read_text().splitlines())
        )
        expected = sorted(
            (reco, round(float(s), 2), round(float(e) - float(s), 2), utt2spk[utt][0])
            for utt, (reco, s, e) in segments.items()
        )
        assert rttm == expected
        speakers_of_split[split] = {spk for s in speakers.values() for spk in s}
    assert not speakers_of_split["train"] & speakers_of_split["dev"]
    assert not (speakers_of_split["train"] | speakers_of_split["dev"]) & speakers_of_split["test"]


def test_every_recording_has_silence_one_speaker_and_overlap(librimix: Path) -> None:
    for split in SPLITS:
        for reco, counts in activity(librimix / "librimix" / "data" / split).items():
            assert counts[0] == 0 and counts[-1] == 0, reco  # leading and trailing silence
            assert (counts == 1).any() and (counts == 2).any(), reco


def test_labelled_speech_is_where_the_energy_is(librimix: Path) -> None:
    root = librimix / "librimix"
    data = root / "data" / "test"
    for reco, counts in activity(data).items():
        audio, _ = sf.read(str(root / table(data / "wav.scp")[reco][0]), dtype="float32")
        rms = np.sqrt(np.mean(audio[: len(counts) * FRAME].reshape(len(counts), FRAME) ** 2, axis=1))
        assert np.median(rms[counts > 0]) > 3 * np.median(rms[counts == 0]), reco


def test_speech_segments_keep_short_pauses_and_split_long_ones() -> None:
    tone = np.sin(np.arange(16000) / 3.0).astype(np.float32)
    audio = np.concatenate([np.zeros(1600), tone[:8000], np.zeros(1600), tone[:3200], np.zeros(8000), tone[:1600]])
    assert speech_segments(audio) == [(10, 90), (140, 150)]


def test_same_seed_same_mixtures(librimix: Path, tmp_path: Path) -> None:
    synthesize(tmp_path, size="tiny", seed=0, workers=2, corpora=["librimix"])

    def digests(root: Path) -> dict[str, str]:
        return {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digests(tmp_path / "librimix") == digests(librimix / "librimix")


def test_kaldi_view_makes_wav_paths_absolute_and_names_missing_files(librimix: Path, tmp_path: Path) -> None:
    kaldi_view(librimix / "librimix", "dev", tmp_path / "dev")
    for _, (path,) in table(tmp_path / "dev" / "wav.scp").items():
        assert Path(path).is_absolute() and Path(path).is_file()
    assert (tmp_path / "dev" / "segments").read_text() == (librimix / "librimix/data/dev/segments").read_text()
    with pytest.raises(DpbenchError, match="reco2dur"):
        (tmp_path / "broken" / "data" / "dev").mkdir(parents=True)
        for name in ("wav.scp", "segments", "utt2spk"):
            (tmp_path / "broken" / "data" / "dev" / name).write_text("")
        kaldi_view(tmp_path / "broken", "dev", tmp_path / "out")


def fake_request(tmp_path: Path) -> RunRequest:
    return RunRequest(UpstreamSpec(name="x", entry="dpbench", ckpt=None, source="x"), tmp_path, tmp_path, "cpu")


def test_outcome_reads_scored_der_frame_der_and_dev_best(tmp_path: Path) -> None:
    # the shapes the test stages write: stage 2's result.yaml, stage 3's dscore.yaml, and the
    # trainer's valid_best/training_stats.yaml
    test_dir = tmp_path / "exp/evaluate/valid_best/test"
    test_dir.mkdir(parents=True)
    (test_dir / "result.yaml").write_text(yaml.safe_dump({"accuracy": 0.8125, "der": 0.3375}))
    grid = [
        {
            "threshold": 0.5,
            "median_filter": 1,
            "der": 30.0,
            "missed_s": 4.0,
            "false_alarm_s": 1.0,
            "confusion_s": 1.0,
            "scored_s": 20.0,
        },
        {
            "threshold": 0.4,
            "median_filter": 11,
            "der": 25.0,
            "missed_s": 2.0,
            "false_alarm_s": 2.0,
            "confusion_s": 1.0,
            "scored_s": 20.0,
        },
    ]
    (test_dir / "dscore.yaml").write_text(
        yaml.safe_dump({"der": 25.0, "threshold": 0.4, "median_filter": 11, "grid": grid})
    )
    stats = tmp_path / "exp/train/valid_best/training_stats.yaml"
    stats.parent.mkdir(parents=True)
    stats.write_text(
        yaml.safe_dump({"epoch": 12, "global_step": 100, "valid_best_metrics": {"accuracy": 0.79, "der": 0.3625}})
    )
    outcome = get_task("SD").outcome(fake_request(tmp_path), {}, {})
    assert outcome.value == pytest.approx(25.0)
    assert outcome.dev_value == pytest.approx(36.25)
    assert outcome.secondary == {"frame_der": pytest.approx(33.75)}
    assert outcome.details == pytest.approx(
        {
            "threshold": 0.4,
            "median_filter": 11.0,
            "missed": 10.0,
            "false_alarm": 10.0,
            "confusion": 5.0,
            "frame_accuracy": 81.25,
        }
    )
    (test_dir / "dscore.yaml").write_text(yaml.safe_dump({"der": 25.0}))
    with pytest.raises(DpbenchError, match="lacks"):
        get_task("SD").outcome(fake_request(tmp_path), {}, {})


def test_test_stages_run_inference_then_scoring(librimix: Path, tmp_path: Path) -> None:
    task = get_task("SD")
    request = RunRequest(UpstreamSpec(name="x", entry="dpbench", ckpt=None, source="x"), librimix, tmp_path, "cpu")
    config = yaml.safe_load((CONFIG_DIR / "sd_cpu.yaml").read_text())
    config.pop("dpbench")
    filled = task.prepare(request, config, {})
    assert Path(filled["prepare_data"]["data_dir"]) == tmp_path / "data"
    stages = task.stages(request, filled, {})
    train, test = (yaml.safe_load(Path(stage.argv[-1]).read_text()) for stage in stages)
    assert (train["start"], train["stop"]) == (0, 1)
    assert (test["start"], test["stop"]) == (2, 3)
    assert {stage.argv[1] for stage in stages} == {"dpbench.superb.backend.problems_sd:ScoredSD"}


@pytest.mark.slow
def test_sd_runs_through_s3prl_superb_sd(librimix: Path, tmp_path: Path) -> None:
    import torch

    from dpbench.models import build_encoder, save_encoder, tiny_config
    from dpbench.results import ResultsStore
    from dpbench.superb.cli import superb_command

    torch.manual_seed(0)
    ckpt = tmp_path / "tiny.pt"
    save_encoder(ckpt, build_encoder(tiny_config("hubert")))
    configs = tmp_path / "configs"
    configs.mkdir()
    config = yaml.safe_load((CONFIG_DIR / "sd_cpu.yaml").read_text())
    config["train"].update(total_steps=20, eval_step=10, save_step=10, log_step=5)
    (configs / "sd_cpu.yaml").write_text(yaml.safe_dump(config))
    args = [
        "--task",
        "SD",
        "--upstream",
        str(ckpt),
        "--data",
        str(librimix),
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(tmp_path / "results.jsonl"),
        "--config-dir",
        str(configs),
        "--quiet",
    ]
    outcome = CliRunner().invoke(superb_command, args)
    assert outcome.exit_code == 0, outcome.output + repr(outcome.exception)
    record, frame = ResultsStore(tmp_path / "results.jsonl").records()
    assert (record["task"], record["metric"], record["higher_is_better"], record["steps"]) == ("SD", "der", False, 20)
    assert (frame["task"], frame["metric"], frame["higher_is_better"]) == ("SD", "frame_der", False)
    assert frame["run_dir"] == record["run_dir"] and frame["dev_value"] is None
    run_dir = Path(record["run_dir"])
    test_dir = run_dir / "exp/evaluate/valid_best/test"
    result = yaml.safe_load((test_dir / "result.yaml").read_text())
    assert frame["value"] == pytest.approx(100 * result["der"])
    predictions = sorted(p.stem for p in (test_dir / "prediction").glob("*.pt"))
    assert predictions == sorted(table(librimix / "librimix/data/test/wav.scp"))
    # stage 3: an RTTM per threshold and median filter, each scored against s3prl's reference RTTM
    scored = yaml.safe_load((test_dir / "dscore.yaml").read_text())
    assert len(scored["grid"]) == 10 and len(list((test_dir / "score/rttm").glob("*.rttm"))) == 10
    assert record["value"] == pytest.approx(scored["der"]) == pytest.approx(min(s["der"] for s in scored["grid"]))
    assert record["value"] >= 0.0 and record["dev_value"] >= 0.0
    reference = read_rttm(run_dir / "exp/test.rttm")
    assert {turn.recording for turn in reference} == set(predictions)
    chosen = test_dir / f"score/rttm/threshold-{scored['threshold']}_median-{scored['median_filter']}.rttm"
    assert score(reference, read_rttm(chosen)).der == pytest.approx(record["value"])


def test_sd_records_are_accepted_by_the_report(tmp_path: Path) -> None:
    import pandas as pd

    from dpbench.report.paper import paper_records
    from dpbench.report.selection import validate_records
    from dpbench.superb.run import _metric_records

    record = {
        "task": "SD",
        "metric": "der",
        "value": 25.0,
        "dev_value": 36.25,
        "higher_is_better": False,
        "upstream": "x",
        "run_dir": str(tmp_path),
        "timestamp": 1.0,
        "secondary": {"frame_der": 33.75},
    }
    records = _metric_records(record, get_task("SD"))
    assert [(r["metric"], r["value"], r["higher_is_better"]) for r in records] == [
        ("der", 25.0, False),
        ("frame_der", 33.75, False),
    ]
    validate_records(pd.DataFrame(records), tmp_path / "results.jsonl")
    assert {r["metric"] for r in paper_records() if r["task"] == "SD"} == {"der"}  # the paper has no frame DER
