"""The SUPERB tasks as data, one record per task: its name, corpus folder, config stem and metrics (store
name, display label, direction, decimals), in the paper's Table 1 order. `dpbench.superb.tasks` (how a
task runs) and `dpbench.report` (how its results are shown) both read these records, so each task's
metric and direction are stated here only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One reported metric: its store name, display label, direction and decimals."""

    name: str
    label: str
    higher_is_better: bool
    decimals: int
    percent: bool = True  # SUPERB reports it in percent (MTWV is a fraction)
    in_paper: bool = True  # a column of the DPHuBERT paper's Table 1 (dpbench.report.paper)

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    def format(self, value: float) -> str:
        return f"{value:.{self.decimals}f}"


@dataclass(frozen=True)
class TaskSpec:
    """A SUPERB task; the first metric is the primary one (it picks the best run), the others are
    secondary metrics, each recorded as its own record."""

    name: str  # "KS"
    corpus: str  # its folder under the data root, e.g. "speech_commands"
    stem: str  # its configs: dpbench/superb/downstream_configs/<stem>_<scale>.yaml
    metrics: tuple[Metric, ...]

    @property
    def primary(self) -> Metric:
        return self.metrics[0]

    @property
    def secondary(self) -> tuple[Metric, ...]:
        return self.metrics[1:]

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


ACCURACY = Metric("accuracy", "Acc", True, 2)

SPECS: tuple[TaskSpec, ...] = (
    TaskSpec("KS", "speech_commands", "ks", (ACCURACY,)),
    TaskSpec("IC", "fluent_speech_commands", "ic", (ACCURACY,)),
    TaskSpec("PR", "LibriSpeech", "pr", (Metric("per", "PER", False, 2),)),
    TaskSpec("ASR", "LibriSpeech", "asr", (Metric("wer", "WER", False, 2),)),
    TaskSpec("ER", "iemocap", "er", (ACCURACY,)),
    TaskSpec("QbE", "quesst14Database", "qbe", (Metric("mtwv", "MTWV", True, 4, percent=False),)),
    TaskSpec(
        "SF",
        "snips",
        "sf",
        (
            Metric("f1", "F1", True, 2),  # slot-type F1, then slot-value CER
            Metric("cer", "CER", False, 2),
        ),
    ),
    TaskSpec("SID", "voxceleb1", "sid", (ACCURACY,)),
    TaskSpec("ASV", "voxceleb1", "asv", (Metric("eer", "EER", False, 2),)),
    TaskSpec(
        "SD",
        "librimix",
        "sd",
        (
            Metric("der", "DER", False, 2),  # SuperbSD's stage-2 frame DER second
            Metric("frame_der", "frame DER", False, 2, in_paper=False),
        ),
    ),
)

SPEC_BY_NAME: dict[str, TaskSpec] = {spec.name: spec for spec in SPECS}
