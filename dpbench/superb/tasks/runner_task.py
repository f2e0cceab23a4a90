"""Tasks run through s3prl's legacy runner (`run_downstream.py`, the SUPERB-paper protocol)."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

from dpbench.superb.checks import require
from dpbench.superb.configs import get_key, write_yaml
from dpbench.superb.launching import EXPDIR_ENV, patch_args
from dpbench.superb.parse import runner_best_value, runner_split_value
from dpbench.superb.tasks.base import Outcome, RunRequest, Stage, Task


class RunnerTask(Task):
    """A `-d <downstream>` task; subclasses fill in data paths and count training items."""

    downstream: str
    dev_split = "dev"
    test_split = "test"
    lr_key = "optimizer.lr"
    steps_key = "runner.total_steps"

    def variants(self, settings: dict) -> list[str]:
        """Sub-runs whose test values are averaged (ER's folds); one unnamed run by default."""
        return [""]

    def variant_config(self, config: dict, variant: str) -> dict:
        return config

    def patches(self, request: RunRequest) -> dict[str, str]:
        """Named s3prl patches (`dpbench.superb.backend.patches`) this task's stages need: name -> value."""
        return {}

    def prepare(self, request: RunRequest, config: dict, settings: dict) -> dict:
        runner = config["runner"]
        require(
            runner["eval_step"] <= runner["total_steps"],
            f"{self.name} config: eval_step {runner['eval_step']} > total_steps {runner['total_steps']}, "
            "so no dev-best checkpoint would be saved; lower eval_step",
        )
        require(
            self.dev_split in runner["eval_dataloaders"],
            f"{self.name} config: runner.eval_dataloaders must include {self.dev_split!r}",
        )
        return self.fill(request, config)

    @abstractmethod
    def fill(self, request: RunRequest, config: dict) -> dict:
        """Return the config with data paths set, after writing any metadata s3prl needs."""

    def _dirs(self, request: RunRequest, variant: str) -> tuple[Path, Path, Path]:
        base = request.run_dir / variant if variant else request.run_dir
        return base / "config.yaml", base / "train", base / "evaluate"

    def stages(self, request: RunRequest, config: dict, settings: dict) -> list[Stage]:
        stages = []
        for variant in self.variants(settings):
            config_path, train_dir, eval_dir = self._dirs(request, variant)
            write_yaml(config_path, self.variant_config(config, variant))
            upstream = ["-u", request.upstream.entry]
            if request.upstream.ckpt:
                upstream += ["-k", request.upstream.ckpt]
            prefix = f"{variant}-" if variant else ""
            runner = ["runner", *patch_args(self.patches(request))]
            stages.append(
                Stage(
                    name=f"{prefix}train",
                    argv=[
                        *runner,
                        "-m",
                        "train",
                        *upstream,
                        "-d",
                        self.downstream,
                        "-c",
                        str(config_path),
                        "-p",
                        str(train_dir),
                        "--device",
                        request.device,
                        "-a",
                    ],
                )
            )
            best = train_dir / f"{self.dev_split}-best.ckpt"
            stages.append(
                Stage(
                    name=f"{prefix}evaluate",
                    argv=[
                        *runner,
                        "-m",
                        "evaluate",
                        "-e",
                        str(best),
                        "-t",
                        self.test_split,
                        "--device",
                        request.device,
                    ],
                    requires=[best],
                    fallback=(best, train_dir / f"states-{config['runner']['total_steps']}.ckpt"),
                    env={EXPDIR_ENV: str(eval_dir)},
                )
            )
        return stages

    def to_percent(self, value: float) -> float:
        return 100.0 * value

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        tests, devs = {}, {}
        for variant in self.variants(settings):
            _, train_dir, eval_dir = self._dirs(request, variant)
            tests[variant or self.test_split] = self.to_percent(
                runner_split_value(eval_dir / "log.log", self.test_split)
            )
            best = runner_best_value(train_dir / "log.log", self.dev_split, self.higher_is_better)
            devs[variant or self.dev_split] = self.to_percent(best)
        value = sum(tests.values()) / len(tests)
        dev_value = sum(devs.values()) / len(devs)
        details = tests if len(tests) > 1 else {}
        return Outcome(value=value, dev_value=dev_value, details=details)


def batch_size(config: dict, key: str) -> int:
    return int(get_key(config, f"downstream_expert.datarc.{key}"))
