"""SID: speaker identification on VoxCeleb1 (s3prl `-d voxceleb1`)."""

from __future__ import annotations

import re

from dpbench.superb.configs import with_paths
from dpbench.superb.tasks.base import RunRequest, require, require_batches
from dpbench.superb.tasks.runner_task import RunnerTask

SPEAKER = re.compile(r"^id(\d{5})$")


class SID(RunnerTask):
    name = "SID"
    stem = "sid"
    metric = "accuracy"
    higher_is_better = True
    corpus = "voxceleb1"
    downstream = "voxceleb1"

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, "iden_split.txt")
        split_file = root / "iden_split.txt"
        lines = [line.split() for line in split_file.read_text().splitlines() if line.strip()]
        require_batches(self.name, sum(1 for kind, _ in lines if kind == "1"), 1, split_file)
        for _, path in lines:
            speaker = path.split("/")[0]
            match = SPEAKER.match(speaker)
            require(bool(match) and 10001 <= int(match.group(1)) <= 11251,
                    f"{split_file}: speaker {speaker} is outside id10001..id11251, the 1251 classes s3prl's SID "
                    "head has; rename the speakers")
        return with_paths(config, {
            "downstream_expert.datarc.file_path": root,
            "downstream_expert.datarc.meta_data": split_file,
        })

    def stage_env(self, request: RunRequest, variant: str) -> dict[str, str]:
        """s3prl caches the file lists inside its package, whatever the corpus: point it at the run folder."""
        return {"DPBENCH_VOXCELEB1_CACHE": str(request.run_dir / "voxceleb1_cache") + "/"}
