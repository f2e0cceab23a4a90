"""What every SUPERB task knows: its config, data preparation, s3prl stages and result parsing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from dpbench.errors import DpbenchError
from dpbench.superb.specs import TaskSpec
from dpbench.superb.upstream_spec import UpstreamSpec


@dataclass
class RunRequest:
    """One (task, upstream, learning rate) run."""

    upstream: UpstreamSpec
    data_root: Path
    run_dir: Path
    device: str


@dataclass
class Stage:
    """One s3prl subprocess: `python -m dpbench.superb.backend.launch <argv>`."""

    name: str
    argv: list[str]
    requires: list[Path] = field(default_factory=list)
    # (checkpoint in argv, stand-in used when training never saved it)
    fallback: tuple[Path, Path] | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """Test metric (SUPERB units) of the dev-best checkpoint, and the dev value that picked it."""

    value: float
    dev_value: float | None
    details: dict[str, float] = field(default_factory=dict)
    # other metrics the report shows for this task (SF: {"cer": ...}), each recorded as its own record
    secondary: dict[str, float] = field(default_factory=dict)


class Task(ABC):
    """How a SUPERB task runs through s3prl's own code. What it is (name, corpus, config stem, metrics and
    their directions) is its `spec`, a record of `dpbench.superb.specs`; the attributes below the spec are
    copied from it when a subclass is defined."""

    spec: ClassVar[TaskSpec]
    name: ClassVar[str]  # spec.name, "KS"
    stem: ClassVar[str]  # spec.stem: dpbench/superb/downstream_configs/<stem>_<scale>.yaml
    corpus: ClassVar[str]  # spec.corpus: folder under the data root, e.g. "speech_commands"
    metric: ClassVar[str]  # spec.primary.name: "accuracy", "per", ...
    higher_is_better: ClassVar[bool]  # spec.primary.higher_is_better
    secondary_metrics: ClassVar[dict[str, bool]] = {}  # other metrics it reports -> higher is better (SF: cer)
    lr_key: str  # dotted config key of the learning rate
    steps_key: str  # dotted config key of the number of training steps
    trains: bool = True  # False for QbE: DTW on frozen features, no learning rate or steps
    options: tuple[str, ...] = ()  # task-specific `dpbench superb` options it accepts (ER: "folds")

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.name, cls.stem, cls.corpus = spec.name, spec.stem, spec.corpus
            cls.metric, cls.higher_is_better = spec.primary.name, spec.primary.higher_is_better
            cls.secondary_metrics = {metric.name: metric.higher_is_better for metric in spec.secondary}

    def corpus_dir(self, data_root: Path, marker: str = "") -> Path:
        """The task's corpus folder, checked to exist (with `marker` inside it when given)."""
        path = Path(data_root) / self.corpus
        if not (path / marker).exists():
            raise DpbenchError(
                f"{self.name} needs {path / marker} (layout in docs/ARCHITECTURE.md): "
                f"pass the right --data or run `dpbench data synth {data_root}`"
            )
        return path

    @abstractmethod
    def prepare(self, request: RunRequest, config: dict, settings: dict) -> dict:
        """Write what s3prl needs under the run folder; return the config with every path filled in."""

    @abstractmethod
    def stages(self, request: RunRequest, config: dict, settings: dict) -> list[Stage]:
        """The s3prl subprocesses to run, in order."""

    @abstractmethod
    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        """Parse s3prl's output into SUPERB units."""
