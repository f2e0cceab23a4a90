"""Per-item results from s3prl's own output files, and the interval they put on a SUPERB record."""

from __future__ import annotations

from pathlib import Path

import pytest
from s3prl.metric.common import per, wer
from s3prl.metric.slot_filling import slot_type_f1

from dpbench.errors import DpbenchError
from dpbench.records.schema import VERSION_KEY
from dpbench.records.superb_result import FIELDS, read_result
from dpbench.results import ResultsStore
from dpbench.superb.items import read_items
from dpbench.superb.run import RunOptions, run_task
from dpbench.superb.tasks.base import Outcome
from dpbench.superb.tasks.ks import KS
from dpbench.superb.upstream_spec import parse_upstream


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def _ks_files(run_dir: Path) -> None:
    """Three of four right, as s3prl's speech_commands expert writes them."""
    _write(run_dir / "evaluate" / "test_predict.txt", ["a.wav yes", "b.wav no", "c.wav up", "d.wav up"])
    _write(run_dir / "evaluate" / "test_truth.txt", ["a.wav yes", "b.wav no", "c.wav up", "d.wav down"])


def test_classification_items_from_runner_prediction_files(tmp_path: Path) -> None:
    _ks_files(tmp_path)
    items = read_items("KS", tmp_path, {}, {}, 75.0)
    assert items.ids == ("a.wav", "b.wav", "c.wav", "d.wav") and items.num.tolist() == [1, 1, 1, 0]
    with pytest.raises(DpbenchError, match="do not belong to this evaluation"):
        read_items("KS", tmp_path, {}, {}, 50.0)


def test_intent_items_need_all_three_slots(tmp_path: Path) -> None:
    folder = tmp_path / "evaluate"
    _write(folder / "test_predict.csv", ["x.wav,activate,lights,kitchen", "y.wav,change language,none,none"])
    _write(folder / "test_truth.csv", ["x.wav,activate,lights,bedroom", "y.wav,change language,none,none"])
    assert read_items("IC", tmp_path, {}, {}, 50.0).num.tolist() == [0.0, 1.0]


def test_emotion_folds_are_groups(tmp_path: Path) -> None:
    for fold, predicted in (("fold1", ["ang", "hap"]), ("fold2", ["sad", "sad", "sad", "neu"])):
        truth = ["ang", "neu"] if fold == "fold1" else ["sad", "sad", "sad", "sad"]
        folder = tmp_path / fold / "evaluate"
        _write(folder / f"test_{fold}_predict.txt", [f"u{i}.wav {p}" for i, p in enumerate(predicted)])
        _write(folder / f"test_{fold}_truth.txt", [f"u{i}.wav {t}" for i, t in enumerate(truth)])
    items = read_items("ER", tmp_path, {}, {"folds": ["fold1", "fold2"]}, (50.0 + 75.0) / 2)
    assert set(items.groups) == {"fold1", "fold2"} and len(items.ids) == 6


def test_error_rate_items_reproduce_s3prls_wer_per_and_slot_f1(tmp_path: Path) -> None:
    refs = ["the cat sat", "a dog", "hello there world"]
    hyps = ["the cat sat down", "", "hello world"]
    folder = tmp_path / "exp" / "evaluate" / "valid_best" / "test-clean"
    _write(folder / "hyp", [f"u{i} {h}" for i, h in enumerate(hyps)])
    _write(folder / "ref", [f"u{i} {r}" for i, r in enumerate(refs)])
    config = {"prepare_data": {"test_sets": ["test-clean"]}}
    items = read_items("ASR", tmp_path, config, {}, 100 * wer(hyps, refs))
    assert items.num.tolist() == [1, 2, 1] and items.den.tolist() == [3, 2, 3]  # edits, reference words
    assert read_items("PR", tmp_path, config, {}, 100 * per(hyps, refs)).value == pytest.approx(100 * 4 / 8)

    slot_refs = ["B-date tomorrow E-date", "play B-song x E-song"]
    slot_hyps = ["B-date tomorrow E-date", "play"]
    sf = tmp_path / "sf" / "exp" / "evaluate" / "valid_best" / "test"
    _write(sf / "hyp", [f"s{i} {h}" for i, h in enumerate(slot_hyps)])
    _write(sf / "ref", [f"s{i} {r}" for i, r in enumerate(slot_refs)])
    f1 = 100 * slot_type_f1(slot_hyps, slot_refs)
    assert read_items("SF", tmp_path / "sf", {}, {}, f1).num.tolist() == [1.0, 0.0]


