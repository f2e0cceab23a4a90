"""Tasks run through `s3prl.problem` recipes (stages: prepare, train, test; results in `result.yaml`)."""

from __future__ import annotations

from abc import abstractmethod

from dpbench.superb.configs import write_yaml
from dpbench.superb.parse import problem_best_valid, problem_result
from dpbench.superb.tasks.base import Outcome, RunRequest, Stage, Task


class ProblemTask(Task):
    """A task driven by `python -m dpbench.superb.backend.launch problem <module:Class> <config.yaml>`."""

    problem: str  # "module:Class"
    train_stop: int  # last stage that trains
    test_start: int  # first stage that tests
    test_stop: int | None = None  # last stage that tests (None: the recipe's last)
    lr_key = "build_optimizer.conf.lr"
    steps_key = "train.total_steps"

    @abstractmethod
    def fill(self, request: RunRequest, config: dict) -> dict:
        """Return the problem config with data paths set, after writing what the recipe needs."""

    def prepare(self, request: RunRequest, config: dict, settings: dict) -> dict:
        config = self.fill(request, config)
        config.update(
            target_dir=str(request.run_dir / "exp"),
            cache_dir=str(request.run_dir / "cache"),
            device=request.device,
            build_upstream={"name": request.upstream.entry, "path_or_url": request.upstream.ckpt},
        )
        config.setdefault("num_workers", 0)
        return config

    def stages(self, request: RunRequest, config: dict, settings: dict) -> list[Stage]:
        train_yaml = request.run_dir / "train.yaml"
        test_yaml = request.run_dir / "test.yaml"
        write_yaml(train_yaml, {**config, "start": 0, "stop": self.train_stop})
        write_yaml(test_yaml, {**config, "start": self.test_start, "stop": self.test_stop})
        return [
            Stage("train", ["problem", self.problem, str(train_yaml)]),
            Stage(
                "evaluate",
                ["problem", self.problem, str(test_yaml)],
                requires=[request.run_dir / "exp" / "train" / "valid_best"],
            ),
        ]

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        exp = request.run_dir / "exp"
        test_name = config["prepare_data"]["test_sets"][0]
        value = problem_result(exp / "evaluate" / "valid_best" / test_name / "result.yaml", self.metric)
        dev_value = problem_best_valid(exp / "train", self.metric)
        return Outcome(value=100.0 * value, dev_value=100.0 * dev_value)
