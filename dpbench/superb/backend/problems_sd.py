"""s3prl's `SuperbSD` with its scoring stage (stage 3) kept but scored in-process instead of by a dscore
clone fetched from GitHub at run time (the only change to its behaviour).

Stage 3 of s3prl's recipe turns the test predictions into RTTMs with its own `make_rttm` for each
threshold and median-filter size of `scoring`, scores each against the reference RTTM with dscore
(md-eval: collar 0, overlap scored) and reports the lowest DER. `ScoredSD` runs the same `make_rttm`
on the same grid and scores with `dpbench.superb.der`, which follows md-eval's rules as dscore runs them.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from s3prl.problem.diarization.superb_sd import SuperbSD
from s3prl.problem.diarization.util import make_rttm

from dpbench.io_utils import atomic_write_text
from dpbench.superb.der import DerCounts, read_rttm, score_by_recording
from dpbench.superb.tasks.sd import SCORE_FILE

SAMPLING_RATE = 16000


class ScoredSD(SuperbSD):
    """`SuperbSD` whose stage 3 scores with `dpbench.superb.der` (no dscore download)."""

    def scoring(self, scoring: dict, stage_id: int, test_dirs: list, test_rttms: list, frame_shift: int) -> None:
        for test_dir, reference_rttm in zip(test_dirs, test_rttms):
            summary = score_grid(
                Path(test_dir), Path(reference_rttm), frame_shift, scoring["thresholds"], scoring["median_filters"]
            )
            atomic_write_text(Path(test_dir) / SCORE_FILE, yaml.safe_dump(summary, sort_keys=False))


def score_grid(
    test_dir: Path, reference_rttm: Path, frame_shift: int, thresholds: list[float], median_filters: list[int]
) -> dict:
    """RTTMs from `test_dir/prediction/*.pt` (s3prl's `make_rttm`) for every threshold and median filter,
    each scored against `reference_rttm`; the lowest DER with its setting, and every setting's counts."""
    reference = read_rttm(reference_rttm)
    grid, recordings = [], []
    for threshold in thresholds:
        for median in median_filters:
            rttm = test_dir / "score" / "rttm" / f"threshold-{threshold}_median-{median}.rttm"
            make_rttm(str(test_dir / "prediction"), str(rttm), threshold, median, frame_shift, 1, SAMPLING_RATE)
            by_recording = score_by_recording(reference, read_rttm(rttm))
            counts = sum(by_recording.values(), DerCounts())
            grid.append(
                {
                    "threshold": threshold,
                    "median_filter": median,
                    "der": counts.der,
                    "missed_s": counts.missed,
                    "false_alarm_s": counts.false_alarm,
                    "confusion_s": counts.confusion,
                    "scored_s": counts.scored,
                }
            )
            recordings.append(
                {
                    name: {"error_s": c.missed + c.false_alarm + c.confusion, "scored_s": c.scored}
                    for name, c in by_recording.items()
                }
            )
    best = min(range(len(grid)), key=lambda i: grid[i]["der"])  # first of equals, in s3prl's loop order
    return {
        "der": grid[best]["der"],
        "threshold": grid[best]["threshold"],
        "median_filter": grid[best]["median_filter"],
        "scorer": "dpbench.superb.der (md-eval DER as dscore runs it: collar 0, overlap scored)",
        "grid": grid,
        "recordings": recordings[best],
    }
