"""SID: speaker identification on VoxCeleb1 (s3prl `-d voxceleb1`)."""

from __future__ import annotations

from dpbench.superb.configs import with_paths
from dpbench.superb.corpora.voxceleb1 import SPLIT_FILE, check_sid_split
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.tasks.runner_task import RunnerTask


class SID(RunnerTask):
    spec = SPEC_BY_NAME["SID"]
    downstream = "voxceleb1"

    def fill(self, request: RunRequest, config: dict) -> dict:
        root = self.corpus_dir(request.data_root, SPLIT_FILE)
        split_file = root / SPLIT_FILE
        check_sid_split(self.name, split_file)
        return with_paths(
            config,
            {
                "downstream_expert.datarc.file_path": root,
                "downstream_expert.datarc.meta_data": split_file,
            },
        )

    def patches(self, request: RunRequest) -> dict[str, str]:
        """s3prl caches the file lists inside its package, whatever the corpus: point it at the run folder."""
        return {"voxceleb1_cache": str(request.run_dir / "voxceleb1_cache") + "/"}
