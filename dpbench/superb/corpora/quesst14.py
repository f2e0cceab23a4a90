"""QUESST 2014 for QbE: `Audio/*.wav`, `{dev,eval}_queries/*.wav`, and under `scoring/` the
`language_key_{utterances,dev,eval}.lst` lists s3prl's quesst14_dtw reads and the ground truth
(`groundtruth_quesst14_{dev,eval}/`) that MTWV is scored against."""

from __future__ import annotations

from pathlib import Path

from dpbench.superb.checks import require

MARKER = "scoring/language_key_utterances.lst"  # the file that tells a QUESST 2014 root
QUERY_SETS = ("dev", "eval")


def check_layout(root: Path) -> None:
    """Each query set's language key and ground-truth folder are present."""
    for query_set in QUERY_SETS:
        require(
            (root / "scoring" / f"language_key_{query_set}.lst").is_file(),
            f"QbE needs {root / 'scoring' / f'language_key_{query_set}.lst'} (QUESST 2014 layout)",
        )
        require(
            (root / "scoring" / f"groundtruth_quesst14_{query_set}").is_dir(),
            f"QbE needs {root / 'scoring' / f'groundtruth_quesst14_{query_set}'} to score MTWV",
        )
