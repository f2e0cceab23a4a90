"""Per-test-item results read from what s3prl itself writes, for the bootstrap in `dpbench.stats`.

Task   s3prl's per-item output                                   item parts (num, den)
KS     legacy runner `test_predict.txt` + `test_truth.txt`       (correct, 1) per utterance
SID    the same files (speaker ids)                              (correct, 1) per utterance
IC     `test_predict.csv` + `test_truth.csv` (action,object,loc)  (all three right, 1) per utterance
ER     `test_<fold>_predict.txt` + `..._truth.txt` per fold       (correct, 1), grouped by fold
ASR    problem API `hyp` + `ref` next to `result.yaml`           (word edits, reference words)
PR     the same files (phone strings)                             (phone edits, reference phones)
SF     the same files (text with slot tags)                       (s3prl's slot_type_f1 of the utterance, 1)
ASV    `trial_scores.csv` that dpbench's LocalASV task writes next to each checkpoint's result.yaml
       (s3prl scores trials in memory only)                      (score, label) per trial, EER statistic
QbE    none yet: s3prl's `benchmark.stdlist.xml` scores every query-document pair, but MTWV maximises over
       thresholds a sum over all pairs (a full rescoring per resample), and with the official scorer
       dpbench's own MTWV is not the reported value
SD     `dscore.yaml` of dpbench's scoring stage: per recording of the   (error seconds, scored seconds)
       best threshold / median filter, md-eval's counts                 per recording

SF's slot-value CER (a secondary metric) pools characters across utterances in s3prl's code and
gets no interval either. Each reader checks that its items reproduce the value s3prl reported."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import editdistance
import numpy as np
import yaml

from dpbench.errors import DpbenchError
from dpbench.stats import Items
from dpbench.superb.tasks.asv import TEST_NAME as ASV_TEST_NAME
from dpbench.superb.tasks.er import ALL_FOLDS
from dpbench.superb.tasks.sd import SCORE_FILE as SD_SCORE_FILE
from dpbench.superb.tasks.sd import read_score as read_sd_score
from dpbench.superb.tasks.sf import TEST_NAME as SF_TEST_NAME

# (run folder, filled config, settings, reported value in percent) -> items, or None when absent
Reader = Callable[[Path, dict, dict, float], Items | None]
_READERS: dict[str, Reader] = {}
ITEMS_FILE = "test_items.json"
TRIAL_SCORES = "trial_scores.csv"  # label,enroll,test,score per ASV test trial (backend/problems_asv.py writes it)


def register(task: str, reader: Reader) -> None:
    """Make `reader` the per-item source of `task`."""
    _READERS[task] = reader


def read_items(task: str, run_dir: Path, config: dict, settings: dict, value: float) -> Items | None:
    """The task's per-item results, checked against its reported `value`; None where it has none."""
    reader = _READERS.get(task)
    if reader is None:
        return None
    items = reader(run_dir, config, settings, value)
    if items is not None and abs(items.value - value) > 1e-6 * max(1.0, abs(value)):
        raise DpbenchError(
            f"{task} in {run_dir}: the per-item results give {items.value:.6f}, but s3prl reported "
            f"{value:.6f}; the prediction files do not belong to this evaluation: rerun it"
        )
    return items


def _pairs(path: Path, separator: str | None) -> dict[str, str]:
    """`<id><sep><rest>` lines of one prediction or truth file."""
    if not path.is_file():
        raise DpbenchError(f"s3prl wrote no {path}: the evaluation stage did not finish; rerun to resume")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return dict(line.split(separator, 1) for line in lines)


def _classification(predict: Path, truth: Path, separator: str | None, group: str = "") -> Items:
    predicted, expected = _pairs(predict, separator), _pairs(truth, separator)
    if set(predicted) != set(expected):
        raise DpbenchError(f"{predict} and {truth} list different utterances")
    ids = tuple(sorted(expected))
    correct = np.array([float(predicted[i].split() == expected[i].split()) for i in ids])
    return Items(
        tuple(f"{group}/{i}" if group else i for i in ids),
        correct,
        np.ones(len(ids)),
        groups=(group,) * len(ids) if group else (),
    )


def _runner_dir(run_dir: Path, variant: str = "") -> Path:
    return (run_dir / variant if variant else run_dir) / "evaluate"


def _runner_txt(run_dir: Path, config: dict, settings: dict, value: float) -> Items:
    folder = _runner_dir(run_dir)
    return _classification(folder / "test_predict.txt", folder / "test_truth.txt", None)


