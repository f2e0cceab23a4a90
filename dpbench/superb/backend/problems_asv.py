"""s3prl's `SuperbASV` with its downloads (VoxCeleb1's `iden_split.txt` and trial list) replaced by local files."""

from __future__ import annotations

from pathlib import Path

import torch.nn.functional as F
from s3prl.dataio.corpus.voxceleb1sv import VoxCeleb1SV
from s3prl.problem.asv.superb_asv import SuperbASV
from s3prl.task.speaker_verification_task import SpeakerVerification

from dpbench.io_utils import atomic_write_text
from dpbench.superb.corpora.voxceleb1 import sv_csvs
from dpbench.superb.items import TRIAL_SCORES


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
        return sv_csvs(Path(target_dir), get_path_only, uid=VoxCeleb1SV.path2uid, **prepare_data)

    def build_task(self, build_task: dict, model, encoder, test_trials=None):
        return ScoredSpeakerVerification(model, encoder, test_trials, **build_task)
