"""SF: the synthetic Audio SNIPS corpus as s3prl's SuperbSF reads it, the task's config filling and
result parsing, and (slow) one `dpbench superb --task SF` run through s3prl on the tiny corpus."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml
from click.testing import CliRunner

from dpbench.data.synth import snips, synthesize
from dpbench.data.synth.sizes import SIZES
from dpbench.errors import DpbenchError
from dpbench.superb.configs import CONFIG_DIR, load_config
from dpbench.superb.tasks import get_task
from dpbench.superb.tasks.base import RunRequest

SPEC = SIZES["tiny"]
STEPS = 20


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic corpus with only `snips/` in it."""
    out = tmp_path_factory.mktemp("sf") / "tiny"
    synthesize(out, size="tiny", seed=0, workers=1, corpora=["snips"])
    return out


@pytest.fixture(scope="module")
def csvs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> list[pd.DataFrame]:
    """train/valid/test as s3prl's `audio_snips_for_slot_filling` writes them (SUPERB's speaker lists)."""
    from dpbench.superb.backend import shims

    shims.use_device("cpu")  # the import applied the shims, before the first s3prl.problem import
    from s3prl.problem.asr.superb_sf import audio_snips_for_slot_filling

    lists = {f"{split}_speakers": [name for name, _ in snips.SPEAKERS[split]] for split in snips.SPLITS}
    target = tmp_path_factory.mktemp("sf_csv")
    paths = audio_snips_for_slot_filling(str(target), None, str(corpus / "snips"), **lists)
    return [pd.read_csv(paths[0]), pd.read_csv(paths[1]), pd.read_csv(paths[2][0])]


def test_s3prl_reads_every_utterance_with_disjoint_speakers(corpus: Path, csvs: list[pd.DataFrame]) -> None:
    root = corpus / "snips"
    expected = [n * u for n, u in zip(SPEC.snips_speakers, SPEC.snips_utterances)]
    assert [len(frame) for frame in csvs] == expected
    assert [len(list((root / split).glob("*.wav"))) for split in snips.SPLITS] == expected
    speakers = [set(frame["speaker"]) for frame in csvs]
    assert [len(s) for s in speakers] == list(SPEC.snips_speakers)
    assert not (speakers[0] & speakers[1] or speakers[0] & speakers[2] or speakers[1] & speakers[2])
    for frame, split in zip(csvs, snips.SPLITS):
        assert set(frame["corpus_split"]) == {split}
        assert all(uid.split("-")[1:3] == ["snips", split] for uid in frame["id"])
        info = sf.info(frame["wav_path"].iloc[0])
        assert (info.samplerate, info.channels) == (16000, 1)
    lines = (root / snips.TRANSCRIPTS).read_text().splitlines()
    assert len(lines) == sum(expected)
    assert (root / snips.SLOTS).read_text().splitlines()[0] == "O"


def test_tags_align_with_words_and_encode_to_slot_tokens(csvs: list[pd.DataFrame]) -> None:
    from s3prl.dataio.encoder.tokenizer import CharacterSlotTokenizer
    from s3prl.metric.slot_filling import get_slot_dict, slot_type_f1

    frames = pd.concat(csvs)
    tags = sorted({tag for line in frames["iob"] for tag in line.split(" ")} - {"O"})
    chars = sorted({c for text in frames["transcription"] for c in text})
    tokenizer = CharacterSlotTokenizer(chars, [f"{p}-{t}" for t in tags for p in "BE"])
    refs = []
    for text, iob, intent in zip(frames["transcription"], frames["iob"], frames["intent"]):
        words, labels = text.split(" "), iob.split(" ")
        assert len(words) == len(labels) and text == text.upper() and intent in snips.TEMPLATES
        ref = tokenizer.decode(tokenizer.encode(text, iob))
        slots, _ = get_slot_dict(ref, ref)
        spans: dict[str, list[str]] = {}
        for i, (word, label) in enumerate(zip(words, labels)):
            if label != "O":
                if i == 0 or labels[i - 1] != label:
                    spans.setdefault(label, []).append(word)
                else:
                    spans[label][-1] += f" {word}"
        assert slots == spans, ref
        refs.append(ref)
    assert slot_type_f1(refs, refs) == 1.0 and slot_type_f1([""] * len(refs), refs) == 0.0


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_valid_and_test_slot_type_and_intent_occurs_in_train(size: str) -> None:
    jobs = snips.plan(SIZES[size], seed=0)
    seen = {
        split: {tag for job in jobs if job.meta["split"] == split for tag in job.meta["tags"]} for split in snips.SPLITS
    }
    intents = {split: {job.meta["intent"] for job in jobs if job.meta["split"] == split} for split in snips.SPLITS}
    assert seen["valid"] <= seen["train"] and seen["test"] <= seen["train"]
    assert intents["train"] == set(snips.TEMPLATES)
    assert seen["train"] - {"O"} == set(snips.VALUES)  # train covers every slot type of the grammar
    assert all(len(job.text.split(" ")) == len(job.meta["tags"]) for job in jobs)


def test_plan_depends_only_on_the_seed() -> None:
    first, again, other = (snips.plan(SPEC, seed) for seed in (0, 0, 1))
    assert first == again and [j.text for j in first] != [j.text for j in other]