def test_tasks_without_per_item_output_get_no_items(tmp_path: Path) -> None:
    assert read_items("QbE", tmp_path, {}, {}, 10.0) is None


def test_asv_trials_of_the_best_checkpoint(tmp_path: Path) -> None:
    from s3prl.metric.common import compute_eer

    folder = tmp_path / "exp" / "evaluate" / "test_trial"
    labels, good, bad = [1, 1, 0, 0, 1, 0], [0.9, 0.8, 0.1, 0.3, 0.2, 0.25], [0.1, 0.2, 0.9, 0.8, 0.5, 0.6]
    for step, scores in (("step_10", bad), ("step_20", good)):
        eer = compute_eer(labels, scores)[0]
        _write(folder / step / "result.yaml", [f"EER: {eer!r}"])
        _write(
            folder / step / "trial_scores.csv",
            ["label,enroll,test,score"]
            + [f"{lab},e{i},t{i},{sc!r}" for i, (lab, sc) in enumerate(zip(labels, scores))],
        )
    best = 100 * compute_eer(labels, good)[0]
    items = read_items("ASV", tmp_path, {}, {}, best)
    assert items.statistic == "eer" and items.value == pytest.approx(best) and items.num.tolist() == good
    (folder / "step_20" / "trial_scores.csv").unlink()
    assert read_items("ASV", tmp_path, {}, {}, best) is None  # tested before dpbench kept the scores


class _EvaluatedKS(KS):
    """KS whose s3prl stages already ran: the prediction files are in place, nothing is launched."""

    def prepare(self, request, config, settings):
        _ks_files(request.run_dir)
        return config

    def stages(self, request, config, settings):
        return []

    def outcome(self, request, config, settings):
        return Outcome(value=75.0, dev_value=80.0)


def test_a_record_carries_its_interval_seed_and_items(tmp_path: Path) -> None:
    options = RunOptions(parse_upstream("s3prl:fbank"), tmp_path, tmp_path / "runs", store=tmp_path / "r.jsonl", seed=3)
    record = run_task(_EvaluatedKS(), options, 1e-3)
    assert set(record) <= {*FIELDS, VERSION_KEY}
    assert read_result(Path(record["run_dir"]) / "result.json").to_json() == record  # what it wrote reads back
    assert record["seed"] == 3 and record["run_dir"].endswith("lr0.001-seed3")
    assert record["n_items"] == 4 and 0.0 <= record["ci_low"] <= 75.0 <= record["ci_high"] <= 100.0
    assert Path(record["items_path"]).is_file()
    assert ResultsStore(tmp_path / "r.jsonl").records()[0]["ci_high"] == record["ci_high"]


def test_seeds_option_runs_each_seed_and_picks_the_rate_by_mean_dev_value(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from dpbench.superb import cli

    calls = []

    def fake_run_task(task, options, lr):
        calls.append((options.seed, lr))
        dev = {1e-3: 50.0, 1e-4: 60.0}[lr] + (options.seed or 0)
        return {
            "task": task.name,
            "metric": "accuracy",
            "value": dev,
            "dev_value": dev,
            "lr": lr,
            "wall_time_s": 1.0,
            "run_dir": str(tmp_path),
        }

    monkeypatch.setattr(cli, "run_task", fake_run_task)
    args = [
        "--task",
        "KS",
        "--upstream",
        "s3prl:fbank",
        "--data",
        str(tmp_path),
        "--lr",
        "1e-3,1e-4",
        "--seed",
        "5",
        "--seeds",
        "2",
        "--results",
        str(tmp_path / "r.jsonl"),
    ]
    result = CliRunner().invoke(cli.superb_command, args)
    assert result.exit_code == 0, result.output
    assert calls == [(5, 1e-3), (6, 1e-3), (5, 1e-4), (6, 1e-4)]
    assert "lr=0.0001" in result.output
    calls.clear()
    assert CliRunner().invoke(cli.superb_command, args[:-6] + ["--results", str(tmp_path / "r.jsonl")]).exit_code == 0
    assert calls == [(None, 1e-3), (None, 1e-4)]  # no --seed: s3prl's own default seed
