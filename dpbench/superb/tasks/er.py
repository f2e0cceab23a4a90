"""ER: emotion recognition on IEMOCAP, 4 classes, averaged over session folds (s3prl `-d emotion`)."""

from __future__ import annotations

import json

from dpbench.errors import DpbenchError
from dpbench.superb.checks import require_batches
from dpbench.superb.configs import set_key, with_paths
from dpbench.superb.corpora.iemocap import write_s3prl_metadata
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.tasks.runner_task import RunnerTask

ALL_FOLDS = ["fold1", "fold2", "fold3", "fold4", "fold5"]


def parse_folds(text: str) -> list[str]:
    """`--folds`: `all` or comma-separated session numbers (`1,2`) -> s3prl fold names."""
    if text.strip().lower() == "all":
        return list(ALL_FOLDS)
    folds = [f"fold{part.strip()}" for part in text.split(",") if part.strip()]
    if not folds or any(fold not in ALL_FOLDS for fold in folds):
        raise DpbenchError(f"--folds {text!r}: give 'all' or session numbers from 1 to 5, e.g. 1,2")
    return list(dict.fromkeys(folds))


class ER(RunnerTask):
    spec = SPEC_BY_NAME["ER"]
    downstream = "emotion"
    options = ("folds",)

    def variants(self, settings: dict) -> list[str]:
        return list(settings.get("folds", ALL_FOLDS))

    def variant_config(self, config: dict, variant: str) -> dict:
        return set_key(with_paths(config, {}), "downstream_expert.datarc.test_fold", variant)

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, "Session1")
        meta_dir = request.run_dir / "metadata"
        for path in write_s3prl_metadata(root, meta_dir):
            if path.name == "train_meta_data.json":
                entries = json.loads(path.read_text())["meta_data"]
                require_batches(self.name, len(entries), 2, path)
        return with_paths(
            config,
            {
                "downstream_expert.datarc.root": root,
                "downstream_expert.datarc.meta_data": meta_dir,
            },
        )
