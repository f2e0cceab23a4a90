"""ASR: character CTC on LibriSpeech (`s3prl.problem` SuperbASR, the SUPERB ASR recipe)."""

from __future__ import annotations

from dpbench.superb.configs import with_paths
from dpbench.superb.corpora.librispeech import recipe_view
from dpbench.superb.parse import problem_result
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import Outcome, RunRequest
from dpbench.superb.tasks.problem_task import ProblemTask


class ASR(ProblemTask):
    spec = SPEC_BY_NAME["ASR"]
    problem = "s3prl.problem.asr.superb_asr:SuperbASR"
    train_stop = 3
    test_start = 4

    def fill(self, request: RunRequest, config: dict) -> dict:
        source = self.corpus_dir(request.data_root)
        view = recipe_view(source, request.run_dir, config["prepare_data"])
        return with_paths(config, {"prepare_data.dataset_root": view})

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        outcome = super().outcome(request, config, settings)
        test_name = config["prepare_data"]["test_sets"][0]
        result = request.run_dir / "exp" / "evaluate" / "valid_best" / test_name / "result.yaml"
        outcome.details = {"cer": 100.0 * problem_result(result, "cer")}
        return outcome
