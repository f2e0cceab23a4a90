"""The SUPERB tasks as the report shows them: the task records of `dpbench.superb.specs` (Table 1 order,
metrics, directions, number formats) and the report's column names."""

from __future__ import annotations

from dpbench.superb.specs import SPEC_BY_NAME, SPECS, Metric, TaskSpec

TASKS: tuple[TaskSpec, ...] = SPECS
TASK_BY_NAME: dict[str, TaskSpec] = SPEC_BY_NAME

__all__ = ["TASKS", "TASK_BY_NAME", "Metric", "TaskSpec", "column_key"]


def column_key(task: TaskSpec, metric: Metric) -> str:
    """Name of the numeric column holding `metric` of `task`, e.g. "SF_cer"."""
    return f"{task.name}_{metric.name}"
