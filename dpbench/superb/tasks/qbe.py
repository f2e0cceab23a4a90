"""QbE: query-by-example spoken term detection on QUESST 2014 (s3prl legacy `-d quesst14_dtw`, evaluate only).

SUPERB's protocol: nothing is trained; s3prl's DTW matches every query against every document on one hidden
layer's features (`-l N`), once per layer and query set (`-t dev`, `-t test`: the eval queries); the layer
with the best dev MTWV is chosen and its eval MTWV reported. MTWV comes from the corpus's official
`scoring/score-TWV-Cnxe.sh` when it has one and this machine runs it, else from `dpbench.superb.qbe_score`
(the same definition). The config's `optimizer.lr` and `runner.total_steps` are 0: there is no learning rate
to sweep and no training step; dpbench records them as such."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json
from dpbench.superb import qbe_score
from dpbench.superb.checks import require
from dpbench.superb.configs import with_paths, write_yaml
from dpbench.superb.corpora.quesst14 import MARKER, check_layout
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import Outcome, RunRequest, Stage, Task
from dpbench.superb.upstream_spec import UpstreamSpec

# s3prl's evaluate split -> the query set (and ground-truth folder) it searches with
SPLITS = {"dev": "dev", "test": "eval"}


class QbE(Task):
    spec = SPEC_BY_NAME["QbE"]
    trains = False
    lr_key = "optimizer.lr"
    steps_key = "runner.total_steps"
    downstream = "quesst14_dtw"

    def prepare(self, request: RunRequest, config: dict, settings: dict) -> dict:
        root = self.corpus_dir(request.data_root, MARKER)
        check_layout(root)
        missing = [
            package
            for module, package in (("dtw", "dtw-python==1.9.0"), ("lxml", "lxml==6.1.3"))
            if importlib.util.find_spec(module) is None
        ]
        require(not missing, f"s3prl's quesst14_dtw imports {', '.join(missing)}: `pip install {' '.join(missing)}`")
        require(
            "runner" in config,
            f"downstream config {self.stem}_*.yaml needs a `runner:` section (s3prl's evaluate mode reads it)",
        )
        return with_paths(config, {"downstream_expert.datarc.dataset_root": root})

    def layers(self, request: RunRequest, settings: dict) -> list[int]:
        """`dpbench.layers` from the config, else every hidden state of a dpbench upstream (0 = conv features)."""
        if settings.get("layers") is not None:
            return [int(layer) for layer in settings["layers"]]
        return list(range(hidden_states(request.upstream)))

    def _expdir(self, request: RunRequest, layer: int, split: str) -> Path:
        return request.run_dir / f"layer{layer}" / split

    def stages(self, request: RunRequest, config: dict, settings: dict) -> list[Stage]:
        config_path = request.run_dir / "config.yaml"
        write_yaml(config_path, config)
        upstream = ["-u", request.upstream.entry]
        if request.upstream.ckpt:
            upstream += ["-k", request.upstream.ckpt]
        return [
            Stage(
                name=f"layer{layer}-{split}",
                argv=[
                    "runner",
                    "-m",
                    "evaluate",
                    "-t",
                    split,
                    *upstream,
                    "-l",
                    str(layer),
                    "-d",
                    self.downstream,
                    "-c",
                    str(config_path),
                    "-p",
                    str(self._expdir(request, layer, split)),
                    "--device",
                    request.device,
                ],
            )
            for layer in self.layers(request, settings)
            for split in SPLITS
        ]

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        scoring = Path(config["downstream_expert"]["datarc"]["dataset_root"]) / "scoring"
        scores: dict[int, dict[str, float]] = {}
        report: dict[str, dict] = {}
        for layer in self.layers(request, settings):
            for split, query_set in SPLITS.items():
                expdir = self._expdir(request, layer, split)
                groundtruth = f"groundtruth_quesst14_{query_set}"
                twv = qbe_score.score(expdir / "benchmark.stdlist.xml", scoring / groundtruth)
                official = qbe_score.official_mtwv(scoring, expdir, groundtruth)
                mtwv = twv.mtwv if official is None else official
                scores.setdefault(layer, {})[query_set] = mtwv
                report[f"layer{layer}_{query_set}"] = {
                    "mtwv": mtwv,
                    "scorer": "dpbench" if official is None else qbe_score.OFFICIAL_SCRIPT,
                    "dpbench_mtwv": twv.mtwv,
                    "threshold": twv.threshold,
                    "atwv": twv.atwv,
                    "queries": twv.terms,
                }
        best = max(scores, key=lambda layer: (scores[layer]["dev"], -layer))  # the lowest layer among ties
        atomic_write_json(request.run_dir / "qbe_scores.json", {"best_layer": best, "scores": report})
        details = {
            f"layer{layer}_{query_set}": value
            for layer, values in scores.items()
            for query_set, value in values.items()
        }
        details["best_layer"] = float(best)
        return Outcome(value=scores[best]["eval"], dev_value=scores[best]["dev"], details=details)


@lru_cache(maxsize=8)
def hidden_states(upstream: UpstreamSpec) -> int:
    """How many hidden states (layers + the conv output) a dpbench upstream gives s3prl."""
    if not upstream.is_dpbench:
        raise DpbenchError(
            f"QbE cannot count the layers of the s3prl upstream {upstream.entry!r}: list them in "
            "the config's `dpbench: layers: [...]` (indices for s3prl's -l)"
        )
    from dpbench.teachers import load_model

    return int(load_model(str(upstream.ckpt)).config.num_layers) + 1