def _intent(run_dir: Path, config: dict, settings: dict, value: float) -> Items:
    folder = _runner_dir(run_dir)
    return _classification(folder / "test_predict.csv", folder / "test_truth.csv", ",")


def _emotion(run_dir: Path, config: dict, settings: dict, value: float) -> Items:
    folds = [
        _classification(
            _runner_dir(run_dir, fold) / f"test_{fold}_predict.txt",
            _runner_dir(run_dir, fold) / f"test_{fold}_truth.txt",
            None,
            group=fold,
        )
        for fold in settings.get("folds") or ALL_FOLDS
    ]
    if len(folds) == 1:
        only = folds[0]
        return Items(only.ids, only.num, only.den)
    return Items(
        sum((f.ids for f in folds), ()),
        np.concatenate([f.num for f in folds]),
        np.concatenate([f.den for f in folds]),
        groups=sum((f.groups for f in folds), ()),
    )


def _hyp_ref(run_dir: Path, test_name: str) -> tuple[tuple[str, ...], list[str], list[str]]:
    folder = run_dir / "exp" / "evaluate" / "valid_best" / test_name
    hyps, refs = _pairs(folder / "hyp", " "), _pairs(folder / "ref", " ")
    if set(hyps) != set(refs):
        raise DpbenchError(f"{folder}: hyp and ref list different utterances")
    ids = tuple(sorted(refs))
    return ids, [hyps[i] for i in ids], [refs[i] for i in ids]


def _edits(run_dir: Path, config: dict, settings: dict, value: float) -> Items:
    """Word (ASR) or phone (PR) edits per utterance, tokenised as s3prl's `wer` / `per` do."""
    ids, hyps, refs = _hyp_ref(run_dir, config["prepare_data"]["test_sets"][0])
    pairs = [(h.split(" "), r.split(" ")) for h, r in zip(hyps, refs)]
    return Items(
        ids, np.array([float(editdistance.eval(h, r)) for h, r in pairs]), np.array([float(len(r)) for _, r in pairs])
    )


def _slot_f1(run_dir: Path, config: dict, settings: dict, value: float) -> Items:
    from dpbench.superb.backend.metrics import slot_type_f1  # s3prl's own F1; imported here, it takes seconds

    ids, hyps, refs = _hyp_ref(run_dir, SF_TEST_NAME)
    return Items(ids, np.array([slot_type_f1([h], [r]) for h, r in zip(hyps, refs)]), np.ones(len(ids)))


def _trials(run_dir: Path, config: dict, settings: dict, value: float) -> Items | None:
    """The trials of the checkpoint with the lowest test EER: the one SuperbASV reports."""
    folder = run_dir / "exp" / "evaluate" / ASV_TEST_NAME
    best = min(
        folder.glob("*/result.yaml"),
        default=None,
        key=lambda path: float(yaml.safe_load(path.read_text(encoding="utf-8"))["EER"]),
    )
    if best is None:
        raise DpbenchError(f"{folder} has no step_*/result.yaml: the ASV test stage did not finish; rerun to resume")
    scores = best.parent / TRIAL_SCORES
    if not scores.is_file():
        return None  # a run tested before dpbench kept trial scores
    with open(scores, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return Items(
        tuple(f"{i}:{row['enroll']}|{row['test']}" for i, row in enumerate(rows)),
        np.array([float(row["score"]) for row in rows]),
        np.array([float(row["label"]) for row in rows]),
        groups=tuple(row["label"] for row in rows),
        statistic="eer",
    )


def _recordings(run_dir: Path, config: dict, settings: dict, value: float) -> Items | None:
    """Error and scored speaker time per test recording, at the threshold and median filter reported."""
    scored = read_sd_score(run_dir / "exp" / "evaluate" / "valid_best" / "test" / SD_SCORE_FILE)
    recordings = scored.get("recordings")
    if recordings is None:
        return None  # scored before dpbench kept per-recording counts
    names = tuple(sorted(recordings))
    return Items(
        names,
        np.array([float(recordings[n]["error_s"]) for n in names]),
        np.array([float(recordings[n]["scored_s"]) for n in names]),
    )


for _task, _reader in (
    ("KS", _runner_txt),
    ("SID", _runner_txt),
    ("IC", _intent),
    ("ER", _emotion),
    ("ASR", _edits),
    ("PR", _edits),
    ("SF", _slot_f1),
    ("ASV", _trials),
    ("SD", _recordings),
):
    register(_task, _reader)
