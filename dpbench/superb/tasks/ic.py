"""IC: intent classification on Fluent Speech Commands (s3prl `-d fluent_commands`)."""

from __future__ import annotations

from dpbench.superb.configs import with_paths
from dpbench.superb.corpora.fluent_commands import MARKER, check_splits
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.tasks.runner_task import RunnerTask


class IC(RunnerTask):
    spec = SPEC_BY_NAME["IC"]
    downstream = "fluent_commands"

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, MARKER)
        check_splits(self.name, root)
        return with_paths(config, {"downstream_expert.datarc.file_path": root})
