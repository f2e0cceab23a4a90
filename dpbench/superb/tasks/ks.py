"""KS: keyword spotting on Speech Commands v1.0 (s3prl `-d speech_commands`)."""

from __future__ import annotations

from dpbench.superb.checks import require_batches
from dpbench.superb.configs import with_paths
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.tasks.runner_task import RunnerTask, batch_size


class KS(RunnerTask):
    spec = SPEC_BY_NAME["KS"]
    downstream = "speech_commands"

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, "train")
        self.corpus_dir(request.data_root, "test")
        from dpbench.superb.backend.speech_commands import training_items

        size = batch_size(config, "batch_size")
        require_batches(self.name, len(training_items(root / "train")), size, root / "train")
        return with_paths(
            config,
            {
                "downstream_expert.datarc.speech_commands_root": root / "train",
                "downstream_expert.datarc.speech_commands_test_root": root / "test",
            },
        )