def test_too_many_speakers_is_a_clear_error() -> None:
    with pytest.raises(DpbenchError, match="SUPERB's valid list has 4"):
        snips.speakers("valid", 5)


def _request(data_root: Path, run_dir: Path) -> RunRequest:
    return RunRequest(upstream=None, data_root=data_root, run_dir=run_dir, device="cpu")  # type: ignore[arg-type]


def test_fill_points_at_the_corpus_and_keeps_the_speakers_it_has(corpus: Path, tmp_path: Path) -> None:
    task = get_task("SF")
    assert (task.name, task.stem, task.metric, task.higher_is_better, task.corpus) == ("SF", "sf", "f1", True, "snips")
    assert task.secondary_metrics == {"cer": False}
    config, settings = load_config("sf", "cpu")
    filled = task.fill(_request(corpus, tmp_path), config)
    data = filled["prepare_data"]
    assert data["dataset_root"] == str(corpus / "snips")
    assert data["train_speakers"] == ["Ivy", "Joanna"]
    assert (data["valid_speakers"], data["test_speakers"]) == (["Aditi"], ["Brian"])
    assert config["prepare_data"]["valid_speakers"] == ["Aditi", "Amy", "Geraint", "Nicole"]  # not modified
    assert settings["lr_sweep"] and load_config("sf", "paper")[0]["train"]["total_steps"] == 200000

    config["prepare_data"]["test_speakers"] = ["Emma"]
    with pytest.raises(DpbenchError, match="no test audio .* holds Brian"):
        task.fill(_request(corpus, tmp_path), config)
    with pytest.raises(DpbenchError, match="snips"):
        task.fill(_request(tmp_path, tmp_path), config)


def test_outcome_reads_s3prl_result_and_best_valid(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    result = {
        "cer": 0.05,
        "loss": 0.4,
        "slot_edit_f1_full": 0.7,
        "slot_edit_f1_part": 0.72,
        "slot_type_f1": 0.9,
        "slot_value_cer": 0.12,
        "slot_value_wer": 0.3,
        "wer": 0.2,
    }
    (exp / "evaluate/valid_best/test").mkdir(parents=True)
    (exp / "evaluate/valid_best/test/result.yaml").write_text(yaml.safe_dump(result))
    (exp / "train/valid_best").mkdir(parents=True)
    stats = {"epoch": 3, "global_step": 400, "valid_best_metrics": {**result, "slot_type_f1": 0.85}}
    (exp / "train/valid_best/training_stats.yaml").write_text(yaml.safe_dump(stats))
    outcome = get_task("SF").outcome(_request(tmp_path, tmp_path), {}, {})
    assert outcome.value == pytest.approx(90.0) and outcome.dev_value == pytest.approx(85.0)
    assert outcome.secondary == {"cer": pytest.approx(12.0)}
    assert outcome.details["slot_value_cer"] == pytest.approx(12.0)
    assert outcome.details["text_wer"] == pytest.approx(20.0) and "loss" not in outcome.details
    (exp / "evaluate/valid_best/test/result.yaml").unlink()
    with pytest.raises(DpbenchError, match="result.yaml"):
        get_task("SF").outcome(_request(tmp_path, tmp_path), {}, {})


@pytest.mark.slow
def test_sf_runs_through_s3prl_and_records_f1_and_cer(corpus: Path, tmp_path: Path) -> None:
    from dpbench.models import build_encoder, save_encoder, tiny_config
    from dpbench.results import ResultsStore
    from dpbench.superb.cli import superb_command

    torch.manual_seed(0)
    save_encoder(tmp_path / "tiny.pt", build_encoder(tiny_config("hubert")))
    config = yaml.safe_load((CONFIG_DIR / "sf_cpu.yaml").read_text())
    config["train"].update(total_steps=STEPS, eval_step=STEPS // 2, save_step=STEPS // 2, log_step=5)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "sf_cpu.yaml").write_text(yaml.safe_dump(config))
    args = [
        "--task",
        "SF",
        "--upstream",
        str(tmp_path / "tiny.pt"),
        "--data",
        str(corpus),
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(tmp_path / "results.jsonl"),
        "--config-dir",
        str(tmp_path / "configs"),
        "--quiet",
    ]
    run = CliRunner().invoke(superb_command, args)
    assert run.exit_code == 0, run.output + repr(run.exception)

    records = {r["metric"]: r for r in ResultsStore(tmp_path / "results.jsonl").records()}
    assert set(records) == {"f1", "cer"} and {r["task"] for r in records.values()} == {"SF"}
    run_dir = Path(records["f1"]["run_dir"])
    result = yaml.safe_load((run_dir / "exp/evaluate/valid_best/test/result.yaml").read_text())
    assert records["f1"]["value"] == pytest.approx(100 * result["slot_type_f1"])
    assert records["cer"]["value"] == pytest.approx(100 * result["slot_value_cer"])
    assert (records["f1"]["higher_is_better"], records["cer"]["higher_is_better"]) == (True, False)
    assert records["f1"]["steps"] == STEPS and 0.0 <= records["f1"]["value"] <= 100.0
    f1 = records["f1"]
    assert f1["n_items"] > 0 and f1["ci_low"] <= f1["value"] <= f1["ci_high"]
    assert records["cer"]["ci_low"] is None  # the slot-value CER pools characters: no per-item interval
