"""SD: two-speaker diarization on LibriMix-style mixtures (`s3prl.problem` SuperbSD), DER in percent.

The recorded DER is SUPERB's: the recipe's stage 3 turns the dev-best model's test posteriors into RTTMs
for each sigmoid threshold and median-filter size of the config's `scoring` grid and reports the lowest
time-weighted DER over all test recordings, scored like dscore (collar 0, overlap scored; see
`dpbench.superb.der`). SuperbSD's stage-2 frame DER (threshold 0.5, no median filter, averaged per
recording) is kept as the secondary record `frame_der`; the dev value that picks the checkpoint and the
learning rate is the dev frame DER, as in s3prl.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.superb.configs import with_paths
from dpbench.superb.parse import problem_best_valid, problem_result
from dpbench.superb.tasks.base import Outcome, RunRequest, require
from dpbench.superb.tasks.problem_task import ProblemTask

SPLITS = ("train", "dev", "test")  # the data directories SuperbSD.prepare_data reads
KALDI_FILES = ("wav.scp", "segments", "utt2spk", "reco2dur")  # what it needs; spk2utt and rttm are copied if present
TEST_STAGES = (2, 3)  # inference on the test set (result.yaml, prediction/), then scoring (dscore.yaml)
SCORE_FILE = "dscore.yaml"  # what s3prl's stage 3 writes per test set: der (percent), threshold, median_filter


class SD(ProblemTask):
    name = "SD"
    stem = "sd"
    metric = "der"
    higher_is_better = False
    corpus = "librimix"
    secondary_metrics = {"frame_der": False}  # SuperbSD's stage-2 frame DER, percent
    problem = "dpbench.superb.problems_sd:ScoredSD"
    train_stop = 1
    test_start, test_stop = TEST_STAGES

    def fill(self, request: RunRequest, config: dict) -> dict:
        source = self.corpus_dir(request.data_root, "data")
        view = request.run_dir / "data"
        for split in SPLITS:
            kaldi_view(source, split, view / split)
        return with_paths(config, {"prepare_data.data_dir": view})

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        exp = request.run_dir / "exp"
        test_dir = exp / "evaluate" / "valid_best" / "test"
        scored = read_score(test_dir / SCORE_FILE)
        best = next(setting for setting in scored["grid"]
                    if (setting["threshold"], setting["median_filter"]) == (scored["threshold"], scored["median_filter"]))
        share = 100.0 / best["scored_s"] if best["scored_s"] else 0.0
        return Outcome(
            value=float(scored["der"]),
            dev_value=100.0 * problem_best_valid(exp / "train", "der"),
            details={"threshold": float(best["threshold"]), "median_filter": float(best["median_filter"]),
                     "missed": share * best["missed_s"], "false_alarm": share * best["false_alarm_s"],
                     "confusion": share * best["confusion_s"],
                     "frame_accuracy": 100.0 * problem_result(test_dir / "result.yaml", "accuracy")},
            secondary={"frame_der": 100.0 * problem_result(test_dir / "result.yaml", "der")},
        )


def read_score(path: Path) -> dict:
    """The scoring stage's summary (`dscore.yaml`: der in percent, threshold, median_filter, grid)."""
    if not path.is_file():
        raise DpbenchError(f"s3prl wrote no {path}: the SD scoring stage did not finish; rerun to resume")
    scored = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = {"der", "threshold", "median_filter", "grid"} - set(scored)
    if missing:
        raise DpbenchError(f"{path} lacks {sorted(missing)}: it was not written by dpbench's SD scoring stage; "
                           "delete the run folder and rerun")
    return scored


def kaldi_view(corpus: Path, split: str, target: Path) -> None:
    """Copy `corpus/data/<split>` to `target` with every wav.scp path made absolute (s3prl opens them
    from its working directory); relative paths are taken relative to `corpus`."""
    source = corpus / "data" / split
    for name in KALDI_FILES:
        require((source / name).is_file(), (
            f"SD needs {source / name}: a Kaldi data directory per split (train, dev, test) with "
            f"{', '.join(KALDI_FILES)} (layout in docs/ARCHITECTURE.md); run `dpbench data synth` or "
            "prepare LibriMix with its Kaldi data scripts"))
    lines = []
    for number, line in enumerate((source / "wav.scp").read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DpbenchError(f"{source / 'wav.scp'} line {number}: expected `<recording> <path>` with no "
                               "spaces in the path (s3prl splits on one space) and no piped commands")
        path = Path(fields[1]) if Path(fields[1]).is_absolute() else (corpus / fields[1]).resolve()
        require(path.is_file(), f"{source / 'wav.scp'} line {number}: {path} does not exist")
        require(" " not in str(path), f"{path} (from {source / 'wav.scp'}) has a space, which s3prl's SD "
                "cannot read: move the corpus (or the run folder, --out) to a path without spaces")
        lines.append(f"{fields[0]} {path}\n")
    require(bool(lines), f"{source / 'wav.scp'} lists no recordings")
    atomic_write_text(target / "wav.scp", "".join(lines))
    for name in ("segments", "utt2spk", "reco2dur", "spk2utt", "rttm"):
        if (source / name).is_file():
            atomic_write_text(target / name, (source / name).read_text())
