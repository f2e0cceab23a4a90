"""Running `dpbench` sub-commands side by side: each after the jobs it needs, the longest remaining
chain of work first (so the last minutes are not spent waiting on one long run), with a progress bar."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tqdm import tqdm

from dpbench.errors import DpbenchError


@dataclass
class Job:
    """One `dpbench` sub-command with its own log file."""

    label: str
    args: list[str]
    log: Path
    seconds: float = 60.0  # expected run time; only orders the jobs
    needs: tuple[str, ...] = ()  # labels of jobs that must succeed first
    on_success: Callable[[], None] | None = field(default=None, repr=False)


def _run_job(job: Job) -> int:
    job.log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(job.log, "w") as log:
        return subprocess.run([sys.executable, "-m", "dpbench", *job.args], stdout=log, stderr=subprocess.STDOUT,
                              env=env).returncode


def critical_paths(jobs: list[Job]) -> dict[str, float]:
    """Seconds from each job's start to the end of the longest chain of jobs that need it."""
    dependents: dict[str, list[Job]] = {job.label: [] for job in jobs}
    for job in jobs:
        for need in job.needs:
            if need not in dependents:
                raise DpbenchError(f"job {job.label!r} needs {need!r}, which is not a job")
            dependents[need].append(job)

    @cache
    def path(label: str) -> float:
        return by_label[label].seconds + max((path(d.label) for d in dependents[label]), default=0.0)

    by_label = {job.label: job for job in jobs}
    return {job.label: path(job.label) for job in jobs}


def run_jobs(jobs: list[Job], workers: int, what: str) -> list[Job]:
    """Run `jobs` on `workers` processes; return those that failed or were skipped because a job they
    need failed."""
    priority = critical_paths(jobs)
    pending, running, done, failed = list(jobs), dict[Future, Job](), set[str](), list[Job]()
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=len(jobs), desc=what, unit="run") as bar:
        while pending or running:
            failed_labels = {job.label for job in failed}
            for job in [j for j in pending if failed_labels.intersection(j.needs)]:
                pending.remove(job)
                failed.append(job)
                bar.update(1)
                tqdm.write(f"  skipped: {job.label} (a job it needs failed)")
            ready = sorted((j for j in pending if set(j.needs) <= done), key=lambda j: -priority[j.label])
            for job in ready[: max(0, workers - len(running))]:
                pending.remove(job)
                running[pool.submit(_run_job, job)] = job
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job, code = running.pop(future), future.result()
                bar.update(1)
                if code == 0:
                    done.add(job.label)
                    if job.on_success:
                        job.on_success()
                    tqdm.write(f"  done: {job.label}")
                else:
                    failed.append(job)
                    tqdm.write(f"  failed: {job.label} (exit {code}; log: {job.log})")
    return failed
