"""The SUPERB tasks in the paper's Table 1 order, their metrics, directions and number formats."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One reported metric: its store name, display label, direction and decimals."""

    name: str
    label: str
    higher_is_better: bool
    decimals: int
    percent: bool = True
    in_paper: bool = True  # a column of the DPHuBERT paper's Table 1 (dpbench.report.paper)

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    def format(self, value: float) -> str:
        return f"{value:.{self.decimals}f}"


@dataclass(frozen=True)
class Task:
    """A SUPERB task; the first metric is the primary one (it picks the best run)."""

    name: str
    metrics: tuple[Metric, ...]

    @property
    def primary(self) -> Metric:
        return self.metrics[0]

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


ACCURACY = Metric("accuracy", "Acc", True, 2)

TASKS: tuple[Task, ...] = (
    Task("KS", (ACCURACY,)),
    Task("IC", (ACCURACY,)),
    Task("PR", (Metric("per", "PER", False, 2),)),
    Task("ASR", (Metric("wer", "WER", False, 2),)),
    Task("ER", (ACCURACY,)),
    Task("QbE", (Metric("mtwv", "MTWV", True, 4, percent=False),)),
    Task("SF", (Metric("f1", "F1", True, 2), Metric("cer", "CER", False, 2))),
    Task("SID", (ACCURACY,)),
    Task("ASV", (Metric("eer", "EER", False, 2),)),
    Task("SD", (Metric("der", "DER", False, 2), Metric("frame_der", "frame DER", False, 2, in_paper=False))),
)

TASK_BY_NAME: dict[str, Task] = {task.name: task for task in TASKS}


def column_key(task: Task, metric: Metric) -> str:
    """Name of the numeric column holding `metric` of `task`, e.g. "SF_cer"."""
    return f"{task.name}_{metric.name}"

