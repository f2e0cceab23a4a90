"""ASV: automatic speaker verification on VoxCeleb1, EER (`s3prl.problem` SuperbASV, with local metadata).

VoxCeleb1 has no official validation set for verification, so SUPERB saves a checkpoint every
`train.save_step` steps, scores the test trials with each, and reports the lowest EER (the legacy
runner's `sv_voxceleb1/test_expdir.sh`; SuperbASV's stages 3-4 do the same and write
`evaluate/test_trial/best_result.yaml`). `value` is that lowest EER, in percent. There is no dev
metric to choose a learning rate by either, so `dev_value` is the same test-selected EER: a
learning-rate sweep then follows SUPERB's own selection rule for ASV (best on the test trials).
"""

from __future__ import annotations

from dpbench.superb.checks import require
from dpbench.superb.configs import get_key, with_paths
from dpbench.superb.corpora.voxceleb1 import SPLIT_FILE, find_trial_file, require_long_enough
from dpbench.superb.parse import problem_result
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import Outcome, RunRequest, Stage
from dpbench.superb.tasks.problem_task import ProblemTask

TEST_NAME = "test_trial"  # SuperbASV's test csv stem: results go to exp/evaluate/test_trial/


class ASV(ProblemTask):
    spec = SPEC_BY_NAME["ASV"]
    problem = "dpbench.superb.backend.problems_asv:LocalASV"
    train_stop = 2
    test_start = 3

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, SPLIT_FILE)
        trial_file = find_trial_file(root)
        total, save = int(get_key(config, "train.total_steps")), int(get_key(config, "train.save_step"))
        require(
            total % save == 0 and config["train"].get("keep_num_ckpts") is None,
            (
                f"ASV config: train.save_step ({save}) must divide train.total_steps ({total}) and "
                "train.keep_num_ckpts must be null, so every saved checkpoint, the last included, is tested"
            ),
        )
        min_secs = float(get_key(config, "build_dataset.train.min_secs") or 0.0)
        require_long_enough(root / SPLIT_FILE, root / "dev" / "wav", min_secs)
        return with_paths(
            config,
            {
                "prepare_data.dataset_root": root,
                "prepare_data.split_file": root / SPLIT_FILE,
                "prepare_data.trial_file": trial_file,
            },
        )

    def stages(self, request: RunRequest, config: dict, settings: dict) -> list[Stage]:
        """SuperbASV trains without validation: testing needs the last step checkpoint, not `valid_best`."""
        stages = super().stages(request, config, settings)
        last = request.run_dir / "exp" / "train" / f"step_{int(get_key(config, 'train.total_steps'))}"
        stages[-1].requires = [last]
        return stages

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        results = request.run_dir / "exp" / "evaluate" / TEST_NAME
        best = 100.0 * problem_result(results / "best_result.yaml", "EER")
        per_checkpoint = {
            path.parent.name: 100.0 * problem_result(path, "EER") for path in sorted(results.glob("step_*/result.yaml"))
        }
        return Outcome(value=best, dev_value=best, details=per_checkpoint)
