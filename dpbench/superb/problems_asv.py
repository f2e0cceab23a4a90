"""s3prl's `SuperbASV` with its downloads (VoxCeleb1's `iden_split.txt` and trial list) replaced by local files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch.nn.functional as F
from s3prl.dataio.corpus.voxceleb1sv import VoxCeleb1SV
from s3prl.problem.asv.superb_asv import SuperbASV
from s3prl.task.speaker_verification_task import SpeakerVerification

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.superb.items import TRIAL_SCORES

TEST_SPEAKERS = range(10270, 10310)  # VoxCeleb1's verification test speakers; the rest train (as VoxCeleb1SV)


class ScoredSpeakerVerification(SpeakerVerification):
    """s3prl's `SpeakerVerification` that also writes every test trial's label and cosine score
    (TRIAL_SCORES) into the evaluation folder; s3prl scores them in memory only. The scores are
    computed as s3prl's `test_reduction` computes them, whose EER and minDCF are returned unchanged."""

    def test_reduction(self, cached_results: list[dict], _dump_dir: str) -> dict:
        logs = super().test_reduction(cached_results, _dump_dir)
        results = self.parse_cached_results(cached_results)
        embeddings = dict(zip(results["unique_name"], results["spk_embedding"]))
        lines = ["label,enroll,test,score"]
        for label, enroll, test in self.trials:
            score = F.cosine_similarity(embeddings[enroll], embeddings[test], dim=0).item()
            lines.append(f"{int(label)},{enroll},{test},{score!r}")
        atomic_write_text(Path(_dump_dir) / TRIAL_SCORES, "\n".join(lines) + "\n")
        return logs


class LocalASV(SuperbASV):
    """`SuperbASV` whose `prepare_data` reads `split_file` and `trial_file` (both under `prepare_data`)
    instead of downloading them; it writes the same `train.csv` and `test_trial.csv` as s3prl. Its
    task also writes each test trial's score (ScoredSpeakerVerification)."""

    def prepare_data(self, prepare_data: dict, target_dir: str, cache_dir: str, get_path_only: bool = False):
        return prepare_local_voxceleb1_for_sv(Path(target_dir), get_path_only, **prepare_data)

    def build_task(self, build_task: dict, model, encoder, test_trials=None):
        return ScoredSpeakerVerification(model, encoder, test_trials, **build_task)


def prepare_local_voxceleb1_for_sv(target_dir: Path, get_path_only: bool, dataset_root: str, split_file: str,
                                   trial_file: str) -> tuple[Path, list[Path]]:
    """s3prl's `prepare_voxceleb1_for_sv` on local metadata.

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
    frame = pd.DataFrame({"id": [VoxCeleb1SV.path2uid(p) for p in train], "wav_path": train,
                          "spk": [label[Path(p).parts[-3]] for p in train]})
    frame.sort_values("id").to_csv(train_path, index=False)
    trials = _lines(Path(trial_file), 3)
    if not {label for label, _, _ in trials} <= {"0", "1"}:
        raise DpbenchError(f"{trial_file}: each line must start with 1 (same speaker) or 0 (different speakers)")
    paths = [[_wav(root / "test" / "wav" / rel, trial_file) for rel in (a, b)] for _, a, b in trials]
    pd.DataFrame({
        "id1": [VoxCeleb1SV.path2uid(a) for a, _ in paths],
        "id2": [VoxCeleb1SV.path2uid(b) for _, b in paths],
        "wav_path1": [a for a, _ in paths],
        "wav_path2": [b for _, b in paths],
        "label": [int(label) for label, _, _ in trials],
    }).to_csv(test_path, index=False)
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
        raise DpbenchError(f"{listed_in} lists a file that is missing ({path}): the corpus is incomplete; "
                           "re-run the synth or fix the list")
    return str(path)
