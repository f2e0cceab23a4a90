"""Launchers: run a plan's jobs here (dpbench's pool, one worker per core) or hand them to Slurm
(through submitit). Both run only what is missing or failed, and its dependents."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Protocol

from dpbench.jobs import Job, is_done, run_jobs


def to_run(jobs: list[Job], active: set[str] = frozenset()) -> list[Job]:
    """The jobs to (re)submit: not done and not `active` (queued or running already), plus every job
    that needs one of those (its input will change)."""
    chosen: set[str] = set()
    for job in _topological(jobs, {job.label: job for job in jobs}):
        if job.label not in active and (not is_done(job) or chosen.intersection(job.needs)):
            chosen.add(job.label)
    return [job for job in jobs if job.label in chosen]


def _topological(jobs: list[Job], by_label: dict[str, Job]) -> list[Job]:
    ordered, seen = [], set()

    def visit(job: Job) -> None:
        if job.label in seen:
            return
        seen.add(job.label)
        for need in job.needs:
            if need in by_label:
                visit(by_label[need])
        ordered.append(job)

    for job in jobs:
        visit(job)
    return ordered


@dataclass
class Outcome:
    """What a launch did: labels submitted, and (when it waited) those that failed or were cancelled."""

    submitted: list[str]
    failed: list[str]
    waited: bool


class Launcher(Protocol):
    name: str

    def launch(self, jobs: list[Job], wait: bool) -> Outcome: ...

    def queue_states(self, jobs: list[Job]) -> dict[str, str]: ...


class LocalLauncher:
    """dpbench's own pool: `workers` jobs side by side (default one per core), one thread each,
    longest chain first; it always waits."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def launch(self, jobs: list[Job], wait: bool = True) -> Outcome:
        chosen = to_run(jobs)
        labels = {job.label for job in chosen}
        runnable = [_only_needs(job, labels) for job in chosen]
        failed = run_jobs(runnable, self.workers, "runs") if runnable else []
        return Outcome([job.label for job in chosen], [job.label for job in failed], waited=True)

    def queue_states(self, jobs: list[Job]) -> dict[str, str]:
        return {}


def _only_needs(job: Job, labels: set[str]) -> Job:
    """`job` needing only those of its needs that run now (the others are done)."""
    return replace(job, needs=tuple(need for need in job.needs if need in labels))
