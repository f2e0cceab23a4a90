"""VoxCeleb1 for SID and ASV: `<root>/{dev,test}/wav/id1XXXX/<yt>/<nnnnn>.wav`, `iden_split.txt`
(`1|2|3 idXXXXX/<yt>/<n>.wav`) and, for ASV, a trial list (`1|0 <path> <path>`). Checks that s3prl's
SID head can label the speakers, and writes the csvs s3prl's `SuperbASV` reads from local files."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import soundfile as sf

from dpbench.errors import DpbenchError
from dpbench.superb.checks import require, require_batches

SPLIT_FILE = "iden_split.txt"
SPEAKER = re.compile(r"^id(\d{5})$")
TRIAL_FILES = ("voxceleb1_test_v2.txt", "veri_test2.txt")  # the cleaned VoxCeleb1-O list, as s3prl / VGG name it
TEST_SPEAKERS = range(10270, 10310)  # VoxCeleb1's verification test speakers; the rest train (as VoxCeleb1SV)


def check_sid_split(task: str, split_file: Path) -> None:
    """A SID split file with a training utterance, whose speakers are all among the 1251 classes of
    s3prl's SID head (id10001..id11251)."""
    lines = [line.split() for line in split_file.read_text().splitlines() if line.strip()]
    require_batches(task, sum(1 for kind, _ in lines if kind == "1"), 1, split_file)
    for _, path in lines:
        speaker = path.split("/")[0]
        match = SPEAKER.match(speaker)
        require(
            bool(match) and 10001 <= int(match.group(1)) <= 11251,
            f"{split_file}: speaker {speaker} is outside id10001..id11251, the 1251 classes s3prl's SID "
            "head has; rename the speakers",
        )


def find_trial_file(root: Path) -> Path:
    """The ASV trial list in `root`, under either of its usual names."""
    found = next((root / name for name in TRIAL_FILES if (root / name).is_file()), None)
    require(
        found is not None,
        (
            f"ASV needs a trial list in {root} ({' or '.join(TRIAL_FILES)}, lines `1|0 idXXXXX/<yt>/<n>.wav "
            "idXXXXX/<yt>/<n>.wav`): synthetic corpora include it; for real VoxCeleb1 download "
            "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/meta/veri_test2.txt into that folder"
        ),
    )
    return found


def require_long_enough(split_file: Path, dev_wav: Path, min_secs: float) -> None:
    """SuperbASV drops training utterances not longer than `min_secs`; with none left s3prl's training
    loop never ends. Check that at least one `dev/wav` file listed in `split_file` is longer."""
    for line in split_file.read_text().splitlines():
        parts = line.split()
        path = dev_wav / parts[1] if len(parts) == 2 else None
        if path is not None and path.is_file() and sf.info(str(path)).duration > min_secs:
            return
    require(
        False,
        f"{split_file}: no training utterance under {dev_wav} is longer than "
        f"build_dataset.train.min_secs = {min_secs} s, so s3prl would train forever; lower min_secs",
    )


def sv_csvs(
    target_dir: Path,
    get_path_only: bool,
    uid: Callable[[str], str],
    dataset_root: str,
    split_file: str,
    trial_file: str,
) -> tuple[Path, list[Path]]:
    """s3prl's `prepare_voxceleb1_for_sv` on local metadata; `uid` is s3prl's `VoxCeleb1SV.path2uid`.

    Training utterances: every `iden_split` line (codes 1, 2 and 3) of a speaker outside id10270..id10309,
    read from `dev/wav`, labelled by the speaker's rank among those speakers, as `VoxCeleb1SV` does.
    Test utterances: the trial list's files, read from `test/wav`. (`VoxCeleb1SV` looks them up through
    `iden_split`, which on real VoxCeleb1 lists every one of them; the synthetic corpus has trial-only
    test speakers that `iden_split` leaves out.)"""
    train_path = target_dir / "train.csv"
    test_path = target_dir / "test_trial.csv"
    if get_path_only:
        return train_path, [test_path]
    root = Path(dataset_root).resolve()
    train = []
    for _, rel in _lines(Path(split_file), 2):
        if int(rel.split("/")[0][2:]) not in TEST_SPEAKERS:
            train.append(_wav(root / "dev" / "wav" / rel, split_file))
    if not train:
        raise DpbenchError(f"{split_file} lists no speaker outside id10270..id10309, so ASV has nothing to train on")
    speakers = sorted({Path(path).parts[-3] for path in train})
    label = {speaker: index for index, speaker in enumerate(speakers)}
    frame = pd.DataFrame(
        {"id": [uid(p) for p in train], "wav_path": train, "spk": [label[Path(p).parts[-3]] for p in train]}
    )
    frame.sort_values("id").to_csv(train_path, index=False)
    trials = _lines(Path(trial_file), 3)
    if not {label for label, _, _ in trials} <= {"0", "1"}:
        raise DpbenchError(f"{trial_file}: each line must start with 1 (same speaker) or 0 (different speakers)")
    paths = [[_wav(root / "test" / "wav" / rel, trial_file) for rel in (a, b)] for _, a, b in trials]
    pd.DataFrame(
        {
            "id1": [uid(a) for a, _ in paths],
            "id2": [uid(b) for _, b in paths],
            "wav_path1": [a for a, _ in paths],
            "wav_path2": [b for _, b in paths],
            "label": [int(label) for label, _, _ in trials],
        }
    ).to_csv(test_path, index=False)
    return train_path, [test_path]


def _lines(path: Path, fields: int) -> list[list[str]]:
    if not path.is_file():
        raise DpbenchError(f"ASV needs {path}: pass the right --data (see docs/ARCHITECTURE.md)")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    bad = [row for row in rows if len(row) != fields]
    if bad or not rows:
        raise DpbenchError(f"{path}: expected lines of {fields} fields, got {bad[0] if bad else 'an empty file'}")
    return rows


def _wav(path: Path, listed_in: str) -> str:
    if not path.is_file():
        raise DpbenchError(
            f"{listed_in} lists a file that is missing ({path}): the corpus is incomplete; "
            "re-run the synth or fix the list"
        )
    return str(path)
