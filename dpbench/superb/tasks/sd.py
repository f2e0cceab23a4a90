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
from dpbench.superb.configs import with_paths
from dpbench.superb.corpora.librimix import kaldi_views
from dpbench.superb.parse import problem_best_valid, problem_result
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import Outcome, RunRequest
from dpbench.superb.tasks.problem_task import ProblemTask

TEST_STAGES = (2, 3)  # inference on the test set (result.yaml, prediction/), then scoring (dscore.yaml)
SCORE_FILE = "dscore.yaml"  # what s3prl's stage 3 writes per test set: der (percent), threshold, median_filter


class SD(ProblemTask):
    spec = SPEC_BY_NAME["SD"]
    problem = "dpbench.superb.backend.problems_sd:ScoredSD"
    train_stop = 1
    test_start, test_stop = TEST_STAGES

    def fill(self, request: RunRequest, config: dict) -> dict:
        source = self.corpus_dir(request.data_root, "data")
        return with_paths(config, {"prepare_data.data_dir": kaldi_views(source, request.run_dir / "data")})

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        exp = request.run_dir / "exp"
        test_dir = exp / "evaluate" / "valid_best" / "test"
        scored = read_score(test_dir / SCORE_FILE)
        best = next(
            setting
            for setting in scored["grid"]
            if (setting["threshold"], setting["median_filter"]) == (scored["threshold"], scored["median_filter"])
        )
        share = 100.0 / best["scored_s"] if best["scored_s"] else 0.0
        return Outcome(
            value=float(scored["der"]),
            dev_value=100.0 * problem_best_valid(exp / "train", "der"),
            details={
                "threshold": float(best["threshold"]),
                "median_filter": float(best["median_filter"]),
                "missed": share * best["missed_s"],
                "false_alarm": share * best["false_alarm_s"],
                "confusion": share * best["confusion_s"],
                "frame_accuracy": 100.0 * problem_result(test_dir / "result.yaml", "accuracy"),
            },
            secondary={"frame_der": 100.0 * problem_result(test_dir / "result.yaml", "der")},
        )


def read_score(path: Path) -> dict:
    """The scoring stage's summary (`dscore.yaml`: der in percent, threshold, median_filter, grid)."""
    if not path.is_file():
        raise DpbenchError(f"s3prl wrote no {path}: the SD scoring stage did not finish; rerun to resume")
    scored = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = {"der", "threshold", "median_filter", "grid"} - set(scored)
    if missing:
        raise DpbenchError(
            f"{path} lacks {sorted(missing)}: it was not written by dpbench's SD scoring stage; "
            "delete the run folder and rerun"
        )
    return scored
