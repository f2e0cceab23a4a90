"""PR: phoneme recognition on LibriSpeech (`s3prl.problem` SuperbPR, with a local lexicon)."""

from __future__ import annotations

from dpbench.superb.configs import with_paths
from dpbench.superb.corpora.librispeech import lexicon_file, recipe_view
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.tasks.problem_task import ProblemTask


class PR(ProblemTask):
    spec = SPEC_BY_NAME["PR"]
    problem = "dpbench.superb.backend.problems_pr:LexiconPR"
    train_stop = 3
    test_start = 4

    def fill(self, request: RunRequest, config: dict) -> dict:
        source = self.corpus_dir(request.data_root)
        lexicon = lexicon_file(source)
        view = recipe_view(source, request.run_dir, config["prepare_data"])
        return with_paths(config, {"prepare_data.dataset_root": view, "prepare_data.lexicon": lexicon})
