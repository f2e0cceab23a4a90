"""What every SUPERB task knows: its config, data preparation, s3prl stages and result parsing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from dpbench.errors import DpbenchError
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
    """A SUPERB task run through s3prl's own code."""

    name: str              # "KS"
    stem: str              # config file stem: dpbench/superb/downstream_configs/<stem>_<scale>.yaml
    metric: str            # "accuracy", "per", ...
    higher_is_better: bool
    lr_key: str            # dotted config key of the learning rate
    steps_key: str         # dotted config key of the number of training steps
    corpus: str            # folder under the data root, e.g. "speech_commands"
    trains: bool = True    # False for QbE: DTW on frozen features, no learning rate or steps
    options: tuple[str, ...] = ()  # task-specific `dpbench superb` options it accepts (ER: "folds")
    secondary_metrics: dict[str, bool] = {}  # other metrics it reports -> higher is better (SF: {"cer": False})

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
