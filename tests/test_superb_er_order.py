"""ER metadata entry order: s3prl's dev split is `random_split` (seed 0) over the train entries, so dpbench's
metadata must list them in the order of s3prl's shipped metadata, whatever order the filesystem lists."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dpbench.superb.corpora import iemocap
from dpbench.superb.corpora.iemocap import read_labels, s3prl_dialog_rank, write_s3prl_metadata

# dialogs per session in the four-class metadata (IEMOCAP: 151 dialogs; Session 3 splits impro05/08 into a/b,
# Session 5 has script01_1b)
DIALOGS_PER_SESSION = {"1": 28, "2": 30, "3": 32, "4": 30, "5": 31}


def test_asset_lists_every_dialog_once_per_session() -> None:
    data = json.loads((Path(iemocap.__file__).parents[2] / "assets/iemocap/s3prl_dialog_order.json").read_text())
    sessions = data["sessions"]
    assert {k: len(v) for k, v in sessions.items()} == DIALOGS_PER_SESSION
    for session, dialogs in sessions.items():
        assert len(set(dialogs)) == len(dialogs) and all(d.startswith(f"Ses0{session}") for d in dialogs)
    # the first label file of each session in s3prl's Session{1,2}/train_meta_data.json, as shipped
    assert sessions["1"][:2] == ["Ses01F_script02_2", "Ses01F_impro07"]
    assert sessions["2"][:3] == ["Ses02F_impro03", "Ses02F_script03_2", "Ses02M_script03_2"]
    assert sessions["1"] != sorted(sessions["1"])  # listing order, not name order


def write_corpus(root: Path, dialogs: dict[int, list[str]]) -> None:
    """A minimal IEMOCAP tree: per dialog two labelled utterances (F then M in the label file) and their wavs;
    one line with an excluded label (fru) and one without a wav."""
    for session, names in dialogs.items():
        labels = root / f"Session{session}" / "dialog" / "EmoEvaluation"
        labels.mkdir(parents=True, exist_ok=True)
        for dialog in names:
            wav_dir = root / f"Session{session}" / "sentences" / "wav" / dialog
            wav_dir.mkdir(parents=True)
            lines = ["% header", ""]
            for index, (utt, emotion) in enumerate(
                [
                    (f"{dialog}_F001", "exc"),
                    (f"{dialog}_M000", "sad"),
                    (f"{dialog}_F002", "fru"),
                    (f"{dialog}_M009", "neu"),
                ]
            ):
                lines.append(f"[{index}.0 - {index}.5]\t{utt}\t{emotion}\t[2.0, 2.0, 2.0]")
                if not utt.endswith("M009"):
                    (wav_dir / f"{utt}.wav").write_bytes(b"")
            (labels / f"{dialog}.txt").write_text("\n".join(lines) + "\n")
            (labels / "Categorical").mkdir(exist_ok=True)


@pytest.mark.parametrize("listing", ["sorted", "reversed", "shuffled"])
def test_entries_follow_s3prls_order_whatever_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: str
) -> None:
    rank = s3prl_dialog_rank()
    chosen = {1: ["Ses01F_impro01", "Ses01F_script02_2", "Ses01M_impro02"], 2: ["Ses02F_impro07", "Ses02F_impro03"]}
    write_corpus(tmp_path, chosen)
    real_glob = Path.glob

    def listed(self: Path, pattern: str):  # the filesystem's order, whatever it is
        paths = sorted(real_glob(self, pattern))
        if listing == "reversed":
            paths.reverse()
        elif listing == "shuffled":
            random.Random(3).shuffle(paths)
        return iter(paths)

    monkeypatch.setattr(Path, "glob", listed)
    session1 = read_labels(tmp_path, 1)
    # s3prl order of these three: Ses01F_script02_2 (1st), Ses01M_impro02 (4th), Ses01F_impro01 (10th)
    assert [rank[d] for d in ("Ses01F_script02_2", "Ses01M_impro02", "Ses01F_impro01")] == [0, 3, 9]
    assert [e["path"].split("/")[-1] for e in session1] == [
        "Ses01F_script02_2_F001.wav",
        "Ses01F_script02_2_M000.wav",
        "Ses01M_impro02_F001.wav",
        "Ses01M_impro02_M000.wav",
        "Ses01F_impro01_F001.wav",
        "Ses01F_impro01_M000.wav",
    ]  # lines within a label file in file order; fru and wav-less lines dropped, exc counted as hap
    assert session1[0] == {
        "path": "Session1/sentences/wav/Ses01F_script02_2/Ses01F_script02_2_F001.wav",
        "label": "hap",
        "speaker": "Ses01F",
    }


def test_fold_train_file_concatenates_sessions_in_order(tmp_path: Path) -> None:
    write_corpus(
        tmp_path,
        {
            1: ["Ses01F_impro01"],
            2: ["Ses02F_impro07", "Ses02F_impro03"],
            3: ["Ses03F_impro01"],
            4: ["Ses04F_impro01"],
            5: ["Ses05F_impro01", "Ses05M_synthetic01"],
        },
    )
    write_s3prl_metadata(tmp_path, tmp_path / "meta")
    train = json.loads((tmp_path / "meta/Session1/train_meta_data.json").read_text())["meta_data"]
    dialogs = list(dict.fromkeys(e["path"].split("/")[3] for e in train))
    # Session 2: Ses02F_impro03 is s3prl's first dialog, Ses02F_impro07 its 30th; unlisted dialogs come last
    assert dialogs == [
        "Ses02F_impro03",
        "Ses02F_impro07",
        "Ses03F_impro01",
        "Ses04F_impro01",
        "Ses05F_impro01",
        "Ses05M_synthetic01",
    ]
