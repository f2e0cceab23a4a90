"""SUPERB's SD DER (`dpbench.superb.der`, md-eval rules as dscore runs them) on hand-computed cases, and the
scoring stage (`ScoredSD`: s3prl's make_rttm over the threshold/median grid, lowest DER kept)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dpbench.errors import DpbenchError
from dpbench.superb.configs import load_config
from dpbench.superb.der import DerCounts, Turn, read_rttm, score, score_recording


def turns(recording: str, **speakers: list[tuple[float, float]]) -> list[Turn]:
    return [Turn(recording, name, start, end) for name, spans in speakers.items() for start, end in spans]


# Reference: A talks 0-10 s, B talks 5-15 s (5 s of overlap): 20 s of reference speaker time.
REFERENCE = turns("r", A=[(0, 10)], B=[(5, 15)])
# System: x 0-8 s (given as two overlapping turns, merged as dscore does) and 13-14 s; y 6-12 s and 16-18 s.
SYSTEM = turns("r", x=[(0, 5), (3, 8), (13, 14)], y=[(6, 12), (16, 18)])


def test_overlap_miss_false_alarm_and_confusion_by_hand() -> None:
    # Co-active time: A-x 8, A-y 4, B-x 3, B-y 6, so md-eval maps A->x, B->y (14 s matched, against 7).
    # missed: 5-6 (B), 8-10 (A, while y covers B), 12-13 (B), 14-15 (B) = 5 s
    # false alarm: y at 16-18 with nobody talking = 2 s
    # confusion: 13-14, B talks but x (mapped to A) is detected = 1 s
    counts = score_recording(REFERENCE, SYSTEM)
    assert counts == pytest.approx(DerCounts(scored=20.0, missed=5.0, false_alarm=2.0, confusion=1.0))
    assert counts.der == pytest.approx(40.0)


def test_speaker_names_do_not_matter_and_a_perfect_system_scores_zero() -> None:
    renamed = [Turn(t.recording, {"x": "spk1", "y": "spk0"}[t.speaker], t.start, t.end) for t in SYSTEM]
    assert score_recording(REFERENCE, renamed) == score_recording(REFERENCE, SYSTEM)
    perfect = turns("r", s0=[(5, 15)], s1=[(0, 4), (4, 10)])
    assert score_recording(REFERENCE, perfect) == DerCounts(scored=20.0)
    one_speaker = turns("r", s0=[(0, 15)])  # mapped to A: 5-10 s B missed, 10-15 s B confused with A
    assert score_recording(REFERENCE, one_speaker) == DerCounts(scored=20.0, missed=5.0, confusion=5.0)


def test_der_is_time_weighted_over_recordings() -> None:
    short = turns("s", A=[(0, 2)])
    half = turns("s", z=[(0, 1)])  # 1 s of 2 missed: 50% on its own
    total = score(REFERENCE + short, SYSTEM + half)
    assert total.der == pytest.approx(100 * (8 + 1) / (20 + 2))  # not the per-recording mean (40 + 50) / 2
    # a recording only the system names adds false alarm; one only the reference names adds missed time
    assert score(REFERENCE, SYSTEM + turns("t", z=[(0, 3)])).false_alarm == pytest.approx(5.0)
    assert score(REFERENCE + short, SYSTEM).missed == pytest.approx(7.0)
    assert score([], []) == DerCounts() and DerCounts().der == 0.0


def test_read_rttm_as_s3prl_writes_it(tmp_path: Path) -> None:
    rttm = tmp_path / "ref.rttm"
    rttm.write_text("SPEAKER r 1    0.00   10.00 <NA> <NA> A <NA>\nSPEAKER r 1    5.00   10.00 <NA> <NA> B <NA>\n")
    assert read_rttm(rttm) == REFERENCE
    rttm.write_text("SPEAKER r 1 x 1 <NA> <NA> A <NA>\n")
    with pytest.raises(DpbenchError, match="line 1"):
        read_rttm(rttm)


def test_scoring_grid_is_s3prls(tmp_path: Path) -> None:
    from dpbench.superb.backend import shims

    shims.use_device("cpu")
    from s3prl.problem import SuperbSD

    expected = SuperbSD().default_config()["scoring"]
    for scale in ("cpu", "paper"):
        assert load_config("sd", scale)[0]["scoring"] == expected


def test_scoring_stage_keeps_the_lowest_der_over_the_grid(tmp_path: Path) -> None:
    import torch

    from dpbench.superb.backend import shims

    shims.use_device("cpu")
    from dpbench.superb.backend.problems_sd import ScoredSD
    from dpbench.superb.tasks.sd import SCORE_FILE

    # 10 ms frames (frame shift 160 at 16 kHz). Speaker 0 posterior 0.65 over 0-1 s, speaker 1 0.45 over 0.5-1.5 s.
    posterior = torch.full((200, 2), 0.1)
    posterior[0:100, 0] = 0.65
    posterior[50:150, 1] = 0.45
    test_dir = tmp_path / "test"
    (test_dir / "prediction").mkdir(parents=True)
    torch.save(posterior, test_dir / "prediction" / "r.pt")
    reference = tmp_path / "test.rttm"
    reference.write_text("SPEAKER r 1    0.00    1.00 <NA> <NA> A <NA>\nSPEAKER r 1    0.50    1.00 <NA> <NA> B <NA>\n")
    grid = {"thresholds": [0.3, 0.4, 0.5, 0.6, 0.7], "median_filters": [1, 11]}
    ScoredSD().scoring(grid, 3, [test_dir], [reference], 160)
    summary = yaml.safe_load((test_dir / SCORE_FILE).read_text())
    by_setting = {(s["threshold"], s["median_filter"]): s["der"] for s in summary["grid"]}
    assert len(by_setting) == 10
    # thresholds 0.3/0.4 find both speakers exactly; 0.5/0.6 lose speaker 1 (1 s of 2); 0.7 loses both
    assert [by_setting[(th, 1)] for th in grid["thresholds"]] == pytest.approx([0, 0, 50, 50, 100])
    assert (summary["der"], summary["threshold"], summary["median_filter"]) == (0.0, 0.3, 1)
    assert (test_dir / "score" / "rttm" / "threshold-0.5_median-11.rttm").is_file()
    assert summary["recordings"] == {"r": {"error_s": 0.0, "scored_s": pytest.approx(2.0)}}


def test_sd_items_are_the_best_settings_recordings(tmp_path: Path) -> None:
    """The bootstrap's SD items: per-recording error and scored seconds that pool back to the DER."""
    from dpbench.superb.items import read_items
    from dpbench.superb.tasks.sd import SCORE_FILE

    test_dir = tmp_path / "exp" / "evaluate" / "valid_best" / "test"
    test_dir.mkdir(parents=True)
    recordings = {"a": {"error_s": 3.0, "scored_s": 20.0}, "b": {"error_s": 1.0, "scored_s": 2.0}}
    summary = {"der": 100 * 4 / 22, "threshold": 0.5, "median_filter": 11, "grid": [], "recordings": recordings}
    (test_dir / SCORE_FILE).write_text(yaml.safe_dump(summary))
    items = read_items("SD", tmp_path, {}, {}, summary["der"])
    assert items.ids == ("a", "b") and items.value == pytest.approx(100 * 4 / 22)
    with pytest.raises(DpbenchError, match="per-item results give"):
        read_items("SD", tmp_path, {}, {}, 10.0)
    del summary["recordings"]  # scored before per-recording counts were kept: no interval, no error
    (test_dir / SCORE_FILE).write_text(yaml.safe_dump(summary))
    assert read_items("SD", tmp_path, {}, {}, summary["der"]) is None
