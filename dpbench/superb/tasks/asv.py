"""ASV: automatic speaker verification on VoxCeleb1, EER (`s3prl.problem` SuperbASV, with local metadata).

VoxCeleb1 has no official validation set for verification, so SUPERB saves a checkpoint every
`train.save_step` steps, scores the test trials with each, and reports the lowest EER (the legacy
runner's `sv_voxceleb1/test_expdir.sh`; SuperbASV's stages 3-4 do the same and write
`evaluate/test_trial/best_result.yaml`). `value` is that lowest EER, in percent. There is no dev
metric to choose a learning rate by either, so `dev_value` is the same test-selected EER: a
learning-rate sweep then follows SUPERB's own selection rule for ASV (best on the test trials).
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from dpbench.superb.configs import get_key, with_paths
from dpbench.superb.parse import problem_result
from dpbench.superb.tasks.base import Outcome, RunRequest, Stage, require
from dpbench.superb.tasks.problem_task import ProblemTask

TRIAL_FILES = ("voxceleb1_test_v2.txt", "veri_test2.txt")  # the cleaned VoxCeleb1-O list, as s3prl / VGG name it
TEST_NAME = "test_trial"  # SuperbASV's test csv stem: results go to exp/evaluate/test_trial/


class ASV(ProblemTask):
    name = "ASV"
    stem = "asv"
    metric = "eer"
    higher_is_better = False
    corpus = "voxceleb1"
    problem = "dpbench.superb.problems_asv:LocalASV"
    train_stop = 2
    test_start = 3

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, "iden_split.txt")
        trial_file = next((root / name for name in TRIAL_FILES if (root / name).is_file()), None)
        require(trial_file is not None, (
            f"ASV needs a trial list in {root} ({' or '.join(TRIAL_FILES)}, lines `1|0 idXXXXX/<yt>/<n>.wav "
            "idXXXXX/<yt>/<n>.wav`): synthetic corpora include it; for real VoxCeleb1 download "
            "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/meta/veri_test2.txt into that folder"))
        total, save = int(get_key(config, "train.total_steps")), int(get_key(config, "train.save_step"))
        require(total % save == 0 and config["train"].get("keep_num_ckpts") is None, (
            f"ASV config: train.save_step ({save}) must divide train.total_steps ({total}) and "
            "train.keep_num_ckpts must be null, so every saved checkpoint, the last included, is tested"))
        min_secs = float(get_key(config, "build_dataset.train.min_secs") or 0.0)
        _require_long_enough(root / "iden_split.txt", root / "dev" / "wav", min_secs)
        return with_paths(config, {
            "prepare_data.dataset_root": root,
            "prepare_data.split_file": root / "iden_split.txt",
            "prepare_data.trial_file": trial_file,
        })

    def stages(self, request: RunRequest, config: dict, settings: dict) -> list[Stage]:
        """SuperbASV trains without validation: testing needs the last step checkpoint, not `valid_best`."""
        stages = super().stages(request, config, settings)
        last = request.run_dir / "exp" / "train" / f"step_{int(get_key(config, 'train.total_steps'))}"
        stages[-1].requires = [last]
        return stages

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        results = request.run_dir / "exp" / "evaluate" / TEST_NAME
        best = 100.0 * problem_result(results / "best_result.yaml", "EER")
        per_checkpoint = {path.parent.name: 100.0 * problem_result(path, "EER")
                          for path in sorted(results.glob("step_*/result.yaml"))}
        return Outcome(value=best, dev_value=best, details=per_checkpoint)


def _require_long_enough(split_file: Path, dev_wav: Path, min_secs: float) -> None:
    """SuperbASV drops training utterances not longer than `min_secs`; with none left s3prl's training
    loop never ends. Check that at least one `dev/wav` file listed in `split_file` is longer."""
    for line in split_file.read_text().splitlines():
        parts = line.split()
        path = dev_wav / parts[1] if len(parts) == 2 else None
        if path is not None and path.is_file() and sf.info(str(path)).duration > min_secs:
            return
    require(False, f"{split_file}: no training utterance under {dev_wav} is longer than "
                   f"build_dataset.train.min_secs = {min_secs} s, so s3prl would train forever; lower min_secs")
