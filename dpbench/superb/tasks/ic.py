"""IC: intent classification on Fluent Speech Commands (s3prl `-d fluent_commands`)."""

from __future__ import annotations

import pandas as pd

from dpbench.superb.checks import require, require_batches
from dpbench.superb.configs import with_paths
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.tasks.runner_task import RunnerTask

SLOTS = ("action", "object", "location")


class IC(RunnerTask):
    spec = SPEC_BY_NAME["IC"]
    downstream = "fluent_commands"

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, "data/train_data.csv")
        frames = {split: pd.read_csv(root / "data" / f"{split}_data.csv") for split in ("train", "valid", "test")}
        require_batches(self.name, len(frames["train"]), 1, root / "data" / "train_data.csv")
        for split in ("valid", "test"):
            for slot in SLOTS:
                unseen = set(frames[split][slot]) - set(frames["train"][slot])
                require(not unseen, f"{root / 'data' / f'{split}_data.csv'}: {slot} values {sorted(unseen)} never "
                                    "occur in train_data.csv, which s3prl cannot label; fix the split")
        return with_paths(config, {"downstream_expert.datarc.file_path": root})
